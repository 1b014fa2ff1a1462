package mend_test

import (
	"context"
	"net/http"
	"path"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// wantSent fails unless the last call of op went out as method path with
// the body want (nil for none).
func wantSent(t *testing.T, sim *mendsim.Server, op, method, path string, want any) {
	t.Helper()
	call := lastCall(t, sim, op)
	if call.Method != method || call.Path != path {
		t.Errorf("%s went out as %s %s, want %s %s", op, call.Method, call.Path, method, path)
	}
	if diff := cmp.Diff(want, sentBody(t, sim, op)); diff != "" {
		t.Errorf("%s body (-want, +got):\n%s", op, diff)
	}
}

// groupNamed finds a group of the demo organization by name.
func groupNamed(t *testing.T, c *mend.Client, name string) mend.GroupSummary {
	t.Helper()
	gs, _, err := c.Groups.List(context.Background(), orgToken, &mend.ListOptions{Search: "name:equals:" + name})
	if err != nil || len(gs) != 1 {
		t.Fatalf("group %q: got %v, %v", name, gs, err)
	}
	return gs[0]
}

// groupsPath is the path of the demo organization's groups, or below.
func groupsPath(rest ...string) string {
	return path.Join(append([]string{"/api/v2.0/orgs", orgToken, "groups"}, rest...)...)
}

func TestGroupsCreateGetUpdateDelete(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()

	created, _, err := c.Groups.Create(ctx, orgToken, &mend.GroupRequest{Name: "Group A", Description: "Group description"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	wantSent(t, sim, "createGroup", http.MethodPost, groupsPath(),
		map[string]any{"name": "Group A", "description": "Group description"})
	want := mend.Group{UUID: created.UUID, Name: "Group A", Description: "Group description"}
	if diff := cmp.Diff(want, *created); diff != "" {
		t.Errorf("Create (-want, +got):\n%s", diff)
	}

	got, _, err := c.Groups.Get(ctx, orgToken, created.UUID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := cmp.Diff(want, *got); diff != "" {
		t.Errorf("Get (-want, +got):\n%s", diff)
	}
	wantSent(t, sim, "getGroup", http.MethodGet, groupsPath(created.UUID), nil)

	_, _, err = c.Groups.Create(ctx, orgToken, &mend.GroupRequest{Name: "group a"})
	wantStatus(t, err, http.StatusBadRequest, "Group A")

	updated, _, err := c.Groups.Update(ctx, orgToken, created.UUID, &mend.GroupRequest{Name: "Group B", Description: "renamed"})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	wantSent(t, sim, "updateGroup", http.MethodPut, groupsPath(created.UUID),
		map[string]any{"name": "Group B", "description": "renamed"})
	if updated.Name != "Group B" || updated.Description != "renamed" {
		t.Errorf("Update answered %+v", updated)
	}
	if got := groupNamed(t, c, "Group B"); got.UUID != created.UUID || got.Description != "renamed" {
		t.Errorf("List after Update: %+v", got)
	}
	_, _, err = c.Groups.Update(ctx, orgToken, created.UUID, &mend.GroupRequest{Name: "admins"})
	wantStatus(t, err, http.StatusBadRequest, "admins")
	_, _, err = c.Groups.Update(ctx, orgToken, created.UUID, &mend.GroupRequest{Description: "no name"})
	wantStatus(t, err, http.StatusBadRequest, "name")

	msg, _, err := c.Groups.Delete(ctx, orgToken, created.UUID)
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if msg.Message != "Success!" {
		t.Errorf("Delete answered %q", msg.Message)
	}
	wantSent(t, sim, "deleteGroup", http.MethodDelete, groupsPath(created.UUID), nil)

	_, _, err = c.Groups.Get(ctx, orgToken, created.UUID)
	wantStatus(t, err, http.StatusBadRequest, created.UUID)
	if !mend.IsNotFound(err) {
		t.Errorf("IsNotFound(%v) = false", err)
	}
	_, _, err = c.Groups.Delete(ctx, orgToken, created.UUID)
	wantStatus(t, err, http.StatusBadRequest)
}

func TestGroupsUsers(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()
	g, _, err := c.Groups.Create(ctx, orgToken, &mend.GroupRequest{Name: "reviewers"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}

	if _, _, err := c.Groups.AddUsers(ctx, orgToken, g.UUID, []string{"alice@example.com", "Bob@Example.com"}); err != nil {
		t.Fatalf("AddUsers: %v", err)
	}
	wantSent(t, sim, "addGroupUsers", http.MethodPost, groupsPath(g.UUID, "users"),
		map[string]any{"userEmails": []any{"alice@example.com", "Bob@Example.com"}})

	users, _, err := c.Groups.ListUsers(ctx, orgToken, g.UUID, nil)
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	wantSent(t, sim, "listGroupUsers", http.MethodGet, groupsPath(g.UUID, "users"), nil)
	if len(users) != 2 {
		t.Fatalf("ListUsers: %+v, want alice and bob", users)
	}
	alice := mend.UserInfo{UUID: users[0].UUID, Name: "Alice Smith", Email: "alice@example.com", UserType: "REGULAR", AccountStatus: "ACTIVE"}
	if diff := cmp.Diff(alice, users[0]); diff != "" {
		t.Errorf("first user (-want, +got):\n%s", diff)
	}
	if got, _, _ := c.Groups.Get(ctx, orgToken, g.UUID); got.UserCount != 2 {
		t.Errorf("userCount %d, want 2", got.UserCount)
	}

	// An address that is not a user of the organization adds nobody.
	_, _, err = c.Groups.AddUsers(ctx, orgToken, g.UUID, []string{"carol@example.com", "mallory@example.com"})
	wantStatus(t, err, http.StatusBadRequest, "mallory@example.com")
	_, _, err = c.Groups.AddUsers(ctx, orgToken, g.UUID, nil)
	wantStatus(t, err, http.StatusBadRequest, "userEmails")
	if got, _, _ := c.Groups.Get(ctx, orgToken, g.UUID); got.UserCount != 2 {
		t.Errorf("userCount %d after refused adds, want 2", got.UserCount)
	}

	if _, _, err := c.Groups.RemoveUser(ctx, orgToken, g.UUID, alice.UUID); err != nil {
		t.Fatalf("RemoveUser: %v", err)
	}
	wantSent(t, sim, "removeGroupUser", http.MethodDelete, groupsPath(g.UUID, "users", alice.UUID), nil)
	users, _, err = c.Groups.ListUsers(ctx, orgToken, g.UUID, nil)
	if err != nil || len(users) != 1 || users[0].Email != "bob@example.com" {
		t.Fatalf("ListUsers after RemoveUser: %+v, %v; want bob alone", users, err)
	}
	_, _, err = c.Groups.RemoveUser(ctx, orgToken, g.UUID, alice.UUID)
	wantStatus(t, err, http.StatusBadRequest, alice.UUID)

	_, _, err = c.Groups.ListUsers(ctx, orgToken, "no-such-group", nil)
	wantStatus(t, err, http.StatusBadRequest, "no-such-group")
}

func TestGroupsRoles(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()
	product := sim.Snapshot().Organizations[0].Products[0]
	g, _, err := c.Groups.Create(ctx, orgToken, &mend.GroupRequest{Name: "approvers"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}

	orgRole := mend.RoleAssignment{ContextToken: orgToken, ContextType: mend.ContextOrgs, Role: "DEFAULT_APPROVER"}
	added, _, err := c.Groups.AddRole(ctx, orgToken, g.UUID, orgRole)
	if err != nil {
		t.Fatalf("AddRole: %v", err)
	}
	wantSent(t, sim, "addGroupRole", http.MethodPost, groupsPath(g.UUID, "roles"),
		map[string]any{"contextToken": orgToken, "contextType": "orgs", "role": "DEFAULT_APPROVER"})
	if diff := cmp.Diff(mend.GroupRole{RoleAssignment: orgRole, ContextName: mendsim.DefaultOrgName}, *added); diff != "" {
		t.Errorf("AddRole (-want, +got):\n%s", diff)
	}
	productRole := mend.RoleAssignment{ContextToken: product.Token, ContextType: mend.ContextProducts, Role: "AUDITOR"}
	if _, _, err := c.Groups.AddRole(ctx, orgToken, g.UUID, productRole); err != nil {
		t.Fatalf("AddRole: %v", err)
	}
	// Granting a role the group holds changes nothing.
	if _, _, err := c.Groups.AddRole(ctx, orgToken, g.UUID, productRole); err != nil {
		t.Fatalf("AddRole again: %v", err)
	}

	roles, _, err := c.Groups.ListRoles(ctx, orgToken, g.UUID, nil)
	if err != nil {
		t.Fatalf("ListRoles: %v", err)
	}
	wantSent(t, sim, "listGroupRoles", http.MethodGet, groupsPath(g.UUID, "roles"), nil)
	want := []mend.ContextRoles{
		{ContextToken: orgToken, ContextName: mendsim.DefaultOrgName, ContextType: "orgs", Roles: []string{"DEFAULT_APPROVER"}},
		{ContextToken: product.Token, ContextName: product.Name, ContextType: "products", Roles: []string{"AUDITOR"}},
	}
	if diff := cmp.Diff(want, roles); diff != "" {
		t.Errorf("ListRoles (-want, +got):\n%s", diff)
	}
	if got := groupNamed(t, c, "approvers"); len(got.Roles) != 2 {
		t.Errorf("List shows roles %+v, want 2", got.Roles)
	}

	if _, _, err := c.Groups.RemoveRole(ctx, orgToken, g.UUID, orgRole); err != nil {
		t.Fatalf("RemoveRole: %v", err)
	}
	wantSent(t, sim, "removeGroupRole", http.MethodDelete, groupsPath(g.UUID, "roles"),
		map[string]any{"contextToken": orgToken, "contextType": "orgs", "role": "DEFAULT_APPROVER"})
	roles, _, err = c.Groups.ListRoles(ctx, orgToken, g.UUID, nil)
	if err != nil || len(roles) != 1 || roles[0].ContextType != "products" {
		t.Fatalf("ListRoles after RemoveRole: %+v, %v; want the product role alone", roles, err)
	}

	tests := []struct {
		name   string
		remove bool
		role   mend.RoleAssignment
		status int
		says   string
	}{
		{name: "unknown role", role: mend.RoleAssignment{ContextToken: orgToken, ContextType: "orgs", Role: "OVERLORD"}, status: http.StatusBadRequest, says: "OVERLORD"},
		{name: "unknown context type", role: mend.RoleAssignment{ContextToken: orgToken, ContextType: "teams", Role: "ADMIN"}, status: http.StatusBadRequest, says: "teams"},
		{name: "missing context token", role: mend.RoleAssignment{ContextType: "orgs", Role: "ADMIN"}, status: http.StatusBadRequest, says: "contextToken"},
		{name: "a project's role", role: mend.RoleAssignment{ContextToken: product.Projects[0].Token, ContextType: "projects", Role: "ADMIN"}, status: http.StatusBadRequest, says: "projects"},
		{name: "unknown product", role: mend.RoleAssignment{ContextToken: "no-such-product", ContextType: "products", Role: "ADMIN"}, status: http.StatusBadRequest, says: "no-such-product"},
		{name: "another organization", role: mend.RoleAssignment{ContextToken: "another-org", ContextType: "orgs", Role: "ADMIN"}, status: http.StatusBadRequest, says: "another-org"},
		{name: "remove a role not held", remove: true, role: orgRole, status: http.StatusBadRequest, says: "DEFAULT_APPROVER"},
	}
	// Some of these requests the OpenAPI document refuses (a role or
	// context type outside its enumerations): sent unchecked, to see the
	// simulator refuse them too.
	raw := uncheckedClient(t, sim)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var err error
			if tt.remove {
				_, _, err = raw.Groups.RemoveRole(ctx, orgToken, g.UUID, tt.role)
			} else {
				_, _, err = raw.Groups.AddRole(ctx, orgToken, g.UUID, tt.role)
			}
			wantStatus(t, err, tt.status, tt.says)
		})
	}
}

func TestGroupsSearchAndSort(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	product := sim.Snapshot().Organizations[0].Products[0].Token
	tests := []struct {
		name   string
		opts   mend.ListOptions
		want   []string
		status int
		says   string
	}{
		{name: "all, in creation order", want: []string{"admins", "users", "demo-product approvers"}},
		{name: "name equals", opts: mend.ListOptions{Search: "name:equals:users"}, want: []string{"users"}},
		{name: "equals is exact", opts: mend.ListOptions{Search: "name:equals:Users"}, want: nil},
		{name: "like ignores case", opts: mend.ListOptions{Search: "name:like:ADM"}, want: []string{"admins"}},
		{name: "regex ignores case", opts: mend.ListOptions{Search: "name:regex:^(ADM|use)"}, want: []string{"admins", "users"}},
		{name: "roles in", opts: mend.ListOptions{Search: "roles:in:ADMIN,DEFAULT_APPROVER"}, want: []string{"admins", "demo-product approvers"}},
		{name: "context type", opts: mend.ListOptions{Search: "contextType:equals:products"}, want: []string{"demo-product approvers"}},
		{name: "product in", opts: mend.ListOptions{Search: "product:in:other," + product}, want: []string{"demo-product approvers"}},
		{name: "filters combine", opts: mend.ListOptions{Search: "name:like:s;roles:in:USER,DEFAULT_APPROVER"}, want: []string{"users", "demo-product approvers"}},
		{name: "sort by name", opts: mend.ListOptions{Sort: "name"}, want: []string{"admins", "demo-product approvers", "users"}},
		{name: "sort by name descending", opts: mend.ListOptions{Sort: "-name"}, want: []string{"users", "demo-product approvers", "admins"}},
		{name: "sort by users descending", opts: mend.ListOptions{Sort: "-users"}, want: []string{"users", "admins", "demo-product approvers"}},
		{name: "sort by role", opts: mend.ListOptions{Sort: "role"}, want: []string{"admins", "demo-product approvers", "users"}},
		{name: "filter, sort and page", opts: mend.ListOptions{Search: "name:regex:s$", Sort: "-name", Page: 1, PageSize: 1}, want: []string{"demo-product approvers"}},
		{name: "unknown property", opts: mend.ListOptions{Search: "color:equals:red"}, status: http.StatusBadRequest, says: "color"},
		{name: "operation not taken on the property", opts: mend.ListOptions{Search: "name:in:a,b"}, status: http.StatusBadRequest, says: `"in"`},
		{name: "unknown operation", opts: mend.ListOptions{Search: "name:near:a"}, status: http.StatusBadRequest, says: "near"},
		{name: "malformed filter", opts: mend.ListOptions{Search: "name"}, status: http.StatusBadRequest, says: "property:operation:value"},
		{name: "bad regex", opts: mend.ListOptions{Search: "name:regex:("}, status: http.StatusBadRequest, says: "regex"},
		{name: "unknown sort property", opts: mend.ListOptions{Sort: "-color"}, status: http.StatusBadRequest, says: "color"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gs, _, err := c.Groups.List(context.Background(), orgToken, &tt.opts)
			if tt.status != 0 {
				wantStatus(t, err, tt.status, tt.says)
				return
			}
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			var got []string
			for _, g := range gs {
				got = append(got, g.Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("groups (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestGroupUsersSearchAndSort(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	everyone := groupNamed(t, c, "users").UUID
	tests := []struct {
		name   string
		opts   mend.ListOptions
		want   []string
		status int
		says   string
	}{
		{name: "email equals", opts: mend.ListOptions{Search: "email:equals:bob@example.com"}, want: []string{"Bob Jones"}},
		{name: "account status in", opts: mend.ListOptions{Search: "accountStatus:in:INACTIVE,LOCKOUT"}, want: []string{"Carol White"}},
		{name: "user type", opts: mend.ListOptions{Search: "userType:equals:SERVICE"}, want: []string{"CI Bot"}},
		{name: "name regex", opts: mend.ListOptions{Search: "name:regex:^c"}, want: []string{"Carol White", "CI Bot"}},
		{name: "roles held through groups", opts: mend.ListOptions{Search: "roles:equals:ADMIN"}, want: []string{"Demo Admin", "Alice Smith"}},
		{name: "roles in", opts: mend.ListOptions{Search: "roles:in:DEFAULT_APPROVER"}, want: []string{"Bob Jones", "Carol White"}},
		{name: "filters combine", opts: mend.ListOptions{Search: "email:like:EXAMPLE.COM;accountStatus:equals:ACTIVE;userType:like:reg"},
			want: []string{"Demo Admin", "Alice Smith", "Bob Jones", "AppSec Lead"}},
		{name: "sort by name descending", opts: mend.ListOptions{Sort: "-name"},
			want: []string{"Demo Admin", "CI Bot", "Carol White", "Bob Jones", "AppSec Lead", "Alice Smith"}},
		{name: "sort by user type descending", opts: mend.ListOptions{Sort: "-userType", PageSize: 1}, want: []string{"CI Bot"}},
		{name: "operation not taken on the property", opts: mend.ListOptions{Search: "email:in:a"}, status: http.StatusBadRequest, says: "email"},
		{name: "property of another list", opts: mend.ListOptions{Search: "contextType:equals:orgs"}, status: http.StatusBadRequest, says: "contextType"},
		{name: "sort property of another list", opts: mend.ListOptions{Sort: "email"}, status: http.StatusBadRequest, says: "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			users, _, err := c.Groups.ListUsers(context.Background(), orgToken, everyone, &tt.opts)
			if tt.status != 0 {
				wantStatus(t, err, tt.status, tt.says)
				return
			}
			if err != nil {
				t.Fatalf("ListUsers: %v", err)
			}
			var got []string
			for _, u := range users {
				got = append(got, u.Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("users (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestGroupRolesSearchAndSort(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()
	product := sim.Snapshot().Organizations[0].Products[0]
	other, _, err := c.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: orgToken, ProductName: "another-product"})
	if err != nil {
		t.Fatalf("Products.Create: %v", err)
	}
	g, _, err := c.Groups.Create(ctx, orgToken, &mend.GroupRequest{Name: "mixed"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	for _, r := range []mend.RoleAssignment{
		{ContextToken: orgToken, ContextType: mend.ContextOrgs, Role: "ADMIN"},
		{ContextToken: product.Token, ContextType: mend.ContextProducts, Role: "DEFAULT_APPROVER"},
		{ContextToken: product.Token, ContextType: mend.ContextProducts, Role: "AUDITOR"},
		{ContextToken: other.ProductToken, ContextType: mend.ContextProducts, Role: "USER"},
	} {
		if _, _, err := c.Groups.AddRole(ctx, orgToken, g.UUID, r); err != nil {
			t.Fatalf("AddRole %+v: %v", r, err)
		}
	}
	org, prod, proj := mendsim.DefaultOrgName, product.Name, "another-product"
	tests := []struct {
		name   string
		opts   mend.ListOptions
		want   []string
		status int
		says   string
	}{
		{name: "all, grouped by context", want: []string{org, prod, proj}},
		{name: "role equals", opts: mend.ListOptions{Search: "role:equals:AUDITOR"}, want: []string{prod}},
		{name: "context type like", opts: mend.ListOptions{Search: "contextType:like:PRO"}, want: []string{prod, proj}},
		{name: "context name regex", opts: mend.ListOptions{Search: "contextName:regex:^" + proj}, want: []string{proj}},
		{name: "sort by context name", opts: mend.ListOptions{Sort: "contextName"}, want: []string{proj, org, prod}},
		{name: "sort by context type descending", opts: mend.ListOptions{Sort: "-contextType"}, want: []string{prod, proj, org}},
		{name: "sort by role", opts: mend.ListOptions{Sort: "role"}, want: []string{org, prod, proj}},
		{name: "operation not taken on the property", opts: mend.ListOptions{Search: "contextType:regex:o"}, status: http.StatusBadRequest, says: "contextType"},
		{name: "property of another list", opts: mend.ListOptions{Search: "name:equals:x"}, status: http.StatusBadRequest, says: "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			roles, _, err := c.Groups.ListRoles(ctx, orgToken, g.UUID, &tt.opts)
			if tt.status != 0 {
				wantStatus(t, err, tt.status, tt.says)
				return
			}
			if err != nil {
				t.Fatalf("ListRoles: %v", err)
			}
			var got []string
			for _, r := range roles {
				got = append(got, r.ContextName)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("contexts (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestGroupsGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		v    any
	}{
		{"getGroup.json", new(envelope[mend.Group])},
		{"createGroup.json", new(envelope[mend.Group])},
		{"updateGroup.json", new(envelope[mend.Group])},
		{"deleteGroup.json", new(envelope[mend.MessageResponse])},
		{"listGroups.json", new(envelope[[]mend.GroupSummary])},
		{"listGroupUsers.json", new(envelope[[]mend.UserInfo])},
		{"addGroupUsers.json", new(envelope[mend.MessageResponse])},
		{"removeGroupUser.json", new(envelope[mend.MessageResponse])},
		{"listGroupRoles.json", new(envelope[[]mend.ContextRoles])},
		{"addGroupRole.json", new(envelope[mend.GroupRole])},
		{"removeGroupRole.json", new(envelope[mend.MessageResponse])},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			decodeGolden(t, tt.file, tt.v)
		})
	}

	var g envelope[mend.Group]
	decodeGolden(t, "getGroup.json", &g)
	want := mend.Group{UUID: "123e4567-e89b-12d3-a456-426655440000", Name: "Group A", Description: "Group description", UserCount: 22}
	if diff := cmp.Diff(want, g.RetVal); diff != "" {
		t.Errorf("getGroup.json (-want, +got):\n%s", diff)
	}
	var r envelope[mend.GroupRole]
	decodeGolden(t, "addGroupRole.json", &r)
	if r.RetVal.ContextToken != "123e4567-e89b-12d3-a456-426655440000" || r.RetVal.ContextName != "My Project" || r.RetVal.Role != "DEFAULT_APPROVER" {
		t.Errorf("addGroupRole.json: %+v", r.RetVal)
	}
}
