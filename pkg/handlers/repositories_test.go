package handlers

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// memRepositories are Repositories in memory.
type memRepositories struct {
	mu sync.Mutex
	m  map[string]MappedProject
}

func repoKey(org string, r events.Repository) string {
	return org + "\x00" + r.Source + "\x00" + string(r.ID)
}

func (r *memRepositories) Get(_ context.Context, org string, repo events.Repository) (MappedProject, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.m[repoKey(org, repo)]
	return p, ok, nil
}

func (r *memRepositories) Put(_ context.Context, org string, repo events.Repository, p MappedProject) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]MappedProject{}
	}
	r.m[repoKey(org, repo)] = p
	return nil
}

func (r *memRepositories) Delete(_ context.Context, org string, repo events.Repository) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, repoKey(org, repo))
	return nil
}

// newMappingSet is newTestSet with a map of repositories.
func newMappingSet(t *testing.T) (*Set, *memRepositories, *mend.Client, *mendsim.Server) {
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
	repos := &memRepositories{}
	return NewSet(clients[0], Config{DefaultOrg: sim.OrgToken(), CacheTTL: time.Minute, Repositories: repos}), repos, clients[1], sim
}

var payments = &events.Repository{Source: "https://github.com", ID: "812345678"}

// okCalls counts the calls of an operation that Mend carried out.
func okCalls(sim *mendsim.Server, op string) int {
	n := 0
	for _, c := range sim.CallsOf(op) {
		if c.OK() {
			n++
		}
	}
	return n
}

// projectsNamed lists the tokens of the projects of that name, anywhere.
func projectsNamed(sim *mendsim.Server, name string) []string {
	var out []string
	for _, p := range sim.Snapshot().Organizations[0].Products {
		for _, j := range p.Projects {
			if j.Name == name {
				out = append(out, j.Token)
			}
		}
	}
	return out
}

// TestRepositoryFoundByItsID: a repository renamed while its rename event
// was lost, then transferred, is still its project: the commands that name
// it by its new names find the project its id was mapped to, and its
// deletion leaves no project and no entry behind.
func TestRepositoryFoundByItsID(t *testing.T) {
	t.Parallel()
	s, repos, _, sim := newMappingSet(t)
	ctx := context.Background()
	cmd := &Delivery{Attempt: 1}
	org := sim.OrgToken()

	res, err := s.projectCreate(ctx, cmd, &events.ProjectCreate{ProductName: "acme-corp", ProjectName: "payments-api", CreateProduct: true, Repository: payments})
	if err != nil {
		t.Fatal(err)
	}
	tok := res.Data.(events.ProjectCreated).ProjectToken
	if m, ok, _ := repos.Get(ctx, org, *payments); !ok || m.ProjectToken != tok {
		t.Fatalf("entry %+v, %v; want the project created, %s", m, ok, tok)
	}

	// Named as the repository is called now: payments-service.
	renamed := events.ProjectRef{ProductName: "acme-corp", ProjectName: "payments-service", Repository: payments}
	res, err = s.projectTagSave(ctx, cmd, &events.ProjectTagSave{ProjectTag: events.ProjectTag{ProjectRef: renamed, TagKey: "environment", TagValue: "production"}})
	if err != nil {
		t.Fatalf("tag: %v", err)
	}
	if d := res.Data.(events.ProjectTagChanged); d.ProjectToken != tok || !d.Changed {
		t.Errorf("tagged %+v, want project %s changed", d, tok)
	}
	res, err = s.projectRename(ctx, cmd, &events.ProjectRename{ProjectRef: renamed, NewProjectName: "payments-service"})
	if err != nil {
		t.Fatalf("rename: %v", err)
	}
	if d := res.Data.(events.ProjectRenamed); d.ProjectToken != tok || !d.Changed || d.OldProjectName != "payments-api" {
		t.Errorf("renamed %+v, want project %s renamed from payments-api", d, tok)
	}
	// To an owner with no product yet.
	res, err = s.projectReassign(ctx, cmd, &events.ProjectReassign{ProjectRef: renamed, NewProductName: "acme-platform", CreateProduct: true})
	if err != nil {
		t.Fatalf("reassign: %v", err)
	}
	if d := res.Data.(events.ProjectReassigned); d.ProjectToken != tok || !d.Reassigned || !d.ProductCreated {
		t.Errorf("reassigned %+v, want project %s moved to a product created", d, tok)
	}
	moved := events.ProjectRef{ProductName: "acme-platform", ProjectName: "payments-service", Repository: payments}
	res, err = s.projectDelete(ctx, cmd, &events.ProjectDelete{ProjectRef: moved})
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if d := res.Data.(events.ProjectDeleted); d.ProjectToken != tok || !d.Deleted {
		t.Errorf("deleted %+v, want project %s deleted", d, tok)
	}
	if _, ok, _ := repos.Get(ctx, org, *payments); ok {
		t.Error("the repository is still mapped after its project's deletion")
	}
	if got := projectsNamed(sim, "payments-service"); len(got) != 0 {
		t.Errorf("projects %v left in Mend", got)
	}
	if n := okCalls(sim, mend.ReqCreateProduct); n != 2 {
		t.Errorf("createProduct carried out %d times, want 2 (acme-corp, acme-platform)", n)
	}
}

