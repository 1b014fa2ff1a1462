package mend_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// policyLevelCase is one of the four policy levels: how a test reaches a
// scope there, and the request types the client must send for it.
type policyLevelCase struct {
	name       string
	tokenField string
	scope      func(t *testing.T, c *mend.Client, sim *mendsim.Server) mend.Scope
	// seeded counts the demo organization's policies at the level.
	seeded                            int
	get, add, update, remove, reorder string
}

func policyLevelCases() []policyLevelCase {
	return []policyLevelCase{
		{
			name: "global organization", tokenField: "globalOrgToken",
			scope: func(t *testing.T, c *mend.Client, _ *mendsim.Server) mend.Scope {
				return mend.GlobalOrgScope(newGlobalOrg(t, c, "Demo Global"))
			},
			get: mend.ReqGetGlobalOrganizationPolicies, add: mend.ReqAddGlobalOrganizationPolicy,
			update: mend.ReqUpdateGlobalOrganizationPolicy, remove: mend.ReqRemoveGlobalOrganizationPolicies,
			reorder: mend.ReqReorderGlobalOrganizationPolicyPriorities,
		},
		{
			name: "organization", tokenField: "orgToken", seeded: 1,
			scope: func(*testing.T, *mend.Client, *mendsim.Server) mend.Scope { return mend.OrgScope(orgToken) },
			get:   mend.ReqGetOrganizationPolicies, add: mend.ReqAddOrganizationPolicy,
			update: mend.ReqUpdateOrganizationPolicy, remove: mend.ReqRemoveOrganizationPolicies,
			reorder: mend.ReqReorderOrganizationPolicyPriorities,
		},
		{
			name: "product", tokenField: "productToken", seeded: 1,
			scope: func(t *testing.T, _ *mend.Client, sim *mendsim.Server) mend.Scope {
				product, _ := demoTokens(t, sim)
				return mend.ProductScope(product)
			},
			get: mend.ReqGetProductPolicies, add: mend.ReqAddProductPolicy,
			update: mend.ReqUpdateProductPolicy, remove: mend.ReqRemoveProductPolicies,
			reorder: mend.ReqReorderProductPolicyPriorities,
		},
		{
			name: "project", tokenField: "projectToken",
			scope: func(t *testing.T, _ *mend.Client, sim *mendsim.Server) mend.Scope {
				_, project := demoTokens(t, sim)
				return mend.ProjectScope(project)
			},
			get: mend.ReqGetProjectPolicies, add: mend.ReqAddProjectPolicy,
			update: mend.ReqUpdateProjectPolicy, remove: mend.ReqRemoveProjectPolicies,
			reorder: mend.ReqReorderProjectPolicyPriorities,
		},
	}
}

// demoAdmin is the demo user as a policy owner: the owner of the seeded
// organization policy.
func demoAdmin(t *testing.T, c *mend.Client) mend.PolicyOwner {
	t.Helper()
	got, _, err := c.Policies.List(context.Background(), mend.OrgScope(orgToken), nil)
	if err != nil || len(got.Policies) == 0 {
		t.Fatalf("List organization policies: %v, %v", got, err)
	}
	return got.Policies[0].Owner
}

func findPolicy(list []mend.Policy, id int) (mend.Policy, bool) {
	for _, p := range list {
		if p.ID == id {
			return p, true
		}
	}
	return mend.Policy{}, false
}

