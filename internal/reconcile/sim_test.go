package reconcile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/internal/reconcile"
	"github.com/mendflow/mendflow/internal/reconcile/scmtest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/handlers"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// world is a GitHub organization (the fake) and Mend (the simulator, over
// HTTP), with the worker's handlers acting on the simulator.
type world struct {
	sim     *mendsim.Server
	github  *scmtest.Server
	client  *mend.Client
	handler handlers.Handler
	src     reconcile.SourceOptions
}

func newWorld(t testing.TB, repos int) *world {
	t.Helper()
	w := &world{sim: mendsim.NewServer(mendsim.Config{})}
	t.Cleanup(w.sim.Close)
	w.github = scmtest.GitHub("acme", "ghp-token", scmtest.GitHubRepos("acme", "svc", repos, func(i int) []string {
		return []string{[]string{"team-a", "team-b", "team-c"}[i%3], "service"}
	}), 100)
	t.Cleanup(w.github.Close)
	w.src = reconcile.SourceOptions{Getenv: env(map[string]string{"GITHUB_TOKEN": "ghp-token"}), HTTPClient: &http.Client{}}
	var err error
	w.client, err = mend.NewClient(w.sim.URL, mend.Secret(mendsim.DefaultUserKey), mend.WithUserEmail(w.sim.UserEmail()))
	if err != nil {
		t.Fatal(err)
	}
	r := handlers.NewMux(events.NewRegistry())
	if err := handlers.NewSet(w.client, handlers.Config{DefaultOrg: w.sim.OrgToken()}).Register(r); err != nil {
		t.Fatal(err)
	}
	w.handler = r.Handler()
	return w
}

// run carries out one command through the handlers, as a worker would.
func (w *world) run(t testing.TB, id, name string, data any) {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	e := event.New()
	e.SetID(id)
	e.SetSource("/reconcile-test")
	e.SetType(events.CommandType(name))
	if err := e.SetData(event.ApplicationJSON, raw); err != nil {
		t.Fatal(err)
	}
	if _, err := w.handler(context.Background(), &handlers.Delivery{Event: e, Attempt: 1, Seq: 1}); err != nil {
		t.Fatalf("%s %s: %v", name, raw, err)
	}
}

// apply carries out a plan's changes one after the other, in its order.
func (w *world) apply(t testing.TB, p *reconcile.Plan) {
	t.Helper()
	for _, c := range p.Changes {
		w.run(t, c.ID, c.Command, c.Data)
	}
}

