package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// fixture is what the demo organization holds, read from the simulator,
// plus a product "other" and a global organization made for the tests.
type fixture struct {
	client                   *mend.Client
	org, product, api, web   string
	other, globalOrg         string
	task                     string
	productPolicy, orgPolicy int
}

const (
	admin          = mendsim.DefaultUserEmail
	manualInHouse  = "6d1a3c52-8f0e-4b7a-9c21-5e4f3a2b1c0d" // billing-client, marked by hand
	approvePolicy  = "Approve Apache 2.0"
	rejectHighVuln = "Reject high severity vulnerabilities"
)

func newFixture(t *testing.T, h *harness) *fixture {
	t.Helper()
	ctx := context.Background()
	c, err := mend.NewClient(h.sim.URL, mendsim.DefaultUserKey, mend.WithUserEmail(admin))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{client: c, org: h.sim.OrgToken(), product: productToken(t, h, "demo-product")}
	projects, _, err := c.Projects.List(ctx, &mend.GetAllProjectsRequest{ProductToken: f.product})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range projects.Projects {
		switch p.ProjectName {
		case "demo-api":
			f.api = p.ProjectToken
		case "demo-web":
			f.web = p.ProjectToken
		}
	}
	other, _, err := c.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: f.org, ProductName: "other"})
	if err != nil {
		t.Fatal(err)
	}
	f.other = other.ProductToken
	g, _, err := c.GlobalOrganizations.Create(ctx, &mend.CreateGlobalOrgRequest{Name: "holding", AccountAdminEmail: admin})
	if err != nil {
		t.Fatal(err)
	}
	f.globalOrg = g.GlobalOrgToken
	tasks, _, err := c.Organizations.PendingTasks(ctx, &mend.GetDomainPendingTasksRequest{OrgToken: f.org})
	if err != nil || len(tasks.PendingTaskInfos) == 0 {
		t.Fatalf("pending tasks: %v", err)
	}
	f.task = tasks.PendingTaskInfos[0].UUID
	f.productPolicy = f.policyID(t, mend.ProductScope(f.product), approvePolicy)
	f.orgPolicy = f.policyID(t, mend.OrgScope(f.org), rejectHighVuln)
	h.sim.ResetCalls()
	return f
}