// TestPoliciesAtEveryLevel walks a policy through add, get, update,
// reorder and remove at each of the four levels: all 20 request types.
func TestPoliciesAtEveryLevel(t *testing.T) {
	t.Parallel()
	for _, tt := range policyLevelCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, sim := setup(t)
			ctx := context.Background()
			scope := tt.scope(t, c, sim)
			admin := demoAdmin(t, c)

			before, _, err := c.Policies.List(ctx, scope, nil)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(before.Policies) != tt.seeded {
				t.Fatalf("%d policies before: want %d", len(before.Policies), tt.seeded)
			}
			want := map[string]any{"requestType": tt.get, tt.tokenField: scope.Token}
			if diff := cmp.Diff(want, sentBody(t, sim, tt.get)); diff != "" {
				t.Errorf("%s body (-want, +got):\n%s", tt.get, diff)
			}

			// Add: the page's example.
			added, _, err := c.Policies.Add(ctx, scope, &mend.PolicySpec{
				Name:      "my policy",
				Owner:     &mend.PolicyOwner{ID: admin.ID},
				Filter:    &mend.PolicyFilter{Type: mend.FilterLicense, Licenses: []mend.PolicyLicense{{Name: "Apache 2.0"}}},
				Inclusive: new(true),
				Action:    &mend.PolicyAction{Type: mend.ActionApprove},
			})
			if err != nil {
				t.Fatalf("Add: %v", err)
			}
			want = jsonObject(t, fmt.Sprintf(`{
				"requestType": %q, %q: %q,
				"policy": {
					"name": "my policy",
					"owner": {"id": %d},
					"filter": {"type": "LICENSE", "licenses": [{"name": "Apache 2.0"}]},
					"inclusive": true,
					"action": {"type": "APPROVE"}
				}
			}`, tt.add, tt.tokenField, scope.Token, admin.ID))
			if diff := cmp.Diff(want, sentBody(t, sim, tt.add)); diff != "" {
				t.Errorf("%s body (-want, +got):\n%s", tt.add, diff)
			}
			if added.Message != "Successfully added policy 'my policy'" {
				t.Errorf("add message %q", added.Message)
			}
			p := added.AddedPolicy
			if p.ID == 0 || p.Priority != tt.seeded+1 || !p.Enabled || !p.Inclusive || p.CreationTime == "" {
				t.Errorf("added policy %+v: want a new ID, priority %d, enabled, inclusive, created", p, tt.seeded+1)
			}
			if diff := cmp.Diff(admin, p.Owner); diff != "" || admin.Email != mendsim.DefaultUserEmail {
				t.Errorf("owner filled from the user (-want, +got):\n%s", diff)
			}
			wantFilter := mend.PolicyFilter{Type: mend.FilterLicense, Licenses: []mend.PolicyLicense{{ID: 9, Name: "Apache 2.0"}}}
			if diff := cmp.Diff(wantFilter, p.Filter); diff != "" {
				t.Errorf("filter, with the license's ID (-want, +got):\n%s", diff)
			}
			listed, _, err := c.Policies.List(ctx, scope, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := findPolicy(listed.Policies, p.ID)
			if diff := cmp.Diff(p, got); !ok || diff != "" {
				t.Errorf("listed policy differs from the added one (-want, +got):\n%s", diff)
			}

			// Update: a new ID, the same priority.
			updated, _, err := c.Policies.Update(ctx, scope, &mend.PolicySpec{
				ID:        p.ID,
				Name:      "my policy",
				Owner:     &mend.PolicyOwner{ID: admin.ID},
				Filter:    &mend.PolicyFilter{Type: mend.FilterLicense, Licenses: []mend.PolicyLicense{{Name: "GPL 3.0"}}},
				Inclusive: new(true),
				Action:    &mend.PolicyAction{Type: mend.ActionReject},
			})
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			want = jsonObject(t, fmt.Sprintf(`{
				"requestType": %q, %q: %q,
				"policy": {
					"id": %d,
					"name": "my policy",
					"owner": {"id": %d},
					"filter": {"type": "LICENSE", "licenses": [{"name": "GPL 3.0"}]},
					"inclusive": true,
					"action": {"type": "REJECT"}
				}
			}`, tt.update, tt.tokenField, scope.Token, p.ID, admin.ID))
			if diff := cmp.Diff(want, sentBody(t, sim, tt.update)); diff != "" {
				t.Errorf("%s body (-want, +got):\n%s", tt.update, diff)
			}
			u := updated.UpdatedPolicy
			if u.ID == p.ID || u.Priority != p.Priority || u.CreationTime != p.CreationTime || u.Action.Type != mend.ActionReject {
				t.Errorf("updated policy %+v: want a new ID, priority %d, the creation time, action REJECT", u, p.Priority)
			}
			if diff := cmp.Diff([]mend.PolicyLicense{{ID: 1, Name: "GPL 3.0"}}, u.Filter.Licenses); diff != "" {
				t.Errorf("updated licenses (-want, +got):\n%s", diff)
			}
			listed, _, err = c.Policies.List(ctx, scope, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := findPolicy(listed.Policies, p.ID); ok {
				t.Errorf("the policy's old ID %d is still listed", p.ID)
			}
			if got, _ := findPolicy(listed.Policies, u.ID); !cmp.Equal(u, got) {
				t.Errorf("listed %+v, want the updated policy %+v", got, u)
			}

			second, _, err := c.Policies.Add(ctx, scope, &mend.PolicySpec{
				Name:  "policy2",
				Owner: &mend.PolicyOwner{Email: admin.Email},
				Filter: &mend.PolicyFilter{
					Type:                         mend.FilterVulnerabilitySeverity,
					VulnerabilitySeverity:        &mend.ScoreRange{ScoreFrom: 7, ScoreTo: 10},
					EffectiveVulnerabilitiesOnly: true,
				},
				Action: &mend.PolicyAction{Type: mend.ActionReject},
			})
			if err != nil {
				t.Fatalf("Add a second policy: %v", err)
			}
			s := second.AddedPolicy
			wantFilter = mend.PolicyFilter{
				Type:                         mend.FilterVulnerabilitySeverity,
				VulnerabilitySeverity:        &mend.ScoreRange{ScoreFrom: 7, ScoreTo: 10},
				EffectiveVulnerabilitiesOnly: true,
			}
			if diff := cmp.Diff(wantFilter, s.Filter); diff != "" || s.Action.Type != mend.ActionReject || s.Inclusive {
				t.Errorf("second policy filter as sent (-want, +got):\n%s\naction %+v, inclusive %v", diff, s.Action, s.Inclusive)
			}
			if s.Priority != tt.seeded+2 {
				t.Errorf("second policy priority %d, want %d", s.Priority, tt.seeded+2)
			}

			// Reorder: the second policy to the bottom.
			reordered, _, err := c.Policies.Reorder(ctx, scope, []mend.PolicyPriority{{PolicyID: s.ID, Priority: 1}, {PolicyID: u.ID, Priority: 2}})
			if err != nil {
				t.Fatalf("Reorder: %v", err)
			}
			want = jsonObject(t, fmt.Sprintf(`{
				"requestType": %q, %q: %q,
				"policyPriorities": [{"policyId": %d, "priority": 1}, {"policyId": %d, "priority": 2}]
			}`, tt.reorder, tt.tokenField, scope.Token, s.ID, u.ID))
			if diff := cmp.Diff(want, sentBody(t, sim, tt.reorder)); diff != "" {
				t.Errorf("%s body (-want, +got):\n%s", tt.reorder, diff)
			}
			prios := map[int]int{}
			for _, rp := range reordered.Policies {
				prios[rp.ID] = rp.Priority
			}
			wantPrios := map[int]int{s.ID: 1, u.ID: 2}
			for _, seed := range before.Policies {
				wantPrios[seed.ID] = 3 // the rest follow
			}
			if diff := cmp.Diff(wantPrios, prios); diff != "" {
				t.Errorf("priorities after reorder (-want, +got):\n%s", diff)
			}
			listed, _, err = c.Policies.List(ctx, scope, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(reordered.Policies, listed.Policies); diff != "" {
				t.Errorf("List after Reorder differs from its answer (-want, +got):\n%s", diff)
			}

			// Remove: IDs the level does not hold are not counted.
			removed, _, err := c.Policies.Remove(ctx, scope, []int{u.ID, s.ID, 999999})
			if err != nil {
				t.Fatalf("Remove: %v", err)
			}
			want = jsonObject(t, fmt.Sprintf(`{"requestType": %q, %q: %q, "policyIds": [%d, %d, 999999]}`,
				tt.remove, tt.tokenField, scope.Token, u.ID, s.ID))
			if diff := cmp.Diff(want, sentBody(t, sim, tt.remove)); diff != "" {
				t.Errorf("%s body (-want, +got):\n%s", tt.remove, diff)
			}
			if removed.RemovedPolicies != 2 {
				t.Errorf("removedPolicies %d, want 2", removed.RemovedPolicies)
			}
			after, _, err := c.Policies.List(ctx, scope, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("policies after removal differ from those before (-want, +got):\n%s", diff)
			}

			for _, rt := range []string{tt.get, tt.add, tt.update, tt.remove, tt.reorder} {
				ok := false
				for _, call := range sim.CallsOf(rt) {
					ok = ok || call.OK()
				}
				if !ok {
					t.Errorf("no successful %s call", rt)
				}
			}
		})
	}
}

