package mend

import (
	"context"
	"fmt"
)

// ScopeLevel is one of the levels of Mend's hierarchy that policies (and
// In-House library listings) are attached to.
type ScopeLevel int

// The levels, from the top of the hierarchy down.
const (
	GlobalOrganizationLevel ScopeLevel = iota + 1
	OrganizationLevel
	ProductLevel
	ProjectLevel
)

// String names the level as the pages do: "global organization"...
func (l ScopeLevel) String() string {
	switch l {
	case GlobalOrganizationLevel:
		return "global organization"
	case OrganizationLevel:
		return "organization"
	case ProductLevel:
		return "product"
	case ProjectLevel:
		return "project"
	}
	return fmt.Sprintf("ScopeLevel(%d)", int(l))
}

// Scope names what a scoped request acts on: a level and the token of the
// global organization, organization, product or project there. The level
// picks the request type (getProjectPolicies or getProductPolicies...) and
// the token field that carries Token.
type Scope struct {
	Level ScopeLevel
	Token string
}

// GlobalOrgScope is the scope of a global organization.
func GlobalOrgScope(globalOrgToken string) Scope {
	return Scope{Level: GlobalOrganizationLevel, Token: globalOrgToken}
}

// OrgScope is the scope of an organization.
func OrgScope(orgToken string) Scope { return Scope{Level: OrganizationLevel, Token: orgToken} }

// ProductScope is the scope of a product.
func ProductScope(productToken string) Scope { return Scope{Level: ProductLevel, Token: productToken} }

// ProjectScope is the scope of a project.
func ProjectScope(projectToken string) Scope { return Scope{Level: ProjectLevel, Token: projectToken} }

// String describes the scope by level and token.
func (s Scope) String() string { return s.Level.String() + " " + s.Token }

// ScopeTokens is the token field of a scoped request. Exactly one is set,
// the one of the scope's level; the others stay off the wire.
type ScopeTokens struct {
	GlobalOrgToken string `json:"globalOrgToken,omitempty"`
	OrgToken       string `json:"orgToken,omitempty"`
	ProductToken   string `json:"productToken,omitempty"`
	ProjectToken   string `json:"projectToken,omitempty"`
}

func (s Scope) tokens() (ScopeTokens, error) {
	switch s.Level {
	case GlobalOrganizationLevel:
		return ScopeTokens{GlobalOrgToken: s.Token}, nil
	case OrganizationLevel:
		return ScopeTokens{OrgToken: s.Token}, nil
	case ProductLevel:
		return ScopeTokens{ProductToken: s.Token}, nil
	case ProjectLevel:
		return ScopeTokens{ProjectToken: s.Token}, nil
	}
	return ScopeTokens{}, fmt.Errorf("mend: invalid scope level %d", int(s.Level))
}

// policyRequests are the request types of the policy operations at one level.
type policyRequests struct{ get, add, update, remove, reorder string }

func (l ScopeLevel) policyRequests() (policyRequests, error) {
	switch l {
	case GlobalOrganizationLevel:
		return policyRequests{
			ReqGetGlobalOrganizationPolicies, ReqAddGlobalOrganizationPolicy, ReqUpdateGlobalOrganizationPolicy,
			ReqRemoveGlobalOrganizationPolicies, ReqReorderGlobalOrganizationPolicyPriorities,
		}, nil
	case OrganizationLevel:
		return policyRequests{
			ReqGetOrganizationPolicies, ReqAddOrganizationPolicy, ReqUpdateOrganizationPolicy,
			ReqRemoveOrganizationPolicies, ReqReorderOrganizationPolicyPriorities,
		}, nil
	case ProductLevel:
		return policyRequests{
			ReqGetProductPolicies, ReqAddProductPolicy, ReqUpdateProductPolicy,
			ReqRemoveProductPolicies, ReqReorderProductPolicyPriorities,
		}, nil
	case ProjectLevel:
		return policyRequests{
			ReqGetProjectPolicies, ReqAddProjectPolicy, ReqUpdateProjectPolicy,
			ReqRemoveProjectPolicies, ReqReorderProjectPolicyPriorities,
		}, nil
	}
	return policyRequests{}, fmt.Errorf("mend: invalid scope level %d", int(l))
}