func (f *fixture) policyID(t *testing.T, sc mend.Scope, name string) int {
	t.Helper()
	resp, _, err := f.client.Policies.List(context.Background(), sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range resp.Policies {
		if p.Name == name {
			return p.ID
		}
	}
	t.Fatalf("no policy %q at %s", name, sc)
	return 0
}

func policySpec(name string) events.Policy {
	return events.Policy{
		Name: name, Owner: &events.PolicyOwner{Email: admin},
		Filter: &events.PolicyFilter{Type: mend.FilterLicense, Licenses: []events.PolicyLicense{{Name: "Apache 2.0"}}},
		Action: &events.PolicyAction{Type: mend.ActionApprove},
	}
}

// TestEveryCommandTwice stores each command twice, as a publisher retrying
// past the deduplication window would, and runs a worker: each command's
// result event is published for both copies, and Mend sees the change
// once.
func TestEveryCommandTwice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		command string
		data    func(f *fixture) any
		setup   func(t *testing.T, f *fixture)
		wantTyp string
		// op is the request type (or REST operation) making the change;
		// calls is how many of them succeed: 1, or 2 for settings that
		// setting again leaves as they are.
		op    string
		calls int
		// flag is the result's field saying this delivery made the change;
		// exactly one of the two answers says so.
		flag string
		// check looks at Mend afterwards.
		check func(t *testing.T, f *fixture)
	}{
		{
			name: "product.create", command: events.CommandProductCreate, wantTyp: events.TypeProductCreated,
			data: func(f *fixture) any { return events.ProductCreate{ProductName: "payments"} },
			op:   mend.ReqCreateProduct, calls: 1, flag: "created",
		},
		{
			name: "product.delete", command: events.CommandProductDelete, wantTyp: events.TypeProductDeleted,
			data: func(f *fixture) any { return events.ProductDelete{ProductRef: events.ProductRef{ProductName: "other"}} },
			op:   mend.ReqDeleteProduct, calls: 1, flag: "deleted",
		},
		{
			name: "product.tag.save", command: events.CommandProductTagSave, wantTyp: events.TypeProductTagged,
			data: func(f *fixture) any {
				return events.ProductTagSave{ProductTag: events.ProductTag{ProductRef: events.ProductRef{ProductName: "demo-product"}, TagKey: "tier", TagValue: "gold"}}
			},
			op: mend.ReqSaveProductTag, calls: 1, flag: "changed",
			check: func(t *testing.T, f *fixture) {
				if tags := productTags(t, f, f.product); !tags.Has("tier", "gold") {
					t.Errorf("product tags %v lack tier=gold", tags)
				}
			},
		},
		{
			name: "product.tag.remove", command: events.CommandProductTagRemove, wantTyp: events.TypeProductUntagged,
			data: func(f *fixture) any {
				return events.ProductTagRemove{ProductTag: events.ProductTag{ProductRef: events.ProductRef{ProductToken: f.product}, TagKey: "team", TagValue: "platform"}}
			},
			op: mend.ReqRemoveProductTag, calls: 1, flag: "changed",
		},
		{
			name: "project.create with tags", command: events.CommandProjectCreate, wantTyp: events.TypeProjectCreated,
			data: func(f *fixture) any {
				return events.ProjectCreate{ProductName: "demo-product", ProjectName: "billing", Tags: map[string]string{"environment": "prod", "team": "money"}}
			},
			op: mend.ReqCreateProject, calls: 1, flag: "created",
			check: func(t *testing.T, f *fixture) {
				tok := projectToken(t, f, f.product, "billing")
				if tags := projectTags(t, f, tok); !tags.Has("environment", "prod") || !tags.Has("team", "money") {
					t.Errorf("project tags %v", tags)
				}
			},
		},
		{
			name: "project.create with its product", command: events.CommandProjectCreate, wantTyp: events.TypeProjectCreated,
			data: func(f *fixture) any {
				return events.ProjectCreate{ProductName: "new-team", ProjectName: "api", CreateProduct: true}
			},
			op: mend.ReqCreateProject, calls: 1, flag: "created",
			check: func(t *testing.T, f *fixture) {
				if projectToken(t, f, productTokenOf(t, f, "new-team"), "api") == "" {
					t.Error("no project api in product new-team")
				}
			},
		},
		{
			name: "project.delete by names", command: events.CommandProjectDelete, wantTyp: events.TypeProjectDeleted,
			data: func(f *fixture) any {
				return events.ProjectDelete{ProjectRef: events.ProjectRef{ProductName: "demo-product", ProjectName: "demo-web"}}
			},
			op: mend.ReqDeleteProject, calls: 1, flag: "deleted",
		},
		{
			name: "project.delete by token", command: events.CommandProjectDelete, wantTyp: events.TypeProjectDeleted,
			data: func(f *fixture) any { return events.ProjectDelete{ProjectRef: events.ProjectRef{ProjectToken: f.web}} },
			op:   mend.ReqDeleteProject, calls: 1, flag: "deleted",
		},
		{
			name: "project.tag.save", command: events.CommandProjectTagSave, wantTyp: events.TypeProjectTagged,
			data: func(f *fixture) any {
				return events.ProjectTagSave{ProjectTag: events.ProjectTag{ProjectRef: events.ProjectRef{ProductName: "demo-product", ProjectName: "demo-api"}, TagKey: "environment", TagValue: "production"}}
			},
			op: mend.ReqSaveProjectTag, calls: 1, flag: "changed",
			check: func(t *testing.T, f *fixture) {
				if tags := projectTags(t, f, f.api); !tags.Has("environment", "production") || !tags.Has("environment", "staging") {
					t.Errorf("project tags %v, want both environments", tags)
				}
			},
		},
		{
			name: "project.tag.remove", command: events.CommandProjectTagRemove, wantTyp: events.TypeProjectUntagged,
			data: func(f *fixture) any {
				return events.ProjectTagRemove{ProjectTag: events.ProjectTag{ProjectRef: events.ProjectRef{ProjectToken: f.api}, TagKey: "environment", TagValue: "staging"}}
			},
			op: mend.ReqRemoveProjectTag, calls: 1, flag: "changed",
		},
		{
			name: "project.reassign by names", command: events.CommandProjectReassign, wantTyp: events.TypeProjectReassigned,
			data: func(f *fixture) any {
				return events.ProjectReassign{ProjectRef: events.ProjectRef{ProductName: "demo-product", ProjectName: "demo-web"}, NewProductName: "other"}
			},
			op: mend.ReqChangeProjectAssignment, calls: 1, flag: "reassigned",
			check: func(t *testing.T, f *fixture) {
				if projectToken(t, f, f.other, "demo-web") != f.web {
					t.Error("demo-web is not in product other")
				}
			},
		},
		{
			name: "project.reassign by tokens", command: events.CommandProjectReassign, wantTyp: events.TypeProjectReassigned,
			data: func(f *fixture) any {
				return events.ProjectReassign{ProjectRef: events.ProjectRef{ProjectToken: f.api}, NewProductToken: f.other}
			},
			op: mend.ReqChangeProjectAssignment, calls: 1, flag: "reassigned",
		},
		{
			// The old product given too, or found in a stale cached list:
			// an earlier copy may have moved the project since.
			name: "project.reassign by token with its old product", command: events.CommandProjectReassign, wantTyp: events.TypeProjectReassigned,
			data: func(f *fixture) any {
				return events.ProjectReassign{ProjectRef: events.ProjectRef{ProjectToken: f.api, ProductToken: f.product}, NewProductToken: f.other}
			},
			op: mend.ReqChangeProjectAssignment, calls: 1, flag: "reassigned",
		},
		{
			// To an owner with no product yet: the product is created once.
			name: "project.reassign creating its product", command: events.CommandProjectReassign, wantTyp: events.TypeProjectReassigned,
			data: func(f *fixture) any {
				return events.ProjectReassign{ProjectRef: events.ProjectRef{ProductName: "demo-product", ProjectName: "demo-web"},
					NewProductName: "acme-platform", CreateProduct: true}
			},
			op: mend.ReqCreateProduct, calls: 1, flag: "productCreated",
			check: func(t *testing.T, f *fixture) {
				if projectToken(t, f, productTokenOf(t, f, "acme-platform"), "demo-web") != f.web {
					t.Error("demo-web is not in product acme-platform")
				}
			},
		},
		{
			name: "project.rename", command: events.CommandProjectRename, wantTyp: events.TypeProjectRenamed,
			data: func(f *fixture) any {
				return events.ProjectRename{ProjectRef: events.ProjectRef{ProductName: "demo-product", ProjectName: "demo-web"}, NewProjectName: "storefront"}
			},
			op: "renameProject", calls: 1, flag: "changed",
			check: func(t *testing.T, f *fixture) {
				if projectToken(t, f, f.product, "storefront") != f.web {
					t.Error("demo-web is not called storefront")
				}
			},
		},
		{
			name: "product.rename", command: events.CommandProductRename, wantTyp: events.TypeProductRenamed,
			data: func(f *fixture) any {
				return events.ProductRename{ProductRef: events.ProductRef{ProductName: "demo-product"}, NewProductName: "acme-inc"}
			},
			op: "renameProduct", calls: 1, flag: "changed",
			check: func(t *testing.T, f *fixture) {
				if productTokenOf(t, f, "acme-inc") != f.product {
					t.Error("demo-product is not called acme-inc")
				}
			},
		},
		{
			name: "policy.add at a global organization", command: events.CommandPolicyAdd, wantTyp: events.TypePolicyAdded,
			data: func(f *fixture) any {
				return events.PolicyAdd{PolicyScope: events.PolicyScope{Scope: events.ScopeGlobalOrganization, Token: f.globalOrg}, Policy: policySpec("global approve")}
			},
			op: mend.ReqAddGlobalOrganizationPolicy, calls: 1, flag: "changed",
		},
		{
			name: "policy.add at the organization", command: events.CommandPolicyAdd, wantTyp: events.TypePolicyAdded,
			data: func(f *fixture) any {
				return events.PolicyAdd{PolicyScope: events.PolicyScope{Scope: events.ScopeOrganization}, Policy: policySpec("org approve")}
			},
			op: mend.ReqAddOrganizationPolicy, calls: 1, flag: "changed",
		},
		{
			name: "policy.add at a product", command: events.CommandPolicyAdd, wantTyp: events.TypePolicyAdded,
			data: func(f *fixture) any {
				return events.PolicyAdd{PolicyScope: events.PolicyScope{Scope: events.ScopeProduct, Token: f.product}, Policy: policySpec("product approve")}
			},
			op: mend.ReqAddProductPolicy, calls: 1, flag: "changed",
		},
		{
			name: "policy.add at a project", command: events.CommandPolicyAdd, wantTyp: events.TypePolicyAdded,
			data: func(f *fixture) any {
				return events.PolicyAdd{PolicyScope: events.PolicyScope{Scope: events.ScopeProject, Token: f.api}, Policy: policySpec("project approve")}
			},
			op: mend.ReqAddProjectPolicy, calls: 1, flag: "changed",
		},
		{
			name: "policy.update", command: events.CommandPolicyUpdate, wantTyp: events.TypePolicyUpdated,
			data: func(f *fixture) any {
				p := events.Policy{ID: f.productPolicy, Name: "Approve Apache 2.0 (reviewed)", Owner: &events.PolicyOwner{Email: admin}}
				return events.PolicyUpdate{PolicyScope: events.PolicyScope{Scope: events.ScopeProduct, Token: f.product}, Policy: p}
			},
			op: mend.ReqUpdateProductPolicy, calls: 1, flag: "changed",
		},
		{
			name: "policy.remove", command: events.CommandPolicyRemove, wantTyp: events.TypePolicyRemoved,
			data: func(f *fixture) any {
				return events.PolicyRemove{PolicyScope: events.PolicyScope{Scope: events.ScopeOrganization}, PolicyIDs: []int{f.orgPolicy}}
			},
			op: mend.ReqRemoveOrganizationPolicies, calls: 1,
		},
		{
			name: "policy.reorder", command: events.CommandPolicyReorder, wantTyp: events.TypePolicyReordered,
			data: func(f *fixture) any {
				return events.PolicyReorder{PolicyScope: events.PolicyScope{Scope: events.ScopeProduct, Token: f.product}, PolicyPriorities: []events.PolicyPriority{{PolicyID: f.productPolicy, Priority: 1}}}
			},
			op: mend.ReqReorderProductPolicyPriorities, calls: 2,
		},
		{
			name: "policy.owner.change", command: events.CommandPolicyOwnerChange, wantTyp: events.TypePolicyOwnerChanged,
			data: func(f *fixture) any {
				return events.PolicyOwnerChange{CurrentPolicyOwnerEmail: admin, NewPolicyOwnerEmail: "appsec.lead@example.com"}
			},
			op: mend.ReqChangeOrganizationPolicyOwner, calls: 2,
		},
		{
			name: "setup.notification.set", command: events.CommandSetupNotificationSet, wantTyp: events.TypeSetupNotificationConfigured,
			data: func(f *fixture) any {
				return events.SetupNotificationSet{Action: events.SetupNotificationCustom, ProjectTagKeyRegex: "^env$", ProjectTagValueRegex: "^prod"}
			},
			op: mend.ReqSetProjectSetupNotificationConfig, calls: 2,
		},
		{
			name: "inhouse.unmark", command: events.CommandInHouseUnmark, wantTyp: events.TypeInHouseUnmarked,
			data: func(f *fixture) any { return events.InHouseUnmark{KeyUUID: manualInHouse} },
			op:   mend.ReqUnmarkManualInHouseLibrary, calls: 1, flag: "unmarked",
		},
		{
			name: "pending.task.close", command: events.CommandPendingTaskClose, wantTyp: events.TypePendingTaskClosed,
			data: func(f *fixture) any { return events.PendingTaskClose{TaskUUID: f.task} },
			// Mend answers the second "not closed", without an error.
			op: mend.ReqClosePendingTask, calls: 2, flag: "closed",
		},
		{
			name: "globalorg.assign", command: events.CommandGlobalOrgAssign, wantTyp: events.TypeGlobalOrgAssigned,
			data: func(f *fixture) any {
				return events.GlobalOrgAssign{GlobalOrgLink: events.GlobalOrgLink{GlobalOrgToken: f.globalOrg}}
			},
			op: mend.ReqAssignGlobalOrgToOrg, calls: 1, flag: "changed",
		},
		{
			name: "globalorg.remove", command: events.CommandGlobalOrgRemove, wantTyp: events.TypeGlobalOrgRemoved,
			setup: func(t *testing.T, f *fixture) {
				if _, _, err := f.client.GlobalOrganizations.AssignToOrg(context.Background(), &mend.GlobalOrgAssignmentRequest{OrgToken: f.org, GlobalOrgToken: f.globalOrg}); err != nil {
					t.Fatal(err)
				}
			},
			data: func(f *fixture) any {
				return events.GlobalOrgRemove{GlobalOrgLink: events.GlobalOrgLink{GlobalOrgToken: f.globalOrg}}
			},
			op: mend.ReqRemoveGlobalOrgFromOrg, calls: 1, flag: "changed",
		},
		{
			name: "group.create", command: events.CommandGroupCreate, wantTyp: events.TypeGroupCreated,
			data: func(f *fixture) any { return events.GroupCreate{Name: "developers", Description: "people who code"} },
			op:   "createGroup", calls: 1, flag: "changed",
		},
		{
			name: "group.update", command: events.CommandGroupUpdate, wantTyp: events.TypeGroupUpdated,
			data: func(f *fixture) any {
				return events.GroupUpdate{GroupRef: events.GroupRef{GroupName: "admins"}, Name: "administrators", Description: "they administer"}
			},
			// The second copy finds the group as asked: no call, and
			// changed false.
			op: "updateGroup", calls: 1, flag: "changed",
		},
		{
			name: "group.delete", command: events.CommandGroupDelete, wantTyp: events.TypeGroupDeleted,
			data: func(f *fixture) any { return events.GroupDelete{GroupRef: events.GroupRef{GroupName: "users"}} },
			op:   "deleteGroup", calls: 1, flag: "changed",
		},
		{
			name: "group.users.add", command: events.CommandGroupUsersAdd, wantTyp: events.TypeGroupUsersAdded,
			data: func(f *fixture) any {
				return events.GroupUsersAdd{GroupUsers: events.GroupUsers{GroupRef: events.GroupRef{GroupName: "admins"}, UserEmails: []string{"bob@example.com", "alice@example.com"}}}
			},
			op: "addGroupUsers", calls: 1,
		},
		{
			name: "group.users.remove", command: events.CommandGroupUsersRemove, wantTyp: events.TypeGroupUsersRemoved,
			data: func(f *fixture) any {
				return events.GroupUsersRemove{GroupUsers: events.GroupUsers{GroupRef: events.GroupRef{GroupName: "admins"}, UserEmails: []string{"alice@example.com"}}}
			},
			op: "removeGroupUser", calls: 1,
		},
		{
			name: "group.roles.add", command: events.CommandGroupRolesAdd, wantTyp: events.TypeGroupRolesAdded,
			data: func(f *fixture) any {
				return events.GroupRolesAdd{GroupRole: events.GroupRole{GroupRef: events.GroupRef{GroupName: "admins"}, ContextToken: f.product, ContextType: events.ContextProducts, Role: "DEFAULT_APPROVER"}}
			},
			op: "addGroupRole", calls: 1, flag: "changed",
		},
		{
			name: "group.roles.remove", command: events.CommandGroupRolesRemove, wantTyp: events.TypeGroupRolesRemoved,
			data: func(f *fixture) any {
				return events.GroupRolesRemove{GroupRole: events.GroupRole{GroupRef: events.GroupRef{GroupName: "admins"}, ContextToken: f.org, ContextType: events.ContextOrgs, Role: "ADMIN"}}
			},
			op: "removeGroupRole", calls: 1, flag: "changed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			f := newFixture(t, h)
			if tt.setup != nil {
				tt.setup(t, f)
				h.sim.ResetCalls()
			}
			cmd := h.command(tt.command, tt.data(f))
			h.publish(cmd, "copy-1")
			h.publish(cmd, "copy-2")
			h.startWorker(nil)
			h.twoAnswers(cmd, tt.wantTyp, tt.flag)
			if n := h.okCalls(tt.op); n != tt.calls {
				t.Errorf("%s succeeded %d times in Mend, want %d", tt.op, n, tt.calls)
			}
			if tt.check != nil {
				tt.check(t, f)
			}
			if n := len(h.streamMsgs(events.StreamDLQ)); n != 0 {
				t.Errorf("%d dead letters, want none", n)
			}
		})
	}
}

