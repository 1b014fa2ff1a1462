package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/handlers"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// simHandler is every handler, acting on a simulator over HTTP.
func simHandler(t *testing.T) (*mendsim.Server, handlers.Handler) {
	t.Helper()
	sim := mendsim.NewServer(mendsim.Config{})
	t.Cleanup(sim.Close)
	client, err := mend.NewClient(sim.URL, mend.Secret(mendsim.DefaultUserKey), mend.WithUserEmail(sim.UserEmail()))
	if err != nil {
		t.Fatal(err)
	}
	r := handlers.NewMux(events.NewRegistry())
	if err := handlers.NewSet(client, handlers.Config{DefaultOrg: sim.OrgToken()}).Register(r); err != nil {
		t.Fatal(err)
	}
	return sim, r.Handler()
}

// run carries out one command and returns its result.
func run(t *testing.T, h handlers.Handler, name string, data any) (handlers.Result, error) {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	e := event.New()
	e.SetID(name)
	e.SetSource("/test")
	e.SetType(events.CommandType(name))
	if err := e.SetData(event.ApplicationJSON, raw); err != nil {
		t.Fatal(err)
	}
	return h(context.Background(), &handlers.Delivery{Event: e, Attempt: 1, Seq: 1})
}

func rejectStale(name string) events.Policy {
	return events.Policy{
		Name: name, Owner: &events.PolicyOwner{Email: mendsim.DefaultUserEmail},
		Filter: &events.PolicyFilter{Type: mend.FilterLibraryStaleness, MonthsBack: 12},
		Action: &events.PolicyAction{Type: mend.ActionReject},
	}
}

// TestPoliciesByNames: policies are added, ordered and applied at a
// project named by its product and its own name, which the commands wait
// for until it exists; a reorder by names puts the policies in that order,
// and once they are so, it calls Mend for nothing more.
func TestPoliciesByNames(t *testing.T) {
	t.Parallel()
	sim, h := simHandler(t)
	scope := events.PolicyScope{Scope: events.ScopeProject, ProductName: "acme", ProjectName: "api"}

	_, err := run(t, h, events.CommandPolicyAdd, events.PolicyAdd{PolicyScope: scope, Policy: rejectStale("a")})
	if nf := new(handlers.NotFoundError); !errors.As(err, &nf) {
		t.Fatalf("policy.add before its project: %v, want a NotFoundError", err)
	}
	if _, err := run(t, h, events.CommandProjectCreate, events.ProjectCreate{ProductName: "acme", ProjectName: "api", CreateProduct: true}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		if _, err := run(t, h, events.CommandPolicyAdd, events.PolicyAdd{PolicyScope: scope, Policy: rejectStale(name)}); err != nil {
			t.Fatalf("policy.add %s: %v", name, err)
		}
	}
	order := []string{"b", "a", "c"} // highest priority first
	res, err := run(t, h, events.CommandPolicyReorder, events.PolicyReorder{PolicyScope: scope, PolicyNames: order})
	if err != nil {
		t.Fatal(err)
	}
	token := res.Data.(events.PolicyReordered).Token
	client, _ := mend.NewClient(sim.URL, mend.Secret(mendsim.DefaultUserKey))
	got, _, err := client.Policies.List(context.Background(), mend.ProjectScope(token), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got.Policies {
		names = append(names, p.Name)
	}
	if len(names) != 3 || names[0] != "b" || names[1] != "a" || names[2] != "c" {
		t.Fatalf("policies after reorder, highest first: %v, want %v", names, order)
	}

	reorders := len(sim.CallsOf(mend.ReqReorderProjectPolicyPriorities))
	if _, err := run(t, h, events.CommandPolicyReorder, events.PolicyReorder{PolicyScope: scope, PolicyNames: order}); err != nil {
		t.Fatal(err)
	}
	if n := len(sim.CallsOf(mend.ReqReorderProjectPolicyPriorities)); n != reorders {
		t.Errorf("a reorder to the order in place called Mend (%d reorder calls, want %d)", n, reorders)
	}
	if _, err := run(t, h, events.CommandPolicyReorder, events.PolicyReorder{PolicyScope: scope, PolicyNames: []string{"d"}}); !errors.As(err, new(*handlers.NotFoundError)) {
		t.Errorf("reorder naming a policy not there: %v, want a NotFoundError", err)
	}
	res, err = run(t, h, events.CommandPoliciesApply, events.PoliciesApply{Scope: events.ScopeProject, ProductName: "acme", ProjectName: "api"})
	if err != nil || res.Track == nil || res.Track.Token != token {
		t.Fatalf("policies.apply by names: %+v, %v; want a process tracked on project %s", res, err, token)
	}
}

// TestPolicySchemaMatchesMend: a command's policy, with every field set,
// is Mend's policy request field for field, both ways, so that mendPolicy
// loses nothing: a field of the command that the request lacks, or named
// otherwise, fails here.
func TestPolicySchemaMatchesMend(t *testing.T) {
	t.Parallel()
	yes := true
	full := events.Policy{
		ID: 3, Name: "n", Owner: &events.PolicyOwner{ID: 1, Email: "a@example.com", Name: "A"}, Inclusive: &yes,
		Filter: &events.PolicyFilter{
			Type: "LICENSE", Licenses: []events.PolicyLicense{{ID: 2, Name: "MIT"}},
			VulnerabilitySeverity:        &events.ScoreRange{ScoreFrom: 1, ScoreTo: 2},
			EffectiveVulnerabilitiesOnly: true, MonthsBack: 4, ScoreFrom: 5, ScoreTo: 6,
		},
		Action: &events.PolicyAction{Type: "CREATE_ISSUE", IssueSettings: &events.IssueSettings{
			Summary: "s", Description: "d", IssueTrackerType: "JIRA",
			IssueAssignee: &events.IssueAssignee{DisplayName: "x"}, IssueProject: &events.IssueProject{Key: "K"},
			IssueType: &events.IssueName{Name: "Bug"}, IssuePriorityInfo: &events.IssueName{Name: "High"},
			RequiredFieldsInfo: map[string]events.IssueFieldValue{"Labels": {Value: "v"}},
		}},
	}
	want, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	strictly := func(b []byte, into any) {
		t.Helper()
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(into); err != nil {
			t.Fatalf("decoding %s into %T: %v", b, into, err)
		}
	}
	var spec mend.PolicySpec
	strictly(want, &spec)
	got, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("mend.PolicySpec loses or adds fields:\n got %s\nwant %s", got, want)
	}
	var back events.Policy
	strictly(got, &back)
	if diff := cmp.Diff(full, back); diff != "" {
		t.Errorf("back to the command's policy (-want, +got):\n%s", diff)
	}
}