// Policy is a policy as Mend answers it.
type Policy struct {
	ID           int         `json:"id"`
	Name         string      `json:"name"`
	Owner        PolicyOwner `json:"owner"`
	CreationTime string      `json:"creationTime"` // a date: 2016-11-23
	// Priority orders the policies of a level; 1 is the lowest.
	Priority     int          `json:"priority"`
	Filter       PolicyFilter `json:"filter"`
	Inclusive    bool         `json:"inclusive"`
	Action       PolicyAction `json:"action"`
	ProductLevel bool         `json:"productLevel"`
	Enabled      bool         `json:"enabled"`
	// PolicyContext is the level the policy belongs to, which tells the
	// levels apart in an aggregated listing.
	PolicyContext string `json:"policyContext,omitempty"`
}

// The values of Policy.PolicyContext.
const (
	PolicyContextGlobalOrganization = "GLOBAL_ACCOUNT"
	PolicyContextOrganization       = "DOMAIN"
	PolicyContextProduct            = "PRODUCT"
	PolicyContextProject            = "PROJECT"
)

// PolicyOwner is the user who owns a policy. A request names the user by ID
// or e-mail; answers carry all three fields.
type PolicyOwner struct {
	ID    int    `json:"id,omitempty"`
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
}

// PolicyFilter says which libraries a policy matches. Type is the match type
// and decides which of the other fields apply.
type PolicyFilter struct {
	Type string `json:"type"`
	// Licenses are matched by a LICENSE filter; a request may name them by
	// name only, and Mend answers with their IDs.
	Licenses []PolicyLicense `json:"licenses,omitempty"`
	// VulnerabilitySeverity bounds the CVSS score of a VULNERABILITY_SEVERITY
	// filter.
	VulnerabilitySeverity *ScoreRange `json:"vulnerabilitySeverity,omitempty"`
	// EffectiveVulnerabilitiesOnly restricts a VULNERABILITY_SEVERITY filter to
	// vulnerabilities that effective usage analysis found reachable.
	EffectiveVulnerabilitiesOnly bool `json:"effectiveVulnerabilitiesOnly,omitempty"`
	// MonthsBack is the age of a LIBRARY_STALENESS filter.
	MonthsBack int `json:"monthsBack,omitempty"`
	// ScoreFrom and ScoreTo appear in answers of every filter type, mostly
	// as zeros.
	ScoreFrom float64 `json:"scoreFrom,omitempty"`
	ScoreTo   float64 `json:"scoreTo,omitempty"`
}

// The match types of PolicyFilter.Type that the pages document.
const (
	FilterLicense               = "LICENSE"
	FilterVulnerabilitySeverity = "VULNERABILITY_SEVERITY"
	FilterLibraryStaleness      = "LIBRARY_STALENESS"
)