// TestGlobalOrgCreateAtMostOnce: Mend cannot tell whether a global
// organization was created, so a second copy of the command is not run but
// kept as a dead letter for an operator.
func TestGlobalOrgCreateAtMostOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	cmd := h.command(events.CommandGlobalOrgCreate, events.GlobalOrgCreate{Name: "holding", AccountAdminEmail: admin})
	h.publish(cmd, "copy-1")
	h.publish(cmd, "copy-2")
	h.startWorker(nil)
	var got []event.Event
	servicetest.Eventually(t, 10*time.Second, func() bool { got = h.answers(cmd.ID()); return len(got) == 2 }, "two answers")
	types := []string{got[0].Type(), got[1].Type()}
	slices.Sort(types)
	if want := []string{events.TypeCommandFailed, events.TypeGlobalOrgCreated}; !slices.Equal(types, want) {
		t.Errorf("answers %v, want %v", types, want)
	}
	if n := h.okCalls(mend.ReqCreateGlobalOrg); n != 1 {
		t.Errorf("createGlobalOrg succeeded %d times, want once", n)
	}
	if n := len(h.streamMsgs(events.StreamDLQ)); n != 1 {
		t.Errorf("%d dead letters, want 1", n)
	}
}

// TestPoliciesApplyHandsToPoller: the process Mend starts is handed to the
// poller with the chain's extensions; the worker itself publishes no
// result.
func TestPoliciesApplyHandsToPoller(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		scope string
		token func(f *fixture) string
		op    string
	}{
		{"organization", events.ScopeOrganization, func(f *fixture) string { return "" }, "applyOrganizationPolicies"},
		{"product", events.ScopeProduct, func(f *fixture) string { return f.product }, "applyProductPolicies"},
		{"project", events.ScopeProject, func(f *fixture) string { return f.api }, "applyProjectPolicies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			f := newFixture(t, h)
			h.startWorker(nil)
			cmd := h.send(events.CommandPoliciesApply, events.PoliciesApply{Scope: tt.scope, Token: tt.token(f)})
			var items []event.Event
			servicetest.Eventually(t, 10*time.Second, func() bool { items = h.events(events.StreamTracking); return len(items) == 1 }, "a track item")
			it := items[0]
			d := data(t, it)
			wantToken := tt.token(f)
			if wantToken == "" {
				wantToken = f.org
			}
			if it.Type() != events.TrackType(events.TrackProcess) || d["processUuid"] == "" || d["scope"] != tt.scope || d["token"] != wantToken || d["orgToken"] != f.org {
				t.Errorf("track item %s %v", it.Type(), d)
			}
			if events.Extension(it, events.ExtCausationID) != cmd.ID() || !continuesTrace(events.Extension(it, events.ExtTraceparent)) {
				t.Errorf("track item extensions %v", it.Extensions())
			}
			if n := h.okCalls(tt.op); n != 1 {
				t.Errorf("%s succeeded %d times, want once", tt.op, n)
			}
			process, _, err := f.client.Organizations.ProcessStatus(context.Background(), f.org, d["processUuid"].(string))
			if err != nil || process.ProcessType != mend.ProcessTypeApplyPolicies {
				t.Errorf("process %+v: %v", process, err)
			}
			servicetest.Eventually(t, 5*time.Second, func() bool { return h.commandsLeft() == 0 }, "the command to be acknowledged")
			if n := len(h.events(events.StreamEvents)); n != 0 {
				t.Errorf("%d result events; the poller reports, not the worker", n)
			}
		})
	}
}