// TestLostEntryIsRebuilt: a repository without an entry (mapped before the
// map existed, or the entry lost) is found by its names, and mapped again;
// an entry whose project is gone is dropped for the names.
func TestLostEntryIsRebuilt(t *testing.T) {
	t.Parallel()
	s, repos, other, sim := newMappingSet(t)
	ctx := context.Background()
	org := sim.OrgToken()
	_, api := demoProject(t, sim, "demo-api")
	ref := events.ProjectRef{ProductName: "demo-product", ProjectName: "demo-api", Repository: payments}
	if _, err := s.projectTagSave(ctx, &Delivery{Attempt: 1}, &events.ProjectTagSave{ProjectTag: events.ProjectTag{ProjectRef: ref, TagKey: "k", TagValue: "v"}}); err != nil {
		t.Fatal(err)
	}
	if m, ok, _ := repos.Get(ctx, org, *payments); !ok || m.ProjectToken != api {
		t.Fatalf("entry %+v, %v; want demo-api's, rebuilt from the names", m, ok)
	}

	// The project deleted behind the worker's back: a create makes the
	// repository's project anew, and maps it.
	product, _ := demoProject(t, sim, "demo-api")
	if _, _, err := other.Projects.Delete(ctx, &mend.DeleteProjectRequest{ProductToken: product, ProjectToken: api}); err != nil {
		t.Fatal(err)
	}
	res, err := s.projectCreate(ctx, &Delivery{Attempt: 1}, &events.ProjectCreate{ProductName: "demo-product", ProjectName: "demo-api", Repository: payments})
	if err != nil {
		t.Fatal(err)
	}
	d := res.Data.(events.ProjectCreated)
	if !d.Created || d.ProjectToken == api {
		t.Errorf("created %+v, want a new project", d)
	}
	if m, _, _ := repos.Get(ctx, org, *payments); m.ProjectToken != d.ProjectToken {
		t.Errorf("entry %+v, want the new project %s", m, d.ProjectToken)
	}
	// And a create delivered again finds the repository's project.
	res, err = s.projectCreate(ctx, &Delivery{Attempt: 2}, &events.ProjectCreate{ProductName: "demo-product", ProjectName: "demo-api", Repository: payments})
	if err != nil {
		t.Fatal(err)
	}
	if again := res.Data.(events.ProjectCreated); again.Created || again.ProjectToken != d.ProjectToken || again.ProductName != "demo-product" {
		t.Errorf("created again %+v, want project %s found", again, d.ProjectToken)
	}
}

// TestRenameIsIdempotent: a rename delivered again, by names or by the
// repository, changes nothing and says so; one to a name another project
// of the product has fails for good, and Mend is not asked.
func TestRenameIsIdempotent(t *testing.T) {
	t.Parallel()
	s, repos, _, sim := newMappingSet(t)
	ctx := context.Background()
	_, api := demoProject(t, sim, "demo-api")
	rename := &events.ProjectRename{ProjectRef: events.ProjectRef{ProductName: "demo-product", ProjectName: "demo-api"}, NewProjectName: "demo-gateway"}
	for i, want := range []bool{true, false} {
		res, err := s.projectRename(ctx, &Delivery{Attempt: i + 1}, rename)
		if err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
		if d := res.Data.(events.ProjectRenamed); d.Changed != want || d.ProjectToken != api || d.ProjectName != "demo-gateway" {
			t.Errorf("delivery %d: %+v, want changed %v", i+1, d, want)
		}
	}
	// By the repository's entry, once it has one.
	if err := repos.Put(ctx, sim.OrgToken(), *payments, MappedProject{ProjectToken: api}); err != nil {
		t.Fatal(err)
	}
	byID := &events.ProjectRename{ProjectRef: events.ProjectRef{ProductName: "demo-product", ProjectName: "demo-gateway", Repository: payments}, NewProjectName: "demo-gateway"}
	res, err := s.projectRename(ctx, &Delivery{Attempt: 1}, byID)
	if err != nil || res.Data.(events.ProjectRenamed).Changed {
		t.Errorf("rename to the name it has: %+v, %v; want changed false", res.Data, err)
	}
	if n := okCalls(sim, "renameProject"); n != 1 {
		t.Errorf("renameProject carried out %d times, want 1", n)
	}

	taken := &events.ProjectRename{ProjectRef: events.ProjectRef{ProjectToken: api}, NewProjectName: "demo-web"}
	_, err = s.projectRename(ctx, &Delivery{Attempt: 1}, taken)
	var nt *NameTakenError
	if !errors.As(err, &nt) || nt.Name != "demo-web" || mend.IsTransient(err) {
		t.Errorf("rename to a name taken: %v, want a permanent NameTakenError", err)
	}
	if n := len(sim.CallsOf("renameProject")); n != 1 {
		t.Errorf("%d renameProject calls, want 1: a name taken is refused before Mend is asked", n)
	}
}