// TestPolicyLevelCasesCoverAllRequestTypes keeps the level table honest:
// together its levels send every policy request type.
func TestPolicyLevelCasesCoverAllRequestTypes(t *testing.T) {
	t.Parallel()
	var covered, want []string
	for _, tt := range policyLevelCases() {
		covered = append(covered, tt.get, tt.add, tt.update, tt.remove, tt.reorder)
	}
	for _, rt := range mend.RequestTypes() {
		if strings.Contains(rt, "Polic") && rt != mend.ReqChangeOrganizationPolicyOwner {
			want = append(want, rt)
		}
	}
	sort.Strings(covered)
	sort.Strings(want)
	if len(want) != 20 {
		t.Errorf("%d policy request types, want 20", len(want))
	}
	if diff := cmp.Diff(want, covered); diff != "" {
		t.Errorf("policy request types covered (-want, +got):\n%s", diff)
	}
}

func TestPoliciesAggregate(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()
	admin := demoAdmin(t, c)
	product, project := demoTokens(t, sim)
	global := newGlobalOrg(t, c, "Demo Global")
	if _, _, err := c.GlobalOrganizations.AssignToOrg(ctx, &mend.GlobalOrgAssignmentRequest{OrgToken: orgToken, GlobalOrgToken: global}); err != nil {
		t.Fatal(err)
	}
	add := func(scope mend.Scope, name string) {
		t.Helper()
		if _, _, err := c.Policies.Add(ctx, scope, &mend.PolicySpec{
			Name: name, Owner: &mend.PolicyOwner{ID: admin.ID},
			Filter: &mend.PolicyFilter{Type: mend.FilterLibraryStaleness, MonthsBack: 24},
			Action: &mend.PolicyAction{Type: mend.ActionReject},
		}); err != nil {
			t.Fatalf("Add %s: %v", name, err)
		}
	}
	add(mend.GlobalOrgScope(global), "global stale")
	add(mend.ProjectScope(project), "project stale")

	type named struct{ Name, Context string }
	names := func(list []mend.Policy) []named {
		var out []named
		for _, p := range list {
			out = append(out, named{p.Name, p.PolicyContext})
		}
		return out
	}
	tests := []struct {
		name      string
		scope     mend.Scope
		aggregate bool
		want      []named
	}{
		{name: "project alone", scope: mend.ProjectScope(project), want: []named{{"project stale", "PROJECT"}}},
		{name: "project aggregated", scope: mend.ProjectScope(project), aggregate: true, want: []named{
			{"project stale", "PROJECT"},
			{"Approve Apache 2.0", "PRODUCT"},
			{"Reject high severity vulnerabilities", "DOMAIN"},
			{"global stale", "GLOBAL_ACCOUNT"},
		}},
		{name: "product aggregated", scope: mend.ProductScope(product), aggregate: true, want: []named{
			{"Approve Apache 2.0", "PRODUCT"},
			{"Reject high severity vulnerabilities", "DOMAIN"},
			{"global stale", "GLOBAL_ACCOUNT"},
		}},
		{name: "organization aggregated", scope: mend.OrgScope(orgToken), aggregate: true, want: []named{
			{"Reject high severity vulnerabilities", "DOMAIN"},
			{"global stale", "GLOBAL_ACCOUNT"},
		}},
		{name: "global organization", scope: mend.GlobalOrgScope(global), aggregate: true, want: []named{{"global stale", "GLOBAL_ACCOUNT"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := c.Policies.List(ctx, tt.scope, &mend.ListPoliciesOptions{AggregatePolicies: tt.aggregate})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if diff := cmp.Diff(tt.want, names(got.Policies)); diff != "" {
				t.Errorf("policies (-want, +got):\n%s", diff)
			}
		})
	}

	if _, _, err := c.Policies.List(ctx, mend.ProjectScope(project), &mend.ListPoliciesOptions{AggregatePolicies: true}); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"requestType": "getProjectPolicies", "projectToken": project, "aggregatePolicies": true}
	if diff := cmp.Diff(want, sentBody(t, sim, mend.ReqGetProjectPolicies)); diff != "" {
		t.Errorf("request body (-want, +got):\n%s", diff)
	}
}