// TestTagBeforeItsProject: a tag for a project that does not exist yet
// waits for it; one for a project that never comes fails once the wait is
// over.
func TestTagBeforeItsProject(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"WORKER_NOT_FOUND_WAIT": "2s"})
	h.startWorker(nil)
	ref := events.ProjectRef{ProductName: "demo-product", ProjectName: "late"}
	tag := h.send(events.CommandProjectTagSave, events.ProjectTagSave{ProjectTag: events.ProjectTag{ProjectRef: ref, TagKey: "environment", TagValue: "prod"}})
	never := h.send(events.CommandProjectTagSave, events.ProjectTagSave{ProjectTag: events.ProjectTag{
		ProjectRef: events.ProjectRef{ProductName: "demo-product", ProjectName: "never"}, TagKey: "k", TagValue: "v",
	}})
	servicetest.Eventually(t, 10*time.Second, func() bool { return h.retried(tag.ID()) && h.retried(never.ID()) }, "both tags to wait for their project")
	create := h.send(events.CommandProjectCreate, events.ProjectCreate{ProductName: "demo-product", ProjectName: "late"})
	h.waitAnswer(create.ID(), 5*time.Second)

	got := h.waitAnswer(tag.ID(), 5*time.Second)
	if got.Type() != events.TypeProjectTagged || data(t, got)["changed"] != true {
		t.Errorf("tag answered %s %s, want the project tagged", got.Type(), got.Data())
	}
	got = h.waitAnswer(never.ID(), 10*time.Second)
	if got.Type() != events.TypeCommandFailed || data(t, got)["reason"] != events.FailNotFound {
		t.Errorf("tag of a project never there answered %s %s, want a failure: not found", got.Type(), got.Data())
	}
	if age := got.Time().Sub(never.Time()); age < 2*time.Second {
		t.Errorf("gave up after %v, before the 2s wait", age)
	}
}

