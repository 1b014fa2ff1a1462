package mendsim

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/mendflow/mendflow/pkg/mend"
)

func (s *Simulator) groupRoutes() []restRoute {
	const groups = "/api/v2.0/orgs/{orgToken}/groups"
	const group = groups + "/{groupUuid}"
	return []restRoute{
		{pattern: "GET " + groups, op: "listGroups", key: "retVal", h: s.listGroups},
		{pattern: "POST " + groups, op: "createGroup", key: "retVal", h: s.createGroup},
		{pattern: "GET " + group, op: "getGroup", key: "retVal", h: s.withGroup(s.getGroup)},
		{pattern: "PUT " + group, op: "updateGroup", key: "retVal", h: s.withGroup(s.updateGroup)},
		{pattern: "DELETE " + group, op: "deleteGroup", key: "retVal", h: s.withGroup(s.deleteGroup)},
		{pattern: "GET " + group + "/users", op: "listGroupUsers", key: "retVal", h: s.withGroup(s.listGroupUsers)},
		{pattern: "POST " + group + "/users", op: "addGroupUsers", key: "retVal", h: s.withGroup(s.addGroupUsers)},
		{pattern: "DELETE " + group + "/users/{userUuid}", op: "removeGroupUser", key: "retVal", h: s.withGroup(s.removeGroupUser)},
		{pattern: "GET " + group + "/roles", op: "listGroupRoles", key: "retVal", h: s.withGroup(s.listGroupRoles)},
		{pattern: "POST " + group + "/roles", op: "addGroupRole", key: "retVal", h: s.withGroup(s.addGroupRole)},
		{pattern: "DELETE " + group + "/roles", op: "removeGroupRole", key: "retVal", h: s.withGroup(s.removeGroupRole)},
	}
}

// seedGroups adds users to the demo organization, and groups after Mend's
// two predefined ones (admins, users) plus one with product roles.
func (s *Simulator) seedGroups(st *state, o *org) {
	admin := o.members[0]
	for _, u := range []*user{
		{name: "Alice Smith", email: "alice@example.com", userType: "REGULAR", accountStatus: "ACTIVE"},
		{name: "Bob Jones", email: "bob@example.com", userType: "REGULAR", accountStatus: "ACTIVE"},
		{name: "Carol White", email: "carol@example.com", userType: "REGULAR", accountStatus: "INACTIVE"},
		{name: "CI Bot", email: "ci-bot@example.com", userType: "SERVICE", accountStatus: "ACTIVE"},
		{name: "AppSec Lead", email: "appsec.lead@example.com", userType: "REGULAR", accountStatus: "ACTIVE"},
	} {
		if st.users[u.email] != nil { // the configured user already has that address
			continue
		}
		u.id, u.uuid = st.id(), newUUID()
		st.users[u.email] = u
		o.members = append(o.members, u.email)
	}
	product := o.products[0]
	o.groups = []*group{
		{
			uuid: newUUID(), name: "admins", description: "Organization administrators",
			users: []string{admin, "alice@example.com"},
			roles: []groupRole{{contextToken: o.token, contextType: mend.ContextOrgs, role: roleAdmin}},
		},
		{
			uuid: newUUID(), name: "users", description: "Organization members",
			users: slices.Clone(o.members),
			roles: []groupRole{{contextToken: o.token, contextType: mend.ContextOrgs, role: "USER"}},
		},
		{
			uuid: newUUID(), name: "demo-product approvers", description: "Approve requests of demo-product",
			users: []string{"bob@example.com", "carol@example.com"},
			roles: []groupRole{
				{contextToken: product, contextType: mend.ContextProducts, role: "DEFAULT_APPROVER"},
				{contextToken: product, contextType: mend.ContextProducts, role: "ALERT_EMAIL_RECEIVER"},
			},
		},
	}
}

// knownRole reports whether role is one of Mend's roles, after the role
// enumeration of Mend's group API.
func knownRole(role string) bool {
	switch role {
	case "DEFAULT_APPROVER", "ADMIN", "ALERT_EMAIL_RECEIVER", "ALERTS_IGNORER",
		"LICENSE_AND_COPYRIGHT_ASSIGNER", "AUDITOR", "USER", "PRODUCT_INTEGRATOR", "SBOM_EXPORTER":
		return true
	}
	return false
}

