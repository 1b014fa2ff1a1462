package mend

import (
	"context"
	"iter"
	"net/http"
)

// Group is a user group of an organization, as the v2.0 API answers a
// single group.
type Group struct {
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	Description string `json:"description"`
	UserCount   int    `json:"userCount"`
}

// GroupSummary is a group as the v2.0 group list answers it: with its user
// count and roles. The pages do not show the list's items; this is the
// shape of Mend's GroupSummaryDTO.
type GroupSummary struct {
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Users is how many users the group has.
	Users int `json:"users"`
	// AffectedProducts is how many products the group's roles reach.
	AffectedProducts int         `json:"affectedProducts"`
	Roles            []GroupRole `json:"roles"`
}

// GroupRequest is the body that creates a group or replaces its name and
// description.
type GroupRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// UserInfo is a user of an organization, as the group user list answers it.
type UserInfo struct {
	UUID  string `json:"uuid"`
	Name  string `json:"name"`
	Email string `json:"email"`
	// UserType is REGULAR, SERVICE or SCAN_SUMMARY_RECEIVER.
	UserType string `json:"userType"`
	// AccountStatus is ACTIVE, INACTIVE or LOCKOUT.
	AccountStatus string `json:"accountStatus"`
}

// GroupUsersRequest is the body that adds users to a group.
type GroupUsersRequest struct {
	UserEmails []string `json:"userEmails"`
}

// Context types of a role: the kind of entity that ContextToken names. The
// OpenAPI document allows these two: a group's role is on an organization
// or a product.
const (
	ContextOrgs     = "orgs"
	ContextProducts = "products"
)

// RoleAssignment grants a group a role on an organization or product; it
// is the body that adds or removes a role.
type RoleAssignment struct {
	// ContextToken is the token (or UUID) of the organization or product,
	// as ContextType says.
	ContextToken string `json:"contextToken"`
	// ContextType is ContextOrgs or ContextProducts.
	ContextType string `json:"contextType"`
	// Role is a Mend role such as ADMIN, DEFAULT_APPROVER or USER.
	Role string `json:"role"`
}

// GroupRole is a role of a group, with the name of the entity it applies to.
type GroupRole struct {
	RoleAssignment
	ContextName string `json:"contextName"`
}

// ContextRoles are the roles a group holds on one organization, product or
// project, as the group role list answers them. The pages do not show the
// list's items; this is the shape of Mend's MultipleGroupRolesPerContextDTO.
type ContextRoles struct {
	ContextToken string   `json:"contextToken"`
	ContextName  string   `json:"contextName"`
	ContextType  string   `json:"contextType"`
	Roles        []string `json:"roles"`
}

func groupPath(org, group string, rest ...string) string {
	return v2Path(append([]string{"orgs", org, "groups", group}, rest...)...)
}

// Get returns a group of an organization.
func (s *GroupsService) Get(ctx context.Context, org, groupUUID string) (*Group, *Response, error) {
	return doV2[Group](ctx, s.client, opGetGroup, http.MethodGet, org, groupPath(org, groupUUID), nil)
}

// Create creates a group. A group of the same name makes it fail; see
// IsNameTaken.
func (s *GroupsService) Create(ctx context.Context, org string, req *GroupRequest) (*Group, *Response, error) {
	return doV2[Group](ctx, s.client, opCreateGroup, http.MethodPost, org, v2Path("orgs", org, "groups"), req)
}

// Update replaces the name and description of a group.
func (s *GroupsService) Update(ctx context.Context, org, groupUUID string, req *GroupRequest) (*Group, *Response, error) {
	return doV2[Group](ctx, s.client, opUpdateGroup, http.MethodPut, org, groupPath(org, groupUUID), req)
}

// Delete deletes a group.
func (s *GroupsService) Delete(ctx context.Context, org, groupUUID string) (*MessageResponse, *Response, error) {
	return doV2[MessageResponse](ctx, s.client, opDeleteGroup, http.MethodDelete, org, groupPath(org, groupUUID), nil)
}