func productTokenOf(t *testing.T, f *fixture, name string) string {
	t.Helper()
	resp, _, err := f.client.Products.List(context.Background(), &mend.GetAllProductsRequest{OrgToken: f.org})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range resp.Products {
		if p.ProductName == name {
			return p.ProductToken
		}
	}
	return ""
}

func projectToken(t *testing.T, f *fixture, product, name string) string {
	t.Helper()
	resp, _, err := f.client.Projects.List(context.Background(), &mend.GetAllProjectsRequest{ProductToken: product})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range resp.Projects {
		if p.ProjectName == name {
			return p.ProjectToken
		}
	}
	return ""
}

func projectTags(t *testing.T, f *fixture, token string) mend.Tags {
	t.Helper()
	resp, _, err := f.client.Projects.GetTags(context.Background(), &mend.GetProjectTagsRequest{ProjectToken: token})
	if err != nil || len(resp.ProjectTags) != 1 {
		t.Fatalf("project tags: %v", err)
	}
	return resp.ProjectTags[0].Tags
}

func productTags(t *testing.T, f *fixture, token string) mend.Tags {
	t.Helper()
	resp, _, err := f.client.Products.GetTags(context.Background(), &mend.GetProductTagsRequest{ProductToken: token})
	if err != nil || len(resp.ProductTags) != 1 {
		t.Fatalf("product tags: %v", err)
	}
	return resp.ProductTags[0].Tags
}