// withGroup looks up the path's group in the JWT's organization.
func (s *Simulator) withGroup(h func(c *restCall, g *group) (any, error)) restHandler {
	return func(c *restCall) (any, error) {
		id := c.r.PathValue("groupUuid")
		i := slices.IndexFunc(c.org.groups, func(g *group) bool { return g.uuid == id })
		if i < 0 {
			return nil, badRequest("group not found: " + id)
		}
		return h(c, c.org.groups[i])
	}
}

// restSuccess is the answer of v2.0 calls that only confirm.
func restSuccess() mend.MessageResponse { return mend.MessageResponse{Message: "Success!"} }

func groupAnswer(g *group) mend.Group {
	return mend.Group{UUID: g.uuid, Name: g.name, Description: g.description, UserCount: len(g.users)}
}

func (s *Simulator) getGroup(_ *restCall, g *group) (any, error) { return groupAnswer(g), nil }

// readGroup reads a create or update body, and refuses a name that another
// group of the organization has (names compare regardless of case).
func readGroup(c *restCall, self *group) (mend.GroupRequest, error) {
	var in mend.GroupRequest
	if err := c.decode(&in); err != nil {
		return in, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		return in, badRequest("name is required")
	}
	for _, g := range c.org.groups {
		if g != self && strings.EqualFold(g.name, in.Name) {
			return in, badRequest(fmt.Sprintf("a group named %q already exists", g.name))
		}
	}
	return in, nil
}

func (s *Simulator) createGroup(c *restCall) (any, error) {
	in, err := readGroup(c, nil)
	if err != nil {
		return nil, err
	}
	g := &group{uuid: newUUID(), name: in.Name, description: in.Description}
	c.org.groups = append(c.org.groups, g)
	return groupAnswer(g), nil
}

func (s *Simulator) updateGroup(c *restCall, g *group) (any, error) {
	in, err := readGroup(c, g)
	if err != nil {
		return nil, err
	}
	g.name, g.description = in.Name, in.Description
	return groupAnswer(g), nil
}

func (s *Simulator) deleteGroup(c *restCall, g *group) (any, error) {
	c.org.groups = slices.DeleteFunc(c.org.groups, func(x *group) bool { return x == g })
	return restSuccess(), nil
}

// groupSummary is a group as the group list answers it.
func (s *Simulator) groupSummary(g *group) mend.GroupSummary {
	roles := make([]mend.GroupRole, 0, len(g.roles))
	for _, r := range g.roles {
		roles = append(roles, s.roleAnswer(r))
	}
	return mend.GroupSummary{UUID: g.uuid, Name: g.name, Description: g.description, Users: len(g.users), Roles: roles}
}

// groupRoleValues returns the values of one field of a group's roles,
// those of the given context type only when ctxType is set.
func groupRoleValues(g mend.GroupSummary, ctxType string, field func(mend.GroupRole) string) []string {
	var out []string
	for _, r := range g.Roles {
		if ctxType == "" || r.ContextType == ctxType {
			out = append(out, field(r))
		}
	}
	return out
}

func (s *Simulator) listGroups(c *restCall) (any, error) {
	items := make([]mend.GroupSummary, 0, len(c.org.groups))
	for _, g := range c.org.groups {
		items = append(items, s.groupSummary(g))
	}
	name := func(g mend.GroupSummary) []string { return []string{g.Name} }
	contextTypes := func(g mend.GroupSummary) []string {
		return groupRoleValues(g, "", func(r mend.GroupRole) string { return r.ContextType })
	}
	products := func(g mend.GroupSummary) []string {
		return groupRoleValues(g, mend.ContextProducts, func(r mend.GroupRole) string { return r.ContextToken })
	}
	productNames := func(g mend.GroupSummary) []string {
		return groupRoleValues(g, mend.ContextProducts, func(r mend.GroupRole) string { return r.ContextName })
	}
	roles := func(g mend.GroupSummary) []string {
		return groupRoleValues(g, "", func(r mend.GroupRole) string { return r.Role })
	}
	return listPage(c, items, listSpec[mend.GroupSummary]{
		filters: map[string]searchProperty[mend.GroupSummary]{
			"contextType": {ops: []string{opEquals}, values: contextTypes},
			"name":        {ops: []string{opLike, opEquals, opRegex}, values: name},
			"product":     {ops: []string{opIn}, values: products},
			"roles":       {ops: []string{opIn}, values: roles},
		},
		sorts: map[string]func(a, b mend.GroupSummary) int{
			// Groups have no account status: every group sorts alike.
			"accountStatus": func(a, b mend.GroupSummary) int { return 0 },
			"contextType":   byFirst(contextTypes),
			"name":          byFirst(name),
			"product":       byFirst(productNames),
			"role":          byFirst(roles),
			"users":         func(a, b mend.GroupSummary) int { return cmp.Compare(a.Users, b.Users) },
		},
	})
}