func TestPolicyErrors(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()
	admin := demoAdmin(t, c)
	_, project := demoTokens(t, sim)
	org := mend.OrgScope(orgToken)
	seeded := func() mend.Policy {
		got, _, err := c.Policies.List(ctx, org, nil)
		if err != nil {
			t.Fatal(err)
		}
		return got.Policies[0]
	}()
	valid := func(change func(*mend.PolicySpec)) *mend.PolicySpec {
		p := &mend.PolicySpec{
			Name: "p", Owner: &mend.PolicyOwner{ID: admin.ID},
			Filter: &mend.PolicyFilter{Type: mend.FilterLicense, Licenses: []mend.PolicyLicense{{Name: "MIT"}}},
			Action: &mend.PolicyAction{Type: mend.ActionApprove},
		}
		change(p)
		return p
	}
	add := func(scope mend.Scope, change func(*mend.PolicySpec)) func() error {
		return func() error {
			_, _, err := c.Policies.Add(ctx, scope, valid(change))
			return err
		}
	}
	jira := &mend.IssueSettings{Summary: "s", Description: "d", IssueTrackerType: mend.IssueTrackerJira}
	// legacy is a complete legacy JIRA or WORK_ITEMS issue of a type and
	// priority.
	legacy := func(tracker, issueType, priority string) *mend.IssueSettings {
		return &mend.IssueSettings{
			Summary: "s", Description: "d", IssueTrackerType: tracker,
			IssueAssignee: &mend.IssueAssignee{DisplayName: "Lewis Grove"}, IssueProject: &mend.IssueProject{Key: "Proj"},
			IssueType: &mend.IssueName{Name: issueType}, IssuePriorityInfo: &mend.IssueName{Name: priority},
		}
	}

	tests := []struct {
		name string
		call func() error
		code int
	}{
		{name: "unknown global organization", code: mend.CodeNotAllowed, call: add(mend.GlobalOrgScope("no-such-global"), func(*mend.PolicySpec) {})},
		{name: "unknown organization", code: mend.CodeNotAllowed, call: add(mend.OrgScope("no-such-org"), func(*mend.PolicySpec) {})},
		{name: "unknown product", code: mend.CodeInvalidProductToken, call: add(mend.ProductScope("no-such-product"), func(*mend.PolicySpec) {})},
		{name: "unknown project", code: mend.CodeInvalidProjectToken, call: add(mend.ProjectScope("no-such-project"), func(*mend.PolicySpec) {})},
		{name: "missing token", code: mend.CodeMissingFields, call: add(mend.ProjectScope(""), func(*mend.PolicySpec) {})},
		{name: "missing policy", code: mend.CodeMissingFields, call: func() error {
			_, _, err := c.Policies.Add(ctx, org, nil)
			return err
		}},
		{name: "missing name", code: mend.CodeMissingFields, call: add(org, func(p *mend.PolicySpec) { p.Name = "" })},
		{name: "missing owner", code: mend.CodeMissingFields, call: add(org, func(p *mend.PolicySpec) { p.Owner = &mend.PolicyOwner{} })},
		{name: "missing filter", code: mend.CodeMissingFields, call: add(org, func(p *mend.PolicySpec) { p.Filter = nil })},
		{name: "missing action", code: mend.CodeMissingFields, call: add(org, func(p *mend.PolicySpec) { p.Action = nil })},
		{name: "unknown owner id", code: mend.CodeUserNotFound, call: add(org, func(p *mend.PolicySpec) { p.Owner = &mend.PolicyOwner{ID: 1} })},
		{name: "unknown owner email", code: mend.CodeUserNotFound, call: add(org, func(p *mend.PolicySpec) { p.Owner = &mend.PolicyOwner{Email: "nobody@example.com"} })},
		{name: "owner id and email of different users", code: mend.CodeInvalidOptionValue, call: add(org, func(p *mend.PolicySpec) {
			p.Owner = &mend.PolicyOwner{ID: admin.ID, Email: "appsec.lead@example.com"}
		})},
		{name: "unknown filter type", code: mend.CodeInvalidOptionValue, call: add(org, func(p *mend.PolicySpec) { p.Filter = &mend.PolicyFilter{Type: "ASTROLOGY"} })},
		{name: "license filter without licenses", code: mend.CodeMissingFields, call: add(org, func(p *mend.PolicySpec) { p.Filter.Licenses = nil })},
		{name: "unknown license", code: mend.CodeInvalidOptionValue, call: add(org, func(p *mend.PolicySpec) { p.Filter.Licenses = []mend.PolicyLicense{{Name: "Beerware 9"}} })},
		{name: "severity filter without range", code: mend.CodeMissingFields, call: add(org, func(p *mend.PolicySpec) {
			p.Filter = &mend.PolicyFilter{Type: mend.FilterVulnerabilitySeverity}
		})},
		{name: "severity range upside down", code: mend.CodeInvalidOptionValue, call: add(org, func(p *mend.PolicySpec) {
			p.Filter = &mend.PolicyFilter{Type: mend.FilterVulnerabilitySeverity, VulnerabilitySeverity: &mend.ScoreRange{ScoreFrom: 9, ScoreTo: 4}}
		})},
		{name: "staleness without months", code: mend.CodeMissingFields, call: add(org, func(p *mend.PolicySpec) { p.Filter = &mend.PolicyFilter{Type: mend.FilterLibraryStaleness} })},
		{name: "unknown action", code: mend.CodeInvalidOptionValue, call: add(org, func(p *mend.PolicySpec) { p.Action = &mend.PolicyAction{Type: "SHRUG"} })},
		{name: "undocumented reassign action", code: mend.CodeInvalidOptionValue, call: add(org, func(p *mend.PolicySpec) { p.Action = &mend.PolicyAction{Type: mend.ActionReassign} })},
		{name: "issue without settings", code: mend.CodeMissingFields, call: add(org, func(p *mend.PolicySpec) { p.Action = &mend.PolicyAction{Type: mend.ActionCreateIssue} })},
		{name: "legacy Jira issue without assignee, project, type, priority", code: mend.CodeMissingFields, call: add(org, func(p *mend.PolicySpec) {
			p.Action = &mend.PolicyAction{Type: mend.ActionCreateIssue, IssueSettings: jira}
		})},
		{name: "unknown issue tracker", code: mend.CodeInvalidOptionValue, call: add(org, func(p *mend.PolicySpec) {
			p.Action = &mend.PolicyAction{Type: mend.ActionCreateIssue, IssueSettings: &mend.IssueSettings{Summary: "s", Description: "d", IssueTrackerType: "CARRIER_PIGEON"}}
		})},
		{name: "legacy Jira issue of an undocumented issue type", code: mend.CodeInvalidOptionValue, call: add(org, func(p *mend.PolicySpec) {
			p.Action = &mend.PolicyAction{Type: mend.ActionCreateIssue, IssueSettings: legacy(mend.IssueTrackerJira, "Incident", "High")}
		})},
		{name: "legacy Jira issue type in the wrong case", code: mend.CodeInvalidOptionValue, call: add(org, func(p *mend.PolicySpec) {
			p.Action = &mend.PolicyAction{Type: mend.ActionCreateIssue, IssueSettings: legacy(mend.IssueTrackerJira, "bug", "High")}
		})},
		{name: "legacy Jira issue priority in the wrong case", code: mend.CodeInvalidOptionValue, call: add(org, func(p *mend.PolicySpec) {
			p.Action = &mend.PolicyAction{Type: mend.ActionCreateIssue, IssueSettings: legacy(mend.IssueTrackerJira, "Bug", "high")}
		})},
		{name: "legacy Work Items issue of a Jira-only issue type", code: mend.CodeInvalidOptionValue, call: add(org, func(p *mend.PolicySpec) {
			p.Action = &mend.PolicyAction{Type: mend.ActionCreateIssue, IssueSettings: legacy(mend.IssueTrackerWorkItems, "Story", "High")}
		})},
		{name: "legacy Work Items issue of an undocumented priority", code: mend.CodeInvalidOptionValue, call: add(org, func(p *mend.PolicySpec) {
			p.Action = &mend.PolicyAction{Type: mend.ActionCreateIssue, IssueSettings: legacy(mend.IssueTrackerWorkItems, "User Story", "Urgent")}
		})},
		{name: "issue settings on an approve action", code: mend.CodeInvalidOptionValue, call: add(org, func(p *mend.PolicySpec) {
			p.Action = &mend.PolicyAction{Type: mend.ActionApprove, IssueSettings: jira}
		})},
		{name: "policy of another level", code: mend.CodeInvalidOptionValue, call: func() error {
			_, _, err := c.Policies.Update(ctx, mend.ProjectScope(project), &mend.PolicySpec{ID: seeded.ID, Name: "x", Owner: &mend.PolicyOwner{ID: admin.ID}})
			return err
		}},
		{name: "update without id", code: mend.CodeMissingFields, call: func() error {
			_, _, err := c.Policies.Update(ctx, org, &mend.PolicySpec{Name: "x", Owner: &mend.PolicyOwner{ID: admin.ID}})
			return err
		}},
		{name: "update without owner", code: mend.CodeMissingFields, call: func() error {
			_, _, err := c.Policies.Update(ctx, org, &mend.PolicySpec{ID: seeded.ID, Name: "x"})
			return err
		}},
		{name: "update with an invalid filter", code: mend.CodeInvalidOptionValue, call: func() error {
			_, _, err := c.Policies.Update(ctx, org, &mend.PolicySpec{ID: seeded.ID, Name: "x", Owner: &mend.PolicyOwner{ID: admin.ID}, Filter: &mend.PolicyFilter{Type: "ASTROLOGY"}})
			return err
		}},
		{name: "remove nothing", code: mend.CodeMissingFields, call: func() error {
			_, _, err := c.Policies.Remove(ctx, org, nil)
			return err
		}},
		{name: "reorder an unknown policy", code: mend.CodeInvalidOptionValue, call: func() error {
			_, _, err := c.Policies.Reorder(ctx, org, []mend.PolicyPriority{{PolicyID: 424242, Priority: 1}})
			return err
		}},
		{name: "reorder beyond the number of policies", code: mend.CodeInvalidOptionValue, call: func() error {
			_, _, err := c.Policies.Reorder(ctx, org, []mend.PolicyPriority{{PolicyID: seeded.ID, Priority: 2}})
			return err
		}},
		{name: "reorder one policy twice", code: mend.CodeInvalidOptionValue, call: func() error {
			_, _, err := c.Policies.Reorder(ctx, org, []mend.PolicyPriority{{PolicyID: seeded.ID, Priority: 1}, {PolicyID: seeded.ID, Priority: 1}})
			return err
		}},
		{name: "reorder without priority", code: mend.CodeMissingFields, call: func() error {
			_, _, err := c.Policies.Reorder(ctx, org, []mend.PolicyPriority{{PolicyID: seeded.ID}})
			return err
		}},
		{name: "reorder nothing", code: mend.CodeMissingFields, call: func() error {
			_, _, err := c.Policies.Reorder(ctx, org, nil)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantCode(t, tt.call(), tt.code)
		})
	}

	t.Run("invalid scope level", func(t *testing.T) {
		t.Parallel()
		if _, _, err := c.Policies.List(ctx, mend.Scope{Token: orgToken}, nil); err == nil {
			t.Error("List with a zero scope level: want an error")
		}
	})
}

