package mend

import "context"

// CreateGlobalOrgRequest is the createGlobalOrg request.
type CreateGlobalOrgRequest struct {
	Name string `json:"name"`
	// AccountAdminEmail is the e-mail address of the administrator creating
	// the global organization.
	AccountAdminEmail string `json:"accountAdminEmail"`
}

// CreateGlobalOrgResponse is the answer of createGlobalOrg.
type CreateGlobalOrgResponse struct {
	GlobalOrgToken string `json:"globalOrgToken"`
}

// Create creates a global organization (createGlobalOrg). On-premise Mend
// allows it to site administrators only.
func (s *GlobalOrganizationsService) Create(ctx context.Context, req *CreateGlobalOrgRequest) (*CreateGlobalOrgResponse, *Response, error) {
	return callV1[CreateGlobalOrgResponse](ctx, s.client, ReqCreateGlobalOrg, req)
}

// GlobalOrgAssignmentRequest is the request of assignGlobalOrgToOrg and
// removeGlobalOrgFromOrg, which name the same two tokens.
type GlobalOrgAssignmentRequest struct {
	OrgToken       string `json:"orgToken"`
	GlobalOrgToken string `json:"globalOrgToken"`
}

// AssignToOrg puts an organization under a global organization
// (assignGlobalOrgToOrg). An organization belongs to one global
// organization at most.
func (s *GlobalOrganizationsService) AssignToOrg(ctx context.Context, req *GlobalOrgAssignmentRequest) (*MessageResponse, *Response, error) {
	return callV1[MessageResponse](ctx, s.client, ReqAssignGlobalOrgToOrg, req)
}

// RemoveFromOrg takes an organization out of a global organization
// (removeGlobalOrgFromOrg).
func (s *GlobalOrganizationsService) RemoveFromOrg(ctx context.Context, req *GlobalOrgAssignmentRequest) (*MessageResponse, *Response, error) {
	return callV1[MessageResponse](ctx, s.client, ReqRemoveGlobalOrgFromOrg, req)
}

// GetAllOrganizationsRequest is the getAllOrganizations request.
type GetAllOrganizationsRequest struct {
	GlobalOrgToken string `json:"globalOrgToken"`
}

// OrganizationRef names an organization.
type OrganizationRef struct {
	OrgName  string `json:"orgName"`
	OrgToken string `json:"orgToken"`
}

// GetAllOrganizationsResponse is the answer of getAllOrganizations.
type GetAllOrganizationsResponse struct {
	Organizations []OrganizationRef `json:"organizations"`
	Message       string            `json:"message"`
}

// ListOrganizations returns the name and token of every organization of a
// global organization (getAllOrganizations).
func (s *GlobalOrganizationsService) ListOrganizations(ctx context.Context, req *GetAllOrganizationsRequest) (*GetAllOrganizationsResponse, *Response, error) {
	return callV1[GetAllOrganizationsResponse](ctx, s.client, ReqGetAllOrganizations, req)
}