// userRoles returns the roles a user holds in o through its groups.
func userRoles(o *org, email string) []string {
	var out []string
	for _, g := range o.groups {
		if slices.Contains(g.users, email) {
			for _, r := range g.roles {
				out = append(out, r.role)
			}
		}
	}
	return out
}

func (s *Simulator) listGroupUsers(c *restCall, g *group) (any, error) {
	items := make([]mend.UserInfo, 0, len(g.users))
	for _, e := range g.users {
		u := s.st.users[e]
		items = append(items, mend.UserInfo{UUID: u.uuid, Name: u.name, Email: u.email, UserType: u.userType, AccountStatus: u.accountStatus})
	}
	field := func(f func(mend.UserInfo) string) func(mend.UserInfo) []string {
		return func(u mend.UserInfo) []string { return []string{f(u)} }
	}
	name := field(func(u mend.UserInfo) string { return u.Name })
	userType := field(func(u mend.UserInfo) string { return u.UserType })
	return listPage(c, items, listSpec[mend.UserInfo]{
		filters: map[string]searchProperty[mend.UserInfo]{
			"accountStatus": {ops: []string{opEquals, opIn}, values: field(func(u mend.UserInfo) string { return u.AccountStatus })},
			"email":         {ops: []string{opLike, opEquals, opRegex}, values: field(func(u mend.UserInfo) string { return u.Email })},
			"name":          {ops: []string{opLike, opEquals, opRegex}, values: name},
			"userType":      {ops: []string{opLike, opEquals}, values: userType},
			"roles":         {ops: []string{opEquals, opIn}, values: func(u mend.UserInfo) []string { return userRoles(c.org, u.Email) }},
		},
		sorts: map[string]func(a, b mend.UserInfo) int{
			"name":     byFirst(name),
			"userType": byFirst(userType),
		},
	})
}

func (s *Simulator) addGroupUsers(c *restCall, g *group) (any, error) {
	var in mend.GroupUsersRequest
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.UserEmails) == 0 {
		return nil, badRequest("userEmails is required")
	}
	// Every address is checked before any is added: a bad one adds none.
	emails := make([]string, len(in.UserEmails))
	for i, e := range in.UserEmails {
		emails[i] = strings.ToLower(strings.TrimSpace(e))
		if !slices.Contains(c.org.members, emails[i]) {
			return nil, badRequest(fmt.Sprintf("user %q is not a user of the organization", e))
		}
	}
	for _, e := range emails {
		if !slices.Contains(g.users, e) {
			g.users = append(g.users, e)
		}
	}
	return restSuccess(), nil
}

func (s *Simulator) removeGroupUser(c *restCall, g *group) (any, error) {
	id := c.r.PathValue("userUuid")
	i := slices.IndexFunc(g.users, func(e string) bool { return s.st.users[e].uuid == id })
	if i < 0 {
		return nil, badRequest(fmt.Sprintf("user %s is not in group %q", id, g.name))
	}
	g.users = slices.Delete(g.users, i, i+1)
	return restSuccess(), nil
}

// contextRoles groups a group's roles by the entity they apply to, in the
// order the entities first got a role.
func (s *Simulator) contextRoles(g *group) []mend.ContextRoles {
	var out []mend.ContextRoles
	for _, r := range g.roles {
		i := slices.IndexFunc(out, func(cr mend.ContextRoles) bool {
			return cr.ContextToken == r.contextToken && cr.ContextType == r.contextType
		})
		if i < 0 {
			out = append(out, mend.ContextRoles{
				ContextToken: r.contextToken, ContextType: r.contextType, ContextName: s.roleContextName(r), Roles: []string{},
			})
			i = len(out) - 1
		}
		out[i].Roles = append(out[i].Roles, r.role)
	}
	return out
}