// TestPolicyCreateIssueActions adds policies with the two CREATE_ISSUE
// action objects of the page, and gets them back unchanged.
func TestPolicyCreateIssueActions(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()
	admin := demoAdmin(t, c)
	_, project := demoTokens(t, sim)

	for _, file := range []string{"createIssueActionJira.json", "createIssueActionCommonIssueTracker.json"} {
		t.Run(file, func(t *testing.T) {
			var page struct {
				Action mend.PolicyAction `json:"action"`
			}
			decodeGolden(t, file, &page)
			added, _, err := c.Policies.Add(ctx, mend.ProjectScope(project), &mend.PolicySpec{
				Name: "open an issue " + file, Owner: &mend.PolicyOwner{ID: admin.ID},
				Filter: &mend.PolicyFilter{Type: mend.FilterVulnerabilitySeverity, VulnerabilitySeverity: &mend.ScoreRange{ScoreFrom: 9, ScoreTo: 10}},
				Action: &page.Action,
			})
			if err != nil {
				t.Fatalf("Add: %v", err)
			}
			// The action on the wire is the page's object.
			raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "mend", file))
			if err != nil {
				t.Fatal(err)
			}
			sent := sentBody(t, sim, mend.ReqAddProjectPolicy).(map[string]any)["policy"].(map[string]any)["action"]
			if diff := cmp.Diff(jsonObject(t, string(raw))["action"], sent); diff != "" {
				t.Errorf("action on the wire (-want, +got):\n%s", diff)
			}
			listed, _, err := c.Policies.List(ctx, mend.ProjectScope(project), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := findPolicy(listed.Policies, added.AddedPolicy.ID)
			if diff := cmp.Diff(page.Action, got.Action); diff != "" {
				t.Errorf("action got back (-want, +got):\n%s", diff)
			}
		})
	}
}