// List returns one page of the groups of an organization. Search takes the
// properties name (equals, like, regex), contextType (equals), product and
// roles (in); Sort takes accountStatus, contextType, name, product, role
// and users.
func (s *GroupsService) List(ctx context.Context, org string, opts *ListOptions) ([]GroupSummary, *Response, error) {
	return listV2[GroupSummary](ctx, s.client, opListGroups, org, v2Path("orgs", org, "groups"), opts.query())
}

// All iterates over the groups of an organization, page after page.
func (s *GroupsService) All(ctx context.Context, org string, opts *ListOptions) iter.Seq2[GroupSummary, error] {
	return pages(ctx, opts.page(), func(ctx context.Context, page int) ([]GroupSummary, *Response, error) {
		return s.List(ctx, org, opts.at(page))
	})
}

// ListUsers returns one page of the users of a group. Search takes the
// properties accountStatus (equals, in), email and name (like, equals,
// regex), userType (like, equals) and roles (equals, in); Sort takes name
// and userType.
func (s *GroupsService) ListUsers(ctx context.Context, org, groupUUID string, opts *ListOptions) ([]UserInfo, *Response, error) {
	return listV2[UserInfo](ctx, s.client, opListGroupUsers, org, groupPath(org, groupUUID, "users"), opts.query())
}

// AllUsers iterates over the users of a group, page after page.
func (s *GroupsService) AllUsers(ctx context.Context, org, groupUUID string, opts *ListOptions) iter.Seq2[UserInfo, error] {
	return pages(ctx, opts.page(), func(ctx context.Context, page int) ([]UserInfo, *Response, error) {
		return s.ListUsers(ctx, org, groupUUID, opts.at(page))
	})
}

// AddUsers adds users of the organization, by e-mail, to a group.
func (s *GroupsService) AddUsers(ctx context.Context, org, groupUUID string, emails []string) (*MessageResponse, *Response, error) {
	if emails == nil {
		emails = []string{} // the document's userEmails is a list, never null
	}
	return doV2[MessageResponse](ctx, s.client, opAddGroupUsers, http.MethodPost, org, groupPath(org, groupUUID, "users"),
		&GroupUsersRequest{UserEmails: emails})
}

// RemoveUser removes a user, by UUID, from a group.
func (s *GroupsService) RemoveUser(ctx context.Context, org, groupUUID, userUUID string) (*MessageResponse, *Response, error) {
	return doV2[MessageResponse](ctx, s.client, opRemoveGroupUser, http.MethodDelete, org, groupPath(org, groupUUID, "users", userUUID), nil)
}

// ListRoles returns one page of the roles of a group, grouped by the entity
// they apply to. Search takes the properties contextName and role (like,
// equals, regex) and contextType (like, equals); Sort takes contextName,
// contextType and role.
func (s *GroupsService) ListRoles(ctx context.Context, org, groupUUID string, opts *ListOptions) ([]ContextRoles, *Response, error) {
	return listV2[ContextRoles](ctx, s.client, opListGroupRoles, org, groupPath(org, groupUUID, "roles"), opts.query())
}

// AllRoles iterates over the roles of a group, page after page.
func (s *GroupsService) AllRoles(ctx context.Context, org, groupUUID string, opts *ListOptions) iter.Seq2[ContextRoles, error] {
	return pages(ctx, opts.page(), func(ctx context.Context, page int) ([]ContextRoles, *Response, error) {
		return s.ListRoles(ctx, org, groupUUID, opts.at(page))
	})
}

// AddRole grants a group a role and answers it with the entity's name.
func (s *GroupsService) AddRole(ctx context.Context, org, groupUUID string, role RoleAssignment) (*GroupRole, *Response, error) {
	return doV2[GroupRole](ctx, s.client, opAddGroupRole, http.MethodPost, org, groupPath(org, groupUUID, "roles"), role)
}

// RemoveRole takes a role away from a group.
func (s *GroupsService) RemoveRole(ctx context.Context, org, groupUUID string, role RoleAssignment) (*MessageResponse, *Response, error) {
	return doV2[MessageResponse](ctx, s.client, opRemoveGroupRole, http.MethodDelete, org, groupPath(org, groupUUID, "roles"), role)
}
