package handlers

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// newTestSet is a Set acting on a simulator of its own, with a second
// client standing for another worker, or a person, changing Mend behind
// the Set's back.
func newTestSet(t *testing.T) (*Set, *mend.Client, *mendsim.Server) {
	t.Helper()
	sim := mendsim.NewServer(mendsim.Config{})
	t.Cleanup(sim.Close)
	var clients [2]*mend.Client
	for i := range clients {
		c, err := mend.NewClient(sim.URL, mendsim.DefaultUserKey, mend.WithUserEmail(mendsim.DefaultUserEmail), mend.WithRetry(mend.NoRetry()))
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = c
	}
	return NewSet(clients[0], Config{DefaultOrg: sim.OrgToken(), CacheTTL: time.Minute}), clients[1], sim
}

// TestDeleteOfAProjectGoneMeanwhile: a project this worker found (here in
// its cached list) that deleteProject then does not find is gone, whoever
// removed it: deleted, and said so at once.
func TestDeleteOfAProjectGoneMeanwhile(t *testing.T) {
	t.Parallel()
	s, other, sim := newTestSet(t)
	ctx := context.Background()
	ref := events.ProjectRef{ProductName: "demo-product", ProjectName: "demo-web"}
	p, ok, err := s.resolveProject(ctx, sim.OrgToken(), ref)
	if err != nil || !ok {
		t.Fatalf("resolveProject: %v, %v", ok, err)
	}
	if _, _, err := other.Projects.Delete(ctx, &mend.DeleteProjectRequest{ProductToken: p.product, ProjectToken: p.token}); err != nil {
		t.Fatal(err)
	}
	res, err := s.projectDelete(ctx, &Delivery{Attempt: 1}, &events.ProjectDelete{ProjectRef: ref})
	if err != nil {
		t.Fatalf("projectDelete: %v, want success", err)
	}
	if d := res.Data.(events.ProjectDeleted); !d.Deleted || d.ProjectToken != p.token {
		t.Errorf("result %+v, want the project deleted", d)
	}
}

// TestDeleteOfAProjectMovedMeanwhile: a project moved to another product
// since the worker saw it is not taken for deleted; the next delivery
// finds it where it is and deletes it there.
func TestDeleteOfAProjectMovedMeanwhile(t *testing.T) {
	t.Parallel()
	s, other, sim := newTestSet(t)
	ctx := context.Background()
	org := sim.OrgToken()
	_, web := demoProject(t, sim, "demo-web")
	if _, _, err := s.productOf(ctx, org, web, false); err != nil {
		t.Fatal(err)
	}
	to, _, err := other.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: org, ProductName: "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Projects.ChangeAssignment(ctx, &mend.ChangeProjectAssignmentRequest{OrgToken: org, ProjectToken: web, NewProductToken: to.ProductToken}); err != nil {
		t.Fatal(err)
	}
	d := &events.ProjectDelete{ProjectRef: events.ProjectRef{ProjectToken: web}}
	var nf *NotFoundError
	if _, err := s.projectDelete(ctx, &Delivery{Attempt: 1}, d); !errors.As(err, &nf) || nf.Otherwise != nil {
		t.Fatalf("first delivery: %v, want a not-found to try again", err)
	}
	res, err := s.projectDelete(ctx, &Delivery{Attempt: 2}, d)
	if err != nil {
		t.Fatalf("second delivery: %v", err)
	}
	if got := res.Data.(events.ProjectDeleted); !got.Deleted || got.ProductToken != to.ProductToken {
		t.Errorf("result %+v, want the project deleted from product elsewhere", got)
	}
	if _, exists := demoProjectIn(sim, "demo-web"); exists {
		t.Error("demo-web still exists")
	}
}

// TestDeleteOfAProjectNeverThere: by names, a project not there may be on
// its way: the command waits, then ends with nothing deleted.
func TestDeleteOfAProjectNeverThere(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestSet(t)
	_, err := s.projectDelete(context.Background(), &Delivery{Attempt: 1},
		&events.ProjectDelete{ProjectRef: events.ProjectRef{ProductName: "demo-product", ProjectName: "not-yet"}})
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.Otherwise == nil || nf.Otherwise.Data.(events.ProjectDeleted).Deleted {
		t.Fatalf("projectDelete = %v, want a wait ending in deleted: false", err)
	}
}

// demoProject returns the tokens of the demo product and its project name.
func demoProject(t *testing.T, sim *mendsim.Server, name string) (product, project string) {
	t.Helper()
	p := sim.Snapshot().Organizations[0].Products[0]
	for _, j := range p.Projects {
		if j.Name == name {
			return p.Token, j.Token
		}
	}
	t.Fatalf("no project %s", name)
	return "", ""
}

// demoProjectIn reports whether a project of that name is in any product.
func demoProjectIn(sim *mendsim.Server, name string) (string, bool) {
	for _, p := range sim.Snapshot().Organizations[0].Products {
		for _, j := range p.Projects {
			if j.Name == name {
				return j.Token, true
			}
		}
	}
	return "", false
}