// TestPolicyCreateIssueDocumentedValues adds legacy CREATE_ISSUE actions
// with values the page lists: case sensitive for JIRA only.
func TestPolicyCreateIssueDocumentedValues(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	ctx := context.Background()
	admin := demoAdmin(t, c)
	for i, tt := range []struct{ tracker, issueType, priority string }{
		{mend.IssueTrackerJira, "New feature", "Lowest"},
		{mend.IssueTrackerJira, "Story", "Highest"},
		{mend.IssueTrackerWorkItems, "User Story", "Medium"},
		{mend.IssueTrackerWorkItems, "code review request", "low"},
	} {
		_, _, err := c.Policies.Add(ctx, mend.OrgScope(orgToken), &mend.PolicySpec{
			Name: fmt.Sprintf("issue %d", i), Owner: &mend.PolicyOwner{ID: admin.ID},
			Filter: &mend.PolicyFilter{Type: mend.FilterLibraryStaleness, MonthsBack: 6},
			Action: &mend.PolicyAction{Type: mend.ActionCreateIssue, IssueSettings: &mend.IssueSettings{
				Summary: "s", Description: "d", IssueTrackerType: tt.tracker,
				IssueAssignee: &mend.IssueAssignee{DisplayName: "Lewis Grove"}, IssueProject: &mend.IssueProject{Key: "Proj"},
				IssueType: &mend.IssueName{Name: tt.issueType}, IssuePriorityInfo: &mend.IssueName{Name: tt.priority},
			}},
		})
		if err != nil {
			t.Errorf("%s issue %q of priority %q: %v", tt.tracker, tt.issueType, tt.priority, err)
		}
	}
}

