package mend

import (
	"context"
	"net/http"
)

// ProcessStatus is the status of an asynchronous process.
type ProcessStatus string

// The statuses of an asynchronous process. FAILED and FAILURE both mean
// that the process failed; Mend answers either.
const (
	ProcessPending    ProcessStatus = "PENDING"
	ProcessInProgress ProcessStatus = "IN_PROGRESS"
	ProcessSuccess    ProcessStatus = "SUCCESS"
	ProcessFailed     ProcessStatus = "FAILED"
	ProcessFailure    ProcessStatus = "FAILURE"
)

// Done reports whether the status is final. A status this package does not
// know is taken as not final, so that a poller keeps asking until its own
// deadline rather than report an outcome it cannot read.
func (s ProcessStatus) Done() bool { return s == ProcessSuccess || s.Failed() }

// Failed reports whether the process ended in failure.
func (s ProcessStatus) Failed() bool { return s == ProcessFailed || s == ProcessFailure }

// ProcessTypeApplyPolicies is the processType of a policy application.
const ProcessTypeApplyPolicies = "APPLY_POLICIES"

// AsyncProcess is an asynchronous process, such as a policy application,
// as the v2.0 API reports it.
type AsyncProcess struct {
	UUID   string        `json:"uuid"`
	Status ProcessStatus `json:"status"`
	// ProcessType is what the process does, such as
	// ProcessTypeApplyPolicies.
	ProcessType string `json:"processType"`
	// ContextUUID and ContextType name the entity the process works on;
	// ContextType is DOMAIN (an organization), PRODUCT or PROJECT.
	ContextUUID        string `json:"contextUuid"`
	ContextType        string `json:"contextType"`
	Created            Time   `json:"created"`
	Modified           Time   `json:"modified"`
	MessageContentSha1 string `json:"messageContentSha1"`
	RequestToken       string `json:"requestToken"`
	UserEmail          string `json:"userEmail"`
}

// Done reports whether the process has ended, in success or failure.
func (p *AsyncProcess) Done() bool { return p.Status.Done() }

// Failed reports whether the process has ended in failure.
func (p *AsyncProcess) Failed() bool { return p.Status.Failed() }

// ApplyOrganization applies the organization's policies to its inventory
// (POST /api/v2.0/orgs/{orgToken}/policies/apply). The work runs in the
// background: follow it with OrganizationsService.ProcessStatus.
func (s *PoliciesService) ApplyOrganization(ctx context.Context, org string) (*AsyncProcess, *Response, error) {
	return doV2[AsyncProcess](ctx, s.client, opApplyOrganizationPolicies, http.MethodPost, org,
		v2Path("orgs", org, "policies", "apply"), nil)
}

// ApplyProduct applies a product's policies to its inventory
// (POST /api/v2.0/products/{productToken}/policies/apply). The JWT is the
// organization's, hence org. Follow the process with
// OrganizationsService.ProcessStatus.
func (s *PoliciesService) ApplyProduct(ctx context.Context, org, productToken string) (*AsyncProcess, *Response, error) {
	return doV2[AsyncProcess](ctx, s.client, opApplyProductPolicies, http.MethodPost, org,
		v2Path("products", productToken, "policies", "apply"), nil)
}

// ApplyProject applies a project's policies to its inventory
// (POST /api/v2.0/projects/{projectToken}/policies/apply). The JWT is the
// organization's, hence org. Follow the process with
// OrganizationsService.ProcessStatus.
func (s *PoliciesService) ApplyProject(ctx context.Context, org, projectToken string) (*AsyncProcess, *Response, error) {
	return doV2[AsyncProcess](ctx, s.client, opApplyProjectPolicies, http.MethodPost, org,
		v2Path("projects", projectToken, "policies", "apply"), nil)
}

// ProcessStatus returns the current state of an asynchronous process of an
// organization (GET /api/v2.0/orgs/{orgToken}/asyncProcessStatus/{uuid}).
// An unknown process answers HTTP 400 (the OpenAPI document lists no 404);
// IsNotFound says so.
func (s *OrganizationsService) ProcessStatus(ctx context.Context, org, processUUID string) (*AsyncProcess, *Response, error) {
	return doV2[AsyncProcess](ctx, s.client, opAsyncProcessStatus, http.MethodGet, org,
		v2Path("orgs", org, opAsyncProcessStatus, processUUID), nil)
}

// RequestState is the state of a plugin (scan) request.
type RequestState string

// The states of a plugin request, from the getRequestState page.
const (
	// RequestUnknown: the organization or the request token is not known,
	// perhaps not yet.
	RequestUnknown RequestState = "UNKNOWN"
	// RequestInProgress: the update is in progress.
	RequestInProgress RequestState = "IN_PROGRESS"
	// RequestUpdated: the inventory changed; alerts are not yet calculated.
	RequestUpdated RequestState = "UPDATED"
	// RequestFinished: alerts were calculated; the request succeeded.
	RequestFinished RequestState = "FINISHED"
	// RequestFailed: the update failed.
	RequestFailed RequestState = "FAILED"
	// RequestSkipped: a scan of the same project was running, so this one
	// was skipped; that scan brings the project up to date, so the request
	// counts as finished, not failed.
	RequestSkipped RequestState = "SKIPPED"
)

// Done reports whether the request reached a final state: FINISHED,
// SKIPPED or FAILED. UNKNOWN is not final: a request may not be known yet
// just after the scan. Neither is UPDATED, whose alerts are still to come.
func (s RequestState) Done() bool {
	return s == RequestFinished || s == RequestSkipped || s.Failed()
}

// Failed reports whether the request ended in failure (FAILED). SKIPPED is
// no failure: the scan that was running covers the project.
func (s RequestState) Failed() bool { return s == RequestFailed }

// GetRequestStateRequest is the getRequestState request.
type GetRequestStateRequest struct {
	OrgToken string `json:"orgToken"`
	// RequestToken is the support token that the Unified Agent prints
	// after a scan.
	RequestToken string `json:"requestToken"`
}

// GetRequestStateResponse is the answer of getRequestState.
type GetRequestStateResponse struct {
	RequestState RequestState `json:"requestState"`
	// Timestamp is when the request reached its state, in GMT.
	Timestamp Time `json:"timestamp"`
}

// RequestState returns the state of a plugin request (getRequestState).
// Unknown tokens answer RequestUnknown, not an error.
func (s *OrganizationsService) RequestState(ctx context.Context, req *GetRequestStateRequest) (*GetRequestStateResponse, *Response, error) {
	return callV1[GetRequestStateResponse](ctx, s.client, ReqGetRequestState, req)
}