// TestRenameWithoutAName: a rename that names the project as it is to be
// called (a CDEvent of a repository modified) renames the project its
// repository is mapped to, and waits for one it finds under neither.
func TestRenameWithoutAName(t *testing.T) {
	t.Parallel()
	s, repos, _, sim := newMappingSet(t)
	ctx := context.Background()
	_, api := demoProject(t, sim, "demo-api")
	if err := repos.Put(ctx, sim.OrgToken(), *payments, MappedProject{ProjectToken: api}); err != nil {
		t.Fatal(err)
	}
	modified := &events.ProjectRename{ProjectRef: events.ProjectRef{ProductName: "demo-product", ProjectName: "api-gateway", Repository: payments}, NewProjectName: "api-gateway"}
	res, err := s.projectRename(ctx, &Delivery{Attempt: 1}, modified)
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Data.(events.ProjectRenamed); !d.Changed || d.ProjectToken != api || d.OldProjectName != "demo-api" {
		t.Errorf("renamed %+v, want demo-api renamed", d)
	}
	unknown := &events.ProjectRename{ProjectRef: events.ProjectRef{ProductName: "demo-product", ProjectName: "elsewhere",
		Repository: &events.Repository{Source: "https://github.com", ID: "1"}}, NewProjectName: "elsewhere"}
	_, err = s.projectRename(ctx, &Delivery{Attempt: 1}, unknown)
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.Otherwise == nil || nf.Otherwise.Data.(events.ProjectRenamed).Changed {
		t.Errorf("rename of a repository unknown: %v, want a wait ending in changed: false", err)
	}
}

// TestTransferToANewPath: a GitLab transfer that also changes the path
// moves and renames the project in one command; delivered again without
// the map, it finds the project moved and renamed.
func TestTransferToANewPath(t *testing.T) {
	t.Parallel()
	s, _, sim := newTestSet(t)
	ctx := context.Background()
	_, web := demoProject(t, sim, "demo-web")
	d := &events.ProjectReassign{ProjectRef: events.ProjectRef{ProductName: "demo-product", ProjectName: "demo-web"},
		NewProductName: "storefront", NewProjectName: "web-shop", CreateProduct: true}
	for i, want := range []bool{true, false} {
		res, err := s.projectReassign(ctx, &Delivery{Attempt: i + 1}, d)
		if err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
		got := res.Data.(events.ProjectReassigned)
		if got.ProjectToken != web || got.Reassigned != want || got.Renamed != want || got.ProductCreated != want || got.ProjectName != "web-shop" {
			t.Errorf("delivery %d: %+v, want moved, renamed and the product created: %v", i+1, got, want)
		}
	}
	if got := projectsNamed(sim, "web-shop"); len(got) != 1 || got[0] != web {
		t.Errorf("projects named web-shop: %v, want %s", got, web)
	}
	for op, want := range map[string]int{mend.ReqCreateProduct: 1, mend.ReqChangeProjectAssignment: 1, "renameProject": 1} {
		if n := okCalls(sim, op); n != want {
			t.Errorf("%s carried out %d times, want %d", op, n, want)
		}
	}
}

// TestProductRename: renamed once, whether named by name or by token;
// delivered again, changed false; to a name another product has, refused
// for good.
func TestProductRename(t *testing.T) {
	t.Parallel()
	s, _, sim := newTestSet(t)
	ctx := context.Background()
	product, _ := demoProject(t, sim, "demo-api")
	byName := &events.ProductRename{ProductRef: events.ProductRef{ProductName: "demo-product"}, NewProductName: "acme-inc"}
	byToken := &events.ProductRename{ProductRef: events.ProductRef{ProductToken: product}, NewProductName: "acme-inc"}
	for i, c := range []struct {
		d    *events.ProductRename
		want bool
	}{{byName, true}, {byName, false}, {byToken, false}} {
		res, err := s.productRename(ctx, &Delivery{Attempt: i + 1}, c.d)
		if err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
		if d := res.Data.(events.ProductRenamed); d.Changed != c.want || d.ProductToken != product {
			t.Errorf("delivery %d: %+v, want changed %v", i+1, d, c.want)
		}
	}
	if _, err := s.productCreate(ctx, &Delivery{Attempt: 1}, &events.ProductCreate{ProductName: "acme-corp"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.productRename(ctx, &Delivery{Attempt: 1}, &events.ProductRename{ProductRef: events.ProductRef{ProductName: "acme-inc"}, NewProductName: "acme-corp"})
	var nt *NameTakenError
	if !errors.As(err, &nt) || nt.Kind != "product" {
		t.Errorf("rename to a name taken: %v, want a NameTakenError", err)
	}
	if n := okCalls(sim, "renameProduct"); n != 1 {
		t.Errorf("renameProduct carried out %d times, want 1", n)
	}
}