func (s *Simulator) listGroupRoles(c *restCall, g *group) (any, error) {
	contextName := func(r mend.ContextRoles) []string { return []string{r.ContextName} }
	contextType := func(r mend.ContextRoles) []string { return []string{r.ContextType} }
	roles := func(r mend.ContextRoles) []string { return r.Roles }
	return listPage(c, s.contextRoles(g), listSpec[mend.ContextRoles]{
		filters: map[string]searchProperty[mend.ContextRoles]{
			"contextName": {ops: []string{opLike, opEquals, opRegex}, values: contextName},
			"contextType": {ops: []string{opLike, opEquals}, values: contextType},
			"role":        {ops: []string{opLike, opEquals, opRegex}, values: roles},
		},
		sorts: map[string]func(a, b mend.ContextRoles) int{
			"contextName": byFirst(contextName),
			"contextType": byFirst(contextType),
			"role":        byFirst(roles),
		},
	})
}

// roleContextName is the name of the entity a role applies to, or "" once the
// entity is gone.
func (s *Simulator) roleContextName(r groupRole) string {
	switch r.contextType {
	case mend.ContextOrgs:
		if o := s.st.orgs[r.contextToken]; o != nil {
			return o.name
		}
	case mend.ContextProducts:
		if p := s.st.products[r.contextToken]; p != nil {
			return p.name
		}
	}
	return ""
}

func (s *Simulator) roleAnswer(r groupRole) mend.GroupRole {
	return mend.GroupRole{
		RoleAssignment: mend.RoleAssignment{ContextToken: r.contextToken, ContextType: r.contextType, Role: r.role},
		ContextName:    s.roleContextName(r),
	}
}

// readRole reads a role body. An organization named by its UUID is kept
// by its token, so that either form finds the role again.
func readRole(c *restCall) (groupRole, error) {
	var in mend.RoleAssignment
	if err := c.decode(&in); err != nil {
		return groupRole{}, err
	}
	for _, f := range []struct{ name, value string }{
		{"contextToken", in.ContextToken}, {"contextType", in.ContextType}, {"role", in.Role},
	} {
		if f.value == "" {
			return groupRole{}, badRequest(f.name + " is required")
		}
	}
	switch in.ContextType {
	case mend.ContextOrgs, mend.ContextProducts:
	default:
		return groupRole{}, badRequest(fmt.Sprintf("unknown contextType %q: want orgs or products", in.ContextType))
	}
	if !knownRole(in.Role) {
		return groupRole{}, badRequest(fmt.Sprintf("unknown role %q", in.Role))
	}
	if in.ContextType == mend.ContextOrgs && in.ContextToken == c.org.uuid {
		in.ContextToken = c.org.token
	}
	return groupRole{contextToken: in.ContextToken, contextType: in.ContextType, role: in.Role}, nil
}

// addGroupRole grants a role; granting one the group holds changes nothing.
func (s *Simulator) addGroupRole(c *restCall, g *group) (any, error) {
	r, err := readRole(c)
	if err != nil {
		return nil, err
	}
	if !s.belongsTo(c.org, r.contextType, r.contextToken) {
		return nil, badRequest(fmt.Sprintf("%s %s not found in the organization", r.contextType, r.contextToken))
	}
	if !slices.Contains(g.roles, r) {
		g.roles = append(g.roles, r)
	}
	return s.roleAnswer(r), nil
}

func (s *Simulator) removeGroupRole(c *restCall, g *group) (any, error) {
	r, err := readRole(c)
	if err != nil {
		return nil, err
	}
	i := slices.Index(g.roles, r)
	if i < 0 {
		return nil, badRequest(fmt.Sprintf("group %q has no role %s on %s %s", g.name, r.role, r.contextType, r.contextToken))
	}
	g.roles = slices.Delete(g.roles, i, i+1)
	return restSuccess(), nil
}
