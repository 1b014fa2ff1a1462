package events_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mendflow/mendflow/pkg/events"
)

func TestOperationCommandsDecode(t *testing.T) {
	t.Parallel()
	reg := events.NewRegistry()
	tests := []struct {
		name    string
		command string
		data    string
		want    events.CommandData
		wantErr string // part of the validation error; "" for success
	}{
		{
			name: "product delete by name", command: events.CommandProductDelete,
			data: `{"productName":"payments"}`,
			want: &events.ProductDelete{ProductRef: events.ProductRef{ProductName: "payments"}},
		},
		{
			name: "product delete needs a product", command: events.CommandProductDelete,
			data: `{"orgToken":"o"}`, wantErr: "productToken or productName is required",
		},
		{
			name: "product tag save", command: events.CommandProductTagSave,
			data: `{"productToken":"p","tagKey":"team","tagValue":"core"}`,
			want: &events.ProductTagSave{ProductTag: events.ProductTag{ProductRef: events.ProductRef{ProductToken: "p"}, TagKey: "team", TagValue: "core"}},
		},
		{
			name: "product tag remove needs a value", command: events.CommandProductTagRemove,
			data: `{"productToken":"p","tagKey":"team"}`, wantErr: "tagValue is required",
		},
		{
			name: "policy add at a product", command: events.CommandPolicyAdd,
			data: `{"scope":"product","token":"p","policy":{"name":"no GPL","owner":{"email":"a@example.com"},"filter":{"type":"LICENSE","licenses":[{"name":"GPL 3"}]},"action":{"type":"REJECT"}}}`,
			want: &events.PolicyAdd{
				PolicyScope: events.PolicyScope{Scope: events.ScopeProduct, Token: "p"},
				Policy: events.Policy{
					Name: "no GPL", Owner: &events.PolicyOwner{Email: "a@example.com"},
					Filter: &events.PolicyFilter{Type: "LICENSE", Licenses: []events.PolicyLicense{{Name: "GPL 3"}}},
					Action: &events.PolicyAction{Type: "REJECT"},
				},
			},
		},
		{
			name: "policy add at the organization needs no token", command: events.CommandPolicyAdd,
			data: `{"scope":"organization","policy":{"name":"n","owner":{"id":7},"filter":{"type":"LICENSE"},"action":{"type":"APPROVE"}}}`,
			want: &events.PolicyAdd{
				PolicyScope: events.PolicyScope{Scope: events.ScopeOrganization},
				Policy: events.Policy{
					Name: "n", Owner: &events.PolicyOwner{ID: 7},
					Filter: &events.PolicyFilter{Type: "LICENSE"}, Action: &events.PolicyAction{Type: "APPROVE"},
				},
			},
		},
		{
			name: "policy add at a global organization needs its token", command: events.CommandPolicyAdd,
			data:    `{"scope":"globalOrganization","policy":{"name":"n","owner":{"id":7},"filter":{"type":"LICENSE"},"action":{"type":"APPROVE"}}}`,
			wantErr: "token is required for scope globalOrganization",
		},
		{
			name: "policy add with an unknown scope", command: events.CommandPolicyAdd,
			data: `{"scope":"team","token":"t","policy":{}}`, wantErr: `scope must be`,
		},
		{
			name: "policy add with an id", command: events.CommandPolicyAdd,
			data:    `{"scope":"project","token":"t","policy":{"id":3,"name":"n","owner":{"id":7},"filter":{"type":"LICENSE"},"action":{"type":"APPROVE"}}}`,
			wantErr: "policy.id must not be set",
		},
		{
			name: "policy add without owner", command: events.CommandPolicyAdd,
			data:    `{"scope":"project","token":"t","policy":{"name":"n","filter":{"type":"LICENSE"},"action":{"type":"APPROVE"}}}`,
			wantErr: "policy.owner needs id or email",
		},
		{
			name: "policy add with an action without type", command: events.CommandPolicyAdd,
			data:    `{"scope":"project","token":"t","policy":{"name":"n","owner":{"id":1},"filter":{"type":"LICENSE"},"action":{}}}`,
			wantErr: "policy.action.type is required",
		},
		{
			name: "policy add with an unknown policy field", command: events.CommandPolicyAdd,
			data:    `{"scope":"project","token":"t","policy":{"name":"n","owner":{"id":1},"filter":{"type":"LICENSE","colour":"red"},"action":{"type":"A"}}}`,
			wantErr: `unknown field "colour"`,
		},
		{
			name: "policy update needs the id", command: events.CommandPolicyUpdate,
			data: `{"scope":"product","token":"p","policy":{"name":"n","owner":{"id":1}}}`, wantErr: "policy.id is required",
		},
		{
			name: "policy remove", command: events.CommandPolicyRemove,
			data: `{"scope":"project","token":"t","policyIds":[2,3]}`,
			want: &events.PolicyRemove{PolicyScope: events.PolicyScope{Scope: events.ScopeProject, Token: "t"}, PolicyIDs: []int{2, 3}},
		},
		{
			name: "policy remove needs ids", command: events.CommandPolicyRemove,
			data: `{"scope":"project","token":"t","policyIds":[]}`, wantErr: "policyIds is required",
		},
		{
			name: "policy reorder with a policy twice", command: events.CommandPolicyReorder,
			data:    `{"scope":"organization","policyPriorities":[{"policyId":1,"priority":1},{"policyId":1,"priority":2}]}`,
			wantErr: "appears twice",
		},
		{
			name: "policy owner change needs e-mails", command: events.CommandPolicyOwnerChange,
			data:    `{"currentPolicyOwnerEmail":"a@example.com","newPolicyOwnerEmail":"bob"}`,
			wantErr: `newPolicyOwnerEmail: "bob" is not an e-mail address`,
		},
		{
			name: "custom setup notification", command: events.CommandSetupNotificationSet,
			data: `{"action":"CUSTOM","projectTagKeyRegex":"^[0-9]*$","projectTagValueRegex":"^(v)"}`,
			want: &events.SetupNotificationSet{Action: "CUSTOM", ProjectTagKeyRegex: "^[0-9]*$", ProjectTagValueRegex: "^(v)"},
		},
		{
			name: "custom setup notification with a broken regex", command: events.CommandSetupNotificationSet,
			data: `{"action":"CUSTOM","projectTagKeyRegex":"(","projectTagValueRegex":"x"}`, wantErr: "projectTagKeyRegex is not a valid regular expression",
		},
		{
			name: "setup notification with regexes but not custom", command: events.CommandSetupNotificationSet,
			data: `{"action":"ENABLED","projectTagKeyRegex":"x"}`, wantErr: "go with action CUSTOM only",
		},
		{
			name: "in-house unmark", command: events.CommandInHouseUnmark,
			data: `{"keyUuid":"k"}`, want: &events.InHouseUnmark{KeyUUID: "k"},
		},
		{
			name: "pending task close with Mend's capitals", command: events.CommandPendingTaskClose,
			data: `{"taskuuid":"t"}`, wantErr: `unknown field "taskuuid" (did you mean "taskUUID"?)`,
		},
		{
			name: "global organization create", command: events.CommandGlobalOrgCreate,
			data: `{"name":"g","accountAdminEmail":"admin@example.com"}`,
			want: &events.GlobalOrgCreate{Name: "g", AccountAdminEmail: "admin@example.com"},
		},
		{
			name: "global organization assign", command: events.CommandGlobalOrgAssign,
			data: `{"globalOrgToken":"g"}`,
			want: &events.GlobalOrgAssign{GlobalOrgLink: events.GlobalOrgLink{GlobalOrgToken: "g"}},
		},
		{
			name: "global organization remove needs its token", command: events.CommandGlobalOrgRemove,
			data: `{"orgToken":"o"}`, wantErr: "globalOrgToken is required",
		},
		{
			name: "group create", command: events.CommandGroupCreate,
			data: `{"name":"devs","description":"d"}`, want: &events.GroupCreate{Name: "devs", Description: "d"},
		},
		{
			name: "group update by name", command: events.CommandGroupUpdate,
			data: `{"groupName":"devs","name":"developers"}`,
			want: &events.GroupUpdate{GroupRef: events.GroupRef{GroupName: "devs"}, Name: "developers"},
		},
		{
			name: "group delete needs the group", command: events.CommandGroupDelete,
			data: `{}`, wantErr: "groupUuid or groupName is required",
		},
		// Blank is missing here too, as in the contract's commands.
		{
			name: "policy remove with a blank token", command: events.CommandPolicyRemove,
			data: `{"scope":"product","token":" ","policyIds":[3]}`, wantErr: "token or productName is required for scope product",
		},
		{
			name: "policy add at a project by names", command: events.CommandPolicyAdd,
			data: `{"scope":"project","productName":"acme","projectName":"api","policy":{"name":"p","owner":{"email":"a@example.com"},"filter":{"type":"LICENSE"},"action":{"type":"REJECT"}}}`,
			want: &events.PolicyAdd{
				PolicyScope: events.PolicyScope{Scope: events.ScopeProject, ProductName: "acme", ProjectName: "api"},
				Policy:      events.Policy{Name: "p", Owner: &events.PolicyOwner{Email: "a@example.com"}, Filter: &events.PolicyFilter{Type: "LICENSE"}, Action: &events.PolicyAction{Type: "REJECT"}},
			},
		},
		{
			name: "policy reorder by names", command: events.CommandPolicyReorder,
			data: `{"scope":"product","productName":"acme","policyNames":["b","a"]}`,
			want: &events.PolicyReorder{PolicyScope: events.PolicyScope{Scope: events.ScopeProduct, ProductName: "acme"}, PolicyNames: []string{"b", "a"}},
		},
		{
			name: "policy reorder by names and ids", command: events.CommandPolicyReorder,
			data:    `{"scope":"organization","policyNames":["b"],"policyPriorities":[{"policyId":1,"priority":1}]}`,
			wantErr: "policyPriorities and policyNames both order the policies: give one",
		},
		{
			name: "policy reorder with a name twice", command: events.CommandPolicyReorder,
			data: `{"scope":"organization","policyNames":["b","b"]}`, wantErr: `policyNames: "b" appears twice`,
		},
		{
			name: "policy reorder with nothing to order", command: events.CommandPolicyReorder,
			data: `{"scope":"organization"}`, wantErr: "policyPriorities or policyNames is required",
		},
		{
			name: "group delete with a blank name", command: events.CommandGroupDelete,
			data: `{"groupName":"  "}`, wantErr: "groupUuid or groupName is required",
		},
		{
			name: "group users add", command: events.CommandGroupUsersAdd,
			data: `{"groupUuid":"u","userEmails":["a@example.com"]}`,
			want: &events.GroupUsersAdd{GroupUsers: events.GroupUsers{GroupRef: events.GroupRef{GroupUUID: "u"}, UserEmails: []string{"a@example.com"}}},
		},
		{
			name: "group users remove with a bad e-mail", command: events.CommandGroupUsersRemove,
			data: `{"groupUuid":"u","userEmails":["a"]}`, wantErr: "is not an e-mail address",
		},
		{
			name: "group roles add", command: events.CommandGroupRolesAdd,
			data: `{"groupName":"devs","contextToken":"p","contextType":"products","role":"ADMIN"}`,
			want: &events.GroupRolesAdd{GroupRole: events.GroupRole{GroupRef: events.GroupRef{GroupName: "devs"}, ContextToken: "p", ContextType: "products", Role: "ADMIN"}},
		},
		{
			name: "group roles remove with a bad context type", command: events.CommandGroupRolesRemove,
			data: `{"groupName":"devs","contextToken":"p","contextType":"teams","role":"ADMIN"}`, wantErr: "contextType must be",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := reg.Decode(tt.command, []byte(tt.data))
			if tt.wantErr != "" {
				var verr *events.ValidationError
				if !errors.As(err, &verr) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Decode = %v, want a *ValidationError containing %q", err, tt.wantErr)
				}
				if verr.Command != tt.command {
					t.Errorf("ValidationError.Command = %q, want %q", verr.Command, tt.command)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestOperationCommandsRegistered(t *testing.T) {
	t.Parallel()
	names := events.NewRegistry().Names()
	for _, want := range []string{
		events.CommandProductCreate, events.CommandRequestTrack, // the contract's stay
		events.CommandProductDelete, events.CommandPolicyReorder, events.CommandGroupRolesRemove,
	} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("command %s is not registered; have %v", want, names)
		}
	}
	if got, want := len(names), 11+21; got != want {
		t.Errorf("%d commands registered, want %d: %v", got, want, names)
	}
}
