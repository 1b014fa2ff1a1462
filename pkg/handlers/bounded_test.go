package handlers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// TestCallsPerCommandAreBounded measures the Mend calls of the project
// commands in an organization of 1,000 products of 10 projects each, by
// token and by names: cold, on a worker just started (no list cached, no
// JWT), and warm, the same command delivered again at once. None may grow
// with the organization: at most 3 calls cold, besides the login a v2.0
// call needs once per organization and JWT lifetime, and at most 1 warm
// (2 for a delete by its repository, see below).
func TestCallsPerCommandAreBounded(t *testing.T) {
	t.Parallel()
	sim := mendsim.NewServer(mendsim.Config{})
	defer sim.Close()
	sim.Populate(1000, 10)
	org := sim.OrgToken()
	// Empty products to move projects to: every populated product holds
	// a project of the moved one's name.
	setup, err := mend.NewClient(sim.URL, mendsim.DefaultUserKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"target-1", "target-2"} {
		if _, _, err := setup.Products.Create(context.Background(), &mend.CreateProductRequest{OrgToken: org, ProductName: name}); err != nil {
			t.Fatal(err)
		}
	}
	products := map[string]mendsim.ProductSnapshot{}
	for _, p := range sim.Snapshot().Organizations[0].Products {
		products[p.Name] = p
	}
	project := func(product string, i int) (productToken, projectToken string) {
		p := products[product]
		return p.Token, p.Projects[i].Token
	}
	byNames := func(product string, i int) events.ProjectRef {
		return events.ProjectRef{ProductName: product, ProjectName: products[product].Projects[i].Name}
	}
	byToken := func(product string, i int) events.ProjectRef {
		_, tok := project(product, i)
		return events.ProjectRef{ProjectToken: tok}
	}
	cmd := &Delivery{Attempt: 1}
	// A repository mapped to the project at index 4 of the product a row
	// names in mapTo, under whatever name the command gives it.
	repository := &events.Repository{Source: "https://github.com", ID: "812345678"}
	type run func(ctx context.Context, s *Set, c *mend.Client) error
	// Each command acts on products of its own, so that none finds what
	// another left in Mend.
	tests := []struct {
		command, by string
		run         run
		mapTo       string
	}{
		{"project.delete", "names", func(ctx context.Context, s *Set, _ *mend.Client) error {
			_, err := s.projectDelete(ctx, cmd, &events.ProjectDelete{ProjectRef: byNames("product-0101", 4)})
			return err
		}, ""},
		{"project.delete", "token", func(ctx context.Context, s *Set, _ *mend.Client) error {
			_, err := s.projectDelete(ctx, cmd, &events.ProjectDelete{ProjectRef: byToken("product-0102", 4)})
			return err
		}, ""},
		{"project.tag.save", "names", func(ctx context.Context, s *Set, _ *mend.Client) error {
			_, err := s.projectTagSave(ctx, cmd, &events.ProjectTagSave{ProjectTag: events.ProjectTag{ProjectRef: byNames("product-0201", 4), TagKey: "env", TagValue: "prod"}})
			return err
		}, ""},
		{"project.tag.save", "token", func(ctx context.Context, s *Set, _ *mend.Client) error {
			_, err := s.projectTagSave(ctx, cmd, &events.ProjectTagSave{ProjectTag: events.ProjectTag{ProjectRef: byToken("product-0202", 4), TagKey: "env", TagValue: "prod"}})
			return err
		}, ""},
		{"project.reassign", "names", func(ctx context.Context, s *Set, _ *mend.Client) error {
			_, err := s.projectReassign(ctx, cmd, &events.ProjectReassign{ProjectRef: byNames("product-0301", 4), NewProductName: "target-1"})
			return err
		}, ""},
		{"project.reassign", "token", func(ctx context.Context, s *Set, _ *mend.Client) error {
			_, err := s.projectReassign(ctx, cmd, &events.ProjectReassign{ProjectRef: byToken("product-0303", 4), NewProductToken: products["target-2"].Token})
			return err
		}, ""},
		{"project.rename", "names", func(ctx context.Context, s *Set, _ *mend.Client) error {
			_, err := s.projectRename(ctx, cmd, &events.ProjectRename{ProjectRef: byNames("product-0401", 4), NewProjectName: "renamed"})
			return err
		}, ""},
		{"project.rename", "token", func(ctx context.Context, s *Set, _ *mend.Client) error {
			_, err := s.projectRename(ctx, cmd, &events.ProjectRename{ProjectRef: byToken("product-0402", 4), NewProjectName: "renamed"})
			return err
		}, ""},
		{"project.rename", "repository", func(ctx context.Context, s *Set, _ *mend.Client) error {
			ref := byNames("product-0403", 4)
			ref.Repository = repository
			_, err := s.projectRename(ctx, cmd, &events.ProjectRename{ProjectRef: ref, NewProjectName: "renamed"})
			return err
		}, "product-0403"},
		{"project.tag.save", "repository", func(ctx context.Context, s *Set, _ *mend.Client) error {
			ref := byNames("product-0404", 4)
			ref.ProjectName, ref.Repository = "renamed-meanwhile", repository
			_, err := s.projectTagSave(ctx, cmd, &events.ProjectTagSave{ProjectTag: events.ProjectTag{ProjectRef: ref, TagKey: "env", TagValue: "prod"}})
			return err
		}, "product-0404"},
		{"project.delete", "repository", func(ctx context.Context, s *Set, _ *mend.Client) error {
			ref := byNames("product-0405", 4)
			ref.ProjectName, ref.Repository = "renamed-meanwhile", repository
			_, err := s.projectDelete(ctx, cmd, &events.ProjectDelete{ProjectRef: ref})
			return err
		}, "product-0405"},
		{"product.rename", "names", func(ctx context.Context, s *Set, _ *mend.Client) error {
			_, err := s.productRename(ctx, cmd, &events.ProductRename{ProductRef: events.ProductRef{ProductName: "product-0501"}, NewProductName: "renamed"})
			return err
		}, ""},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n| command | by | cold | warm |\n|---|---|---|---|\n")
	for _, tt := range tests {
		client, err := mend.NewClient(sim.URL, mendsim.DefaultUserKey, mend.WithUserEmail(mendsim.DefaultUserEmail))
		if err != nil {
			t.Fatal(err)
		}
		repos := &memRepositories{}
		if tt.mapTo != "" {
			product, project := project(tt.mapTo, 4)
			if err := repos.Put(context.Background(), org, *repository, MappedProject{ProductToken: product, ProjectToken: project}); err != nil {
				t.Fatal(err)
			}
		}
		s := NewSet(client, Config{DefaultOrg: org, CacheTTL: time.Minute, Repositories: repos})
		var calls [2]int
		var logins [2]int
		for i := range calls {
			sim.ResetCalls()
			if err := tt.run(context.Background(), s, client); err != nil && i == 0 {
				t.Fatalf("%s by %s: %v", tt.command, tt.by, err)
			}
			for _, c := range sim.Calls() {
				if c.Op == "login" {
					logins[i]++
				} else {
					calls[i]++
				}
			}
		}
		cold := fmt.Sprint(calls[0])
		if logins[0] > 0 {
			cold += " + login"
		}
		fmt.Fprintf(&table, "| `%s` | %s | %s | %d |\n", tt.command, tt.by, cold, calls[1]+logins[1])
		warm := 1
		if tt.command == "project.delete" && tt.by == "repository" {
			// The delete forgot the repository: delivered again, it looks
			// for the project by its names, in lists not cached yet.
			warm = 2
		}
		if calls[0] > 3 || logins[0] > 1 || calls[1]+logins[1] > warm {
			t.Errorf("%s by %s: %d calls and %d logins cold, %d calls warm; want at most 3 (and a login) and %d",
				tt.command, tt.by, calls[0], logins[0], calls[1]+logins[1], warm)
		}
	}
	t.Log(table.String())
}