// TestPolicyChangesNeedAnAdministrator: the page lets the ORG Admin group
// change an organization's policies, and the Product Admin or Admin group a
// product's or project's. Out of the organization's admins group, the demo
// user may still read policies but change only those of a product it
// administers, and its projects'.
func TestPolicyChangesNeedAnAdministrator(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()
	admin := demoAdmin(t, c)
	product, project := demoTokens(t, sim)
	spec := func(name string) *mend.PolicySpec {
		return &mend.PolicySpec{
			Name: name, Owner: &mend.PolicyOwner{ID: admin.ID},
			Filter: &mend.PolicyFilter{Type: mend.FilterLibraryStaleness, MonthsBack: 12},
			Action: &mend.PolicyAction{Type: mend.ActionReject},
		}
	}
	org := mend.OrgScope(orgToken)
	seeded, _, err := c.Policies.List(ctx, org, nil)
	if err != nil {
		t.Fatal(err)
	}
	orgPolicy := seeded.Policies[0]

	// Take the demo user out of the admins group.
	groups, _, err := c.Groups.List(ctx, orgToken, &mend.ListOptions{Search: "name:equals:admins"})
	if err != nil || len(groups) != 1 {
		t.Fatalf("admins group: %+v, %v", groups, err)
	}
	users, _, err := c.Groups.ListUsers(ctx, orgToken, groups[0].UUID, &mend.ListOptions{Search: "email:equals:" + admin.Email})
	if err != nil || len(users) != 1 {
		t.Fatalf("the demo user in admins: %+v, %v", users, err)
	}
	if _, _, err := c.Groups.RemoveUser(ctx, orgToken, groups[0].UUID, users[0].UUID); err != nil {
		t.Fatal(err)
	}

	notAllowed := func(what string, err error) {
		t.Helper()
		if !mend.IsCode(err, mend.CodeNotAllowed) {
			t.Errorf("%s without being an administrator: %v, want errorCode %d", what, err, mend.CodeNotAllowed)
		}
	}
	_, _, err = c.Policies.Add(ctx, org, spec("org"))
	notAllowed("add an organization policy", err)
	_, _, err = c.Policies.Update(ctx, org, &mend.PolicySpec{ID: orgPolicy.ID, Name: "renamed", Owner: &mend.PolicyOwner{ID: admin.ID}})
	notAllowed("update an organization policy", err)
	_, _, err = c.Policies.Reorder(ctx, org, []mend.PolicyPriority{{PolicyID: orgPolicy.ID, Priority: 1}})
	notAllowed("reorder organization policies", err)
	_, _, err = c.Policies.Remove(ctx, org, []int{orgPolicy.ID})
	notAllowed("remove an organization policy", err)
	_, _, err = c.Policies.ChangeOwner(ctx, &mend.ChangePolicyOwnerRequest{
		OrgToken: orgToken, CurrentPolicyOwnerEmail: admin.Email, NewPolicyOwnerEmail: "appsec.lead@example.com",
	})
	notAllowed("change the policy owner", err)
	_, _, err = c.Policies.Add(ctx, mend.ProductScope(product), spec("product"))
	notAllowed("add a product policy", err)
	_, _, err = c.Policies.Add(ctx, mend.ProjectScope(project), spec("project"))
	notAllowed("add a project policy", err)
	if got, _, err := c.Policies.List(ctx, org, nil); err != nil || len(got.Policies) != 1 || got.Policies[0].Name != orgPolicy.Name {
		t.Errorf("organization policies after the refusals: %+v, %v; want the seeded one unchanged", got, err)
	}

	// A group that administers the product.
	g, _, err := c.Groups.Create(ctx, orgToken, &mend.GroupRequest{Name: "product admins"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Groups.AddUsers(ctx, orgToken, g.UUID, []string{admin.Email}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Groups.AddRole(ctx, orgToken, g.UUID, mend.RoleAssignment{ContextToken: product, ContextType: mend.ContextProducts, Role: "ADMIN"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Policies.Add(ctx, mend.ProductScope(product), spec("product")); err != nil {
		t.Errorf("add a product policy as its administrator: %v", err)
	}
	if _, _, err := c.Policies.Add(ctx, mend.ProjectScope(project), spec("project")); err != nil {
		t.Errorf("add a policy to a project of the product as its administrator: %v", err)
	}
	_, _, err = c.Policies.Add(ctx, org, spec("org"))
	notAllowed("add an organization policy as a product administrator", err)
}

func TestChangeOrganizationPolicyOwner(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()
	product, _ := demoTokens(t, sim)
	const appsec = "appsec.lead@example.com"
	global := newGlobalOrg(t, c, "Demo Global")
	admin := demoAdmin(t, c)
	if _, _, err := c.Policies.Add(ctx, mend.GlobalOrgScope(global), &mend.PolicySpec{
		Name: "global", Owner: &mend.PolicyOwner{ID: admin.ID},
		Filter: &mend.PolicyFilter{Type: mend.FilterLibraryStaleness, MonthsBack: 12},
		Action: &mend.PolicyAction{Type: mend.ActionReject},
	}); err != nil {
		t.Fatal(err)
	}

	got, _, err := c.Policies.ChangeOwner(ctx, &mend.ChangePolicyOwnerRequest{
		OrgToken: orgToken, CurrentPolicyOwnerEmail: strings.ToUpper(mendsim.DefaultUserEmail), NewPolicyOwnerEmail: appsec,
	})
	if err != nil {
		t.Fatalf("ChangeOwner: %v", err)
	}
	if got.Message != "Successfully changed policy owners in the organization" {
		t.Errorf("message %q", got.Message)
	}
	want := map[string]any{
		"requestType": "changeOrganizationPolicyOwner", "orgToken": orgToken,
		"currentPolicyOwnerEmail": strings.ToUpper(mendsim.DefaultUserEmail), "newPolicyOwnerEmail": appsec,
	}
	if diff := cmp.Diff(want, sentBody(t, sim, mend.ReqChangeOrganizationPolicyOwner)); diff != "" {
		t.Errorf("request body (-want, +got):\n%s", diff)
	}

	owners := []struct {
		scope mend.Scope
		want  string
	}{
		{mend.OrgScope(orgToken), appsec},
		{mend.ProductScope(product), appsec},
		// The global organization's policies are not the organization's.
		{mend.GlobalOrgScope(global), mendsim.DefaultUserEmail},
	}
	for _, o := range owners {
		list, _, err := c.Policies.List(ctx, o.scope, nil)
		if err != nil || len(list.Policies) != 1 {
			t.Fatalf("List %v: %v, %v", o.scope, list, err)
		}
		if owner := list.Policies[0].Owner; owner.Email != o.want || owner.Name == "" || owner.ID == 0 {
			t.Errorf("owner of the %v policy: %+v, want %s", o.scope, owner, o.want)
		}
	}

	errTests := []struct {
		name string
		req  mend.ChangePolicyOwnerRequest
		code int
	}{
		{name: "unknown new owner", req: mend.ChangePolicyOwnerRequest{OrgToken: orgToken, CurrentPolicyOwnerEmail: appsec, NewPolicyOwnerEmail: "nobody@example.com"}, code: mend.CodeUserNotFound},
		{name: "unknown current owner", req: mend.ChangePolicyOwnerRequest{OrgToken: orgToken, CurrentPolicyOwnerEmail: "nobody@example.com", NewPolicyOwnerEmail: appsec}, code: mend.CodeUserNotFound},
		{name: "missing new owner", req: mend.ChangePolicyOwnerRequest{OrgToken: orgToken, CurrentPolicyOwnerEmail: appsec}, code: mend.CodeMissingFields},
		{name: "unknown organization", req: mend.ChangePolicyOwnerRequest{OrgToken: "no-such-org", CurrentPolicyOwnerEmail: appsec, NewPolicyOwnerEmail: appsec}, code: mend.CodeNotAllowed},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := c.Policies.ChangeOwner(ctx, &tt.req)
			wantCode(t, err, tt.code)
		})
	}
}

func TestPoliciesGolden(t *testing.T) {
	t.Parallel()
	type actionFragment struct {
		Action mend.PolicyAction `json:"action"`
	}
	tests := []struct {
		file string
		v    any
	}{
		{"getGlobalOrganizationPolicies.json", new(mend.PoliciesResponse)},
		{"getOrganizationPolicies.json", new(mend.PoliciesResponse)},
		{"getProductPolicies.json", new(mend.PoliciesResponse)},
		{"getProjectPolicies.json", new(mend.PoliciesResponse)},
		{"addGlobalOrganizationPolicy.json", new(mend.AddPolicyResponse)},
		{"addOrganizationPolicy.json", new(mend.AddPolicyResponse)},
		{"updateGlobalOrganizationPolicy.json", new(mend.UpdatePolicyResponse)},
		{"updateOrganizationPolicy.json", new(mend.UpdatePolicyResponse)},
		{"removeGlobalOrganizationPolicies.json", new(mend.RemovePoliciesResponse)},
		{"removeOrganizationPolicies.json", new(mend.RemovePoliciesResponse)},
		{"removeProductPolicies.json", new(mend.RemovePoliciesResponse)},
		{"removeProjectPolicies.json", new(mend.RemovePoliciesResponse)},
		{"reorderGlobalOrganizationPolicyPriorities.json", new(mend.PoliciesResponse)},
		{"changeOrganizationPolicyOwner.json", new(mend.MessageResponse)},
		{"createIssueActionJira.json", new(actionFragment)},
		{"createIssueActionCommonIssueTracker.json", new(actionFragment)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			decodeGolden(t, tt.file, tt.v)
		})
	}

	// Spot checks of the nested shapes.
	var global mend.PoliciesResponse
	decodeGolden(t, "getGlobalOrganizationPolicies.json", &global)
	wantFilter := mend.PolicyFilter{
		Type:                         mend.FilterVulnerabilitySeverity,
		VulnerabilitySeverity:        &mend.ScoreRange{ScoreFrom: 7, ScoreTo: 10},
		EffectiveVulnerabilitiesOnly: true,
	}
	if diff := cmp.Diff(wantFilter, global.Policies[0].Filter); diff != "" {
		t.Errorf("getGlobalOrganizationPolicies.json filter (-want, +got):\n%s", diff)
	}
	var jira actionFragment
	decodeGolden(t, "createIssueActionJira.json", &jira)
	is := jira.Action.IssueSettings
	if is == nil || is.IssueAssignee.DisplayName != "Lewis Grove" || is.IssueProject.Key != "Proj" || is.IssueType.Name != "Bug" ||
		is.IssuePriorityInfo.Name != "High" || is.RequiredFieldsInfo["My Custom Field"].Value != "Component values" {
		t.Errorf("createIssueActionJira.json: %+v", is)
	}
}