// answerLost is a proxy in front of the simulator that lets the first call
// of op through and then answers it 502, as a gateway timing out on a
// slow Mend does: the change is made, its answer lost.
func answerLost(t *testing.T, target, op string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var once atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if strings.Contains(string(body), `"requestType":"`+op+`"`) && once.CompareAndSwap(false, true) {
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r)
			http.Error(w, "upstream timed out", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestInDoubtCreateIsNotRepeatedInTheCall: with the client's own quick
// retries on (MEND_RETRY_ATTEMPTS), a createGlobalOrg or addPolicy whose
// answer is lost must not be sent again within the call: Mend refuses
// neither a second global organization nor a second policy of one name.
func TestInDoubtCreateIsNotRepeatedInTheCall(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		op, command string
		data        func(f *fixture) any
	}{
		{mend.ReqCreateGlobalOrg, events.CommandGlobalOrgCreate, func(*fixture) any {
			return events.GlobalOrgCreate{Name: "holding-2", AccountAdminEmail: admin}
		}},
		{mend.ReqAddProductPolicy, events.CommandPolicyAdd, func(f *fixture) any {
			return events.PolicyAdd{PolicyScope: events.PolicyScope{Scope: events.ScopeProduct, Token: f.product}, Policy: policySpec("approve MIT")}
		}},
		{mend.ReqRemoveProductPolicies, events.CommandPolicyRemove, func(f *fixture) any {
			return events.PolicyRemove{PolicyScope: events.PolicyScope{Scope: events.ScopeProduct, Token: f.product}, PolicyIDs: []int{f.productPolicy}}
		}},
		{mend.ReqUpdateProductPolicy, events.CommandPolicyUpdate, func(f *fixture) any {
			p := policySpec("approve Apache 2.0, renamed")
			p.ID = f.productPolicy
			return events.PolicyUpdate{PolicyScope: events.PolicyScope{Scope: events.ScopeProduct, Token: f.product}, Policy: p}
		}},
	} {
		t.Run(tt.op, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			f := newFixture(t, h)
			h.startWorker(map[string]string{"MEND_URL": answerLost(t, h.sim.URL, tt.op), "MEND_RETRY_ATTEMPTS": "3"})
			cmd := h.send(tt.command, tt.data(f))
			if e := h.waitAnswer(cmd.ID(), 15*time.Second); e.Type() == events.TypeCommandFailed && tt.command != events.CommandGlobalOrgCreate {
				t.Errorf("answer %s %s", e.Type(), e.Data())
			}
			if n := h.okCalls(tt.op); n != 1 {
				t.Errorf("%s succeeded %d times in Mend, want once", tt.op, n)
			}
		})
	}
}