func (w *world) plan(t testing.TB, spec *reconcile.Spec) *reconcile.Plan {
	t.Helper()
	p, err := reconcile.MakePlan(context.Background(), spec, w.src, reconcile.ClientMend{Client: w.client, OrgToken: w.sim.OrgToken()}, w.sim.OrgToken())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const simSpec = `
repositories:
  - github: {organization: acme, url: %s}
mapping:
  tags:
    team: "{{ topics.0 }}"
    kind: "{{ topics.1 }}"
policies:
  - scope: organization
    owner: admin@example.com
    policies:
      - {name: org stale, filter: {type: LIBRARY_STALENESS, monthsBack: 24}, action: {type: REJECT}}
      - {name: org MIT, filter: {type: LICENSE, licenses: [{name: MIT}]}, action: {type: APPROVE}}
  - scope: product
    name: acme
    owner: admin@example.com
    policies:
      - {name: product critical, filter: {type: VULNERABILITY_SEVERITY, vulnerabilitySeverity: {scoreFrom: 9, scoreTo: 10}}, action: {type: REJECT}}
  - scope: project
    name: "*-00004"
    owner: admin@example.com
    policies:
      - {name: project one, filter: {type: LIBRARY_STALENESS, monthsBack: 6}, action: {type: REJECT}}
      - {name: project two, filter: {type: LIBRARY_STALENESS, monthsBack: 3}, action: {type: APPROVE}, inclusive: true}
prune:
  action: delete
  maxDeletions: 2
`

// TestReconcileAgainstSimulator plans a GitHub organization against the
// simulator, where part of it exists with wrong tags beside stale
// projects, applies the plan through the handlers, and plans again: the
// second plan is empty. Planning makes listing calls only.
func TestReconcileAgainstSimulator(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 6)
	// Mend before: two of the six repositories, one with a wrong team and a
	// tag of a key the spec does not manage, and two stale projects.
	w.run(t, "seed-1", events.CommandProjectCreate, events.ProjectCreate{ProductName: "acme", ProjectName: "svc-00000", CreateProduct: true, Tags: map[string]string{"team": "team-z", "cost-center": "42"}})
	w.run(t, "seed-2", events.CommandProjectCreate, events.ProjectCreate{ProductName: "acme", ProjectName: "svc-00001", Tags: map[string]string{"team": "team-b", "kind": "service"}})
	w.run(t, "seed-3", events.CommandProjectCreate, events.ProjectCreate{ProductName: "acme", ProjectName: "stale-1"})
	w.run(t, "seed-4", events.CommandProjectCreate, events.ProjectCreate{ProductName: "acme", ProjectName: "stale-2"})
	w.run(t, "seed-5", events.CommandPolicyAdd, events.PolicyAdd{PolicyScope: events.PolicyScope{Scope: events.ScopeOrganization}, Policy: events.Policy{
		Name: "org MIT", Owner: &events.PolicyOwner{Email: mendsim.DefaultUserEmail},
		Filter: &events.PolicyFilter{Type: mend.FilterLicense, Licenses: []events.PolicyLicense{{Name: "MIT"}}}, Action: &events.PolicyAction{Type: mend.ActionApprove},
	}})

	spec, err := reconcile.Parse("spec.yaml", []byte(fmt.Sprintf(simSpec, w.github.URL)))
	if err != nil {
		t.Fatal(err)
	}
	w.sim.ResetCalls()
	first := w.plan(t, spec)
	var text strings.Builder
	_ = first.WriteText(&text)
	t.Logf("first plan:\n%s", text.String())
	byCommand := map[string]int{}
	for _, c := range first.Changes {
		byCommand[c.Command]++
	}
	if byCommand[events.CommandProjectCreate] != 4 || byCommand[events.CommandProjectDelete] != 2 || byCommand[events.CommandPolicyReorder] != 1 {
		t.Fatalf("first plan: %v", byCommand)
	}
	// getAllProducts, getProductProjectTags of acme and demo-product, the
	// policies of the organization and of acme: no project of the spec
	// exists that a project entry governs.
	calls := w.sim.Calls()
	for _, c := range calls {
		if !strings.HasPrefix(c.Op, "get") {
			t.Errorf("planning made the call %s", c.Op)
		}
	}
	if len(calls) != 5 {
		t.Errorf("planning made %d calls to Mend, want 5: %v", len(calls), calls)
	}

	w.apply(t, first)
	second := w.plan(t, spec)
	if second.Summary.Total() != 0 {
		text.Reset()
		_ = second.WriteText(&text)
		t.Fatalf("the plan after applying the first is not empty:\n%s", text.String())
	}

	// What Mend holds now is the spec's: the tags managed, the others
	// left, the policies in the spec's order.
	tags, _, err := w.client.Projects.GetOrganizationTags(context.Background(), &mend.GetOrganizationProjectTagsRequest{OrgToken: w.sim.OrgToken()})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tags.ProjectTags {
		if p.Name == "svc-00000" && (!p.Tags.Has("team", "team-a") || p.Tags.Has("team", "team-z") || !p.Tags.Has("cost-center", "42")) {
			t.Errorf("svc-00000 tags = %v, want team-a and the cost-center left alone", p.Tags)
		}
		if strings.HasPrefix(p.Name, "stale-") {
			t.Errorf("%s was not deleted", p.Name)
		}
	}
	order := func(sc mend.Scope) string {
		ps, _, err := w.client.Policies.List(context.Background(), sc, nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range ps.Policies {
			names = append(names, p.Name)
		}
		return strings.Join(names, ", ")
	}
	if got := order(mend.OrgScope(w.sim.OrgToken())); got != "org stale, org MIT" {
		t.Errorf("organization policies, highest first: %s; want org stale, org MIT", got)
	}
	for _, p := range tags.ProjectTags {
		if p.Name != "svc-00004" {
			continue
		}
		if got := order(mend.ProjectScope(p.Token)); got != "project one, project two" {
			t.Errorf("policies of svc-00004, highest first: %s; want project one, project two", got)
		}
	}
}