// PolicyLicense is a license of a LICENSE filter.
type PolicyLicense struct {
	ID   int    `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// ScoreRange is a range of vulnerability scores, from 0 to 10.
type ScoreRange struct {
	ScoreFrom float64 `json:"scoreFrom"`
	ScoreTo   float64 `json:"scoreTo"`
}

// PolicyAction is what a policy does to a library it matches.
type PolicyAction struct {
	Type string `json:"type"`
	// IssueSettings describes the ticket of a CREATE_ISSUE action.
	IssueSettings *IssueSettings `json:"issueSettings,omitempty"`
}

// The action types of PolicyAction.Type.
const (
	ActionApprove     = "APPROVE"
	ActionReject      = "REJECT"
	ActionReassign    = "REASSIGN"
	ActionConditions  = "CONDITIONS"
	ActionCreateIssue = "CREATE_ISSUE"
)

// IssueSettings is the ticket a CREATE_ISSUE action opens. With the Issue
// Tracker Plugins (IssueTrackerType COMMON_ISSUE_TRACKER) only the first
// three fields are sent, and Mend ignores summary and description; the
// legacy JIRA and WORK_ITEMS integrations need the others too.
type IssueSettings struct {
	Summary          string `json:"summary"`
	Description      string `json:"description"`
	IssueTrackerType string `json:"issueTrackerType"`

	IssueAssignee     *IssueAssignee `json:"issueAssignee,omitempty"`
	IssueProject      *IssueProject  `json:"issueProject,omitempty"`
	IssueType         *IssueName     `json:"issueType,omitempty"`
	IssuePriorityInfo *IssueName     `json:"issuePriorityInfo,omitempty"`
	// RequiredFieldsInfo sets the fields that the issue type of the tracker's
	// project requires, by field name: Reporter, Labels, Components, Parent
	// or a custom field.
	RequiredFieldsInfo map[string]IssueFieldValue `json:"requiredFieldsInfo,omitempty"`
}

// The values of IssueSettings.IssueTrackerType. The page calls the plugin
// tracker "Jira Plugin" and sends it as COMMON_ISSUE_TRACKER.
const (
	IssueTrackerJira      = "JIRA"
	IssueTrackerWorkItems = "WORK_ITEMS"
	IssueTrackerCommon    = "COMMON_ISSUE_TRACKER"
)

// IssueAssignee is the tracker user an issue is assigned to.
type IssueAssignee struct {
	DisplayName string `json:"displayName"`
}

// IssueProject is the tracker project (its key for Jira, its name for Work
// Items) an issue is opened in.
type IssueProject struct {
	Key string `json:"key"`
}

// IssueName names an issue type (Bug, Task...) or priority (High...) as
// the tracker spells it.
type IssueName struct {
	Name string `json:"name"`
}

// IssueFieldValue is the value of a field of an issue.
type IssueFieldValue struct {
	Value string `json:"value"`
}

// PolicySpec is the policy object of an add or update request. Add needs
// Name, Owner, Filter and Action; update needs ID, Name and Owner and
// changes only the other fields that are set.
type PolicySpec struct {
	ID        int           `json:"id,omitempty"`
	Name      string        `json:"name,omitempty"`
	Owner     *PolicyOwner  `json:"owner,omitempty"`
	Filter    *PolicyFilter `json:"filter,omitempty"`
	Inclusive *bool         `json:"inclusive,omitempty"`
	Action    *PolicyAction `json:"action,omitempty"`
}

// GetPoliciesRequest is the request of getGlobalOrganizationPolicies,
// getOrganizationPolicies, getProductPolicies and getProjectPolicies.
type GetPoliciesRequest struct {
	ScopeTokens
	AggregatePolicies bool `json:"aggregatePolicies,omitempty"`
}

// PoliciesResponse is the answer of the get and reorder policy requests.
type PoliciesResponse struct {
	Policies []Policy `json:"policies"`
}

// ListPoliciesOptions are the options of PoliciesService.List.
type ListPoliciesOptions struct {
	// AggregatePolicies adds the policies of the levels above the scope:
	// the product, organization and global organization of a project. The
	// page of the global organization level has no such flag; nothing is
	// above it.
	AggregatePolicies bool
}

// List returns the policies of a scope, highest priority first
// (getGlobalOrganizationPolicies, getOrganizationPolicies,
// getProductPolicies or getProjectPolicies). opts may be nil.
func (s *PoliciesService) List(ctx context.Context, scope Scope, opts *ListPoliciesOptions) (*PoliciesResponse, *Response, error) {
	reqs, tokens, err := scope.policyCall()
	if err != nil {
		return nil, nil, err
	}
	req := GetPoliciesRequest{ScopeTokens: tokens}
	if opts != nil {
		req.AggregatePolicies = opts.AggregatePolicies
	}
	return callV1[PoliciesResponse](ctx, s.client, reqs.get, req)
}

// PolicyRequest is the request of the add and update policy requests
// (addProjectPolicy, updateProjectPolicy...).
type PolicyRequest struct {
	ScopeTokens
	Policy *PolicySpec `json:"policy"`
}

// AddPolicyResponse is the answer of the add policy requests.
type AddPolicyResponse struct {
	AddedPolicy Policy `json:"addedPolicy"`
	Message     string `json:"message"`
}

// Add adds a policy to a scope with the next priority, the highest
// (addGlobalOrganizationPolicy, addOrganizationPolicy, addProductPolicy or
// addProjectPolicy). The answer holds its new ID.
func (s *PoliciesService) Add(ctx context.Context, scope Scope, policy *PolicySpec) (*AddPolicyResponse, *Response, error) {
	reqs, tokens, err := scope.policyCall()
	if err != nil {
		return nil, nil, err
	}
	return callV1[AddPolicyResponse](ctx, s.client, reqs.add, PolicyRequest{ScopeTokens: tokens, Policy: policy})
}

// UpdatePolicyResponse is the answer of the update policy requests.
type UpdatePolicyResponse struct {
	UpdatedPolicy Policy `json:"updatedPolicy"`
	Message       string `json:"message"`
}

// Update changes a policy of a scope (updateGlobalOrganizationPolicy,
// updateOrganizationPolicy, updateProductPolicy or updateProjectPolicy).
// Mend gives the updated policy a new ID: use the one in the answer from
// then on.
func (s *PoliciesService) Update(ctx context.Context, scope Scope, policy *PolicySpec) (*UpdatePolicyResponse, *Response, error) {
	reqs, tokens, err := scope.policyCall()
	if err != nil {
		return nil, nil, err
	}
	return callV1[UpdatePolicyResponse](ctx, s.client, reqs.update, PolicyRequest{ScopeTokens: tokens, Policy: policy})
}

// RemovePoliciesRequest is the request of the remove policies requests.
type RemovePoliciesRequest struct {
	ScopeTokens
	PolicyIDs []int `json:"policyIds"`
}

// RemovePoliciesResponse is the answer of the remove policies requests.
type RemovePoliciesResponse struct {
	// RemovedPolicies counts the policies removed; IDs that the scope does
	// not hold are not counted.
	RemovedPolicies int `json:"removedPolicies"`
}

// Remove removes policies of a scope by ID
// (removeGlobalOrganizationPolicies, removeOrganizationPolicies,
// removeProductPolicies or removeProjectPolicies).
func (s *PoliciesService) Remove(ctx context.Context, scope Scope, ids []int) (*RemovePoliciesResponse, *Response, error) {
	reqs, tokens, err := scope.policyCall()
	if err != nil {
		return nil, nil, err
	}
	return callV1[RemovePoliciesResponse](ctx, s.client, reqs.remove, RemovePoliciesRequest{ScopeTokens: tokens, PolicyIDs: ids})
}

// PolicyPriority sets the priority of one policy.
type PolicyPriority struct {
	PolicyID int `json:"policyId"`
	Priority int `json:"priority"`
}

// ReorderPoliciesRequest is the request of the reorder policy priorities
// requests.
type ReorderPoliciesRequest struct {
	ScopeTokens
	PolicyPriorities []PolicyPriority `json:"policyPriorities"`
}

// Reorder sets the priorities of policies of a scope and returns all the
// scope's policies with their new priorities
// (reorderGlobalOrganizationPolicyPriorities,
// reorderOrganizationPolicyPriorities, reorderProductPolicyPriorities or
// reorderProjectPolicyPriorities).
func (s *PoliciesService) Reorder(ctx context.Context, scope Scope, priorities []PolicyPriority) (*PoliciesResponse, *Response, error) {
	reqs, tokens, err := scope.policyCall()
	if err != nil {
		return nil, nil, err
	}
	return callV1[PoliciesResponse](ctx, s.client, reqs.reorder, ReorderPoliciesRequest{ScopeTokens: tokens, PolicyPriorities: priorities})
}

func (s Scope) policyCall() (policyRequests, ScopeTokens, error) {
	reqs, err := s.Level.policyRequests()
	if err != nil {
		return policyRequests{}, ScopeTokens{}, err
	}
	tokens, err := s.tokens()
	return reqs, tokens, err
}

// ChangePolicyOwnerRequest is the changeOrganizationPolicyOwner request.
type ChangePolicyOwnerRequest struct {
	OrgToken                string `json:"orgToken"`
	CurrentPolicyOwnerEmail string `json:"currentPolicyOwnerEmail"`
	NewPolicyOwnerEmail     string `json:"newPolicyOwnerEmail"`
}

// ChangeOwner hands every policy of an organization (its own and those of
// its products and projects) owned by one user over to another
// (changeOrganizationPolicyOwner).
func (s *PoliciesService) ChangeOwner(ctx context.Context, req *ChangePolicyOwnerRequest) (*MessageResponse, *Response, error) {
	return callV1[MessageResponse](ctx, s.client, ReqChangeOrganizationPolicyOwner, req)
}