// TestProjectCreatedNamesItsProduct: the contract's project.created holds
// productName, also for a command naming the product by its token.
func TestProjectCreatedNamesItsProduct(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	f := newFixture(t, h)
	h.startWorker(nil)
	cmd := h.send(events.CommandProjectCreate, events.ProjectCreate{ProductToken: f.product, ProjectName: "ledger"})
	e := h.waitAnswer(cmd.ID(), 10*time.Second)
	d := data(t, e)
	if e.Type() != events.TypeProjectCreated || d["productName"] != "demo-product" || d["productToken"] != f.product || d["created"] != true {
		t.Errorf("answer %s %s, want project.created with productName demo-product", e.Type(), e.Data())
	}
}

// orgUUID is the demo organization's UUID, which the v2.0 login answers.
func orgUUID(t *testing.T, h *harness) string {
	t.Helper()
	body := `{"email":"` + admin + `","userKey":"` + mendsim.DefaultUserKey + `","orgToken":"` + h.sim.OrgToken() + `"}`
	resp, err := http.Post(h.sim.URL+"/api/v2.0/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		RetVal struct {
			OrgUUID string `json:"orgUuid"`
		} `json:"retVal"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.RetVal.OrgUUID == "" {
		t.Fatalf("login: %v, orgUuid %q", err, out.RetVal.OrgUUID)
	}
	return out.RetVal.OrgUUID
}

// TestGroupRoleOnOrgByUUIDTwice: a role on the organization may name it by
// its UUID, as Mend's pages do; Mend lists the role by the organization's
// token. Stored twice, group.roles.add grants it once, and one answer says
// so; group.roles.remove then takes it away once.
func TestGroupRoleOnOrgByUUIDTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	role := events.GroupRole{GroupRef: events.GroupRef{GroupName: "users"}, ContextToken: orgUUID(t, h), ContextType: events.ContextOrgs, Role: "AUDITOR"}
	add := h.command(events.CommandGroupRolesAdd, events.GroupRolesAdd{GroupRole: role})
	h.publish(add, "copy-1")
	h.publish(add, "copy-2")
	h.startWorker(nil)
	h.twoAnswers(add, events.TypeGroupRolesAdded, "changed")
	if n := h.okCalls("addGroupRole"); n != 1 {
		t.Errorf("addGroupRole succeeded %d times in Mend, want once", n)
	}

	remove := h.send(events.CommandGroupRolesRemove, events.GroupRolesRemove{GroupRole: role})
	if e := h.waitAnswer(remove.ID(), 10*time.Second); e.Type() != events.TypeGroupRolesRemoved || data(t, e)["changed"] != true {
		t.Errorf("remove answered %s %s, want the role removed", e.Type(), e.Data())
	}
	if n := h.okCalls("removeGroupRole"); n != 1 {
		t.Errorf("removeGroupRole succeeded %d times in Mend, want once", n)
	}
}

// TestGroupNamedWithSpacesRedelivered: Mend trims a group's name and
// refuses one that differs from another only in letter case. A
// group.create whose name has a trailing space, carried out by a worker
// that then died before acknowledging, is delivered to a fresh worker:
// that one finds the group, rather than being refused and giving up for a
// group "not found". Likewise a group.update renaming to such a name.
func TestGroupNamedWithSpacesRedelivered(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, command, op, wantTyp string
		data                       any
	}{
		{"create", events.CommandGroupCreate, "createGroup", events.TypeGroupCreated, events.GroupCreate{Name: "Developers "}},
		{"update", events.CommandGroupUpdate, "updateGroup", events.TypeGroupUpdated, events.GroupUpdate{GroupRef: events.GroupRef{GroupName: "admins"}, Name: " Administrators", Description: "they administer"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			cmd := h.command(tt.command, tt.data)
			h.publish(cmd, "copy-1")
			first := h.startWorker(nil)
			h.waitAnswer(cmd.ID(), 10*time.Second)
			if err := first.stop(); err != nil {
				t.Fatal(err)
			}
			h.publish(cmd, "copy-2") // as the first delivery again, to a worker knowing nothing
			h.startWorker(nil)
			h.twoAnswers(cmd, tt.wantTyp, "changed")
			if n := h.okCalls(tt.op); n != 1 {
				t.Errorf("%s succeeded %d times in Mend, want once", tt.op, n)
			}
		})
	}
}
