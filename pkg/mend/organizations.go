package mend

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
)

// FlexInt is an integer that Mend sends as a JSON string in some answers
// ("numberOfProducts": "15") where a number would be expected. It decodes
// from a string or a number, and encodes as a string, as those answers do.
type FlexInt int

// MarshalJSON encodes n as a JSON string.
func (n FlexInt) MarshalJSON() ([]byte, error) {
	return json.Marshal(strconv.Itoa(int(n)))
}

// UnmarshalJSON accepts "15", 15 and null.
func (n *FlexInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		s = string(b)
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("mend: %s is not an integer", b)
	}
	*n = FlexInt(v)
	return nil
}

// GetOrganizationDetailsRequest is the getOrganizationDetails request.
type GetOrganizationDetailsRequest struct {
	OrgToken string `json:"orgToken"`
}

// OrganizationDetails is the answer of getOrganizationDetails.
type OrganizationDetails struct {
	OrgName          string  `json:"orgName"`
	OrgToken         string  `json:"orgToken"`
	CreationDate     string  `json:"creationDate"` // 2016-01-01 12:00:00
	NumberOfProducts FlexInt `json:"numberOfProducts"`
	NumberOfProjects FlexInt `json:"numberOfProjects"`
	NumberOfGroups   FlexInt `json:"numberOfGroups"`
	NumberOfUsers    FlexInt `json:"numberOfUsers"`
}

// Details returns the name, creation date and sizes of an organization
// (getOrganizationDetails).
func (s *OrganizationsService) Details(ctx context.Context, req *GetOrganizationDetailsRequest) (*OrganizationDetails, *Response, error) {
	return callV1[OrganizationDetails](ctx, s.client, ReqGetOrganizationDetails, req)
}

// InHouseLibrariesRequest is the request of getOrganizationInHouseLibraries,
// getProductInHouseLibraries and getProjectInHouseLibraries.
type InHouseLibrariesRequest struct {
	ScopeTokens
}

// InHouseLibrary is a library marked In-House, by hand or by an In-House
// rule, and where it was found.
type InHouseLibrary struct {
	// MatchType is MatchManual or MatchAutomatic.
	MatchType string `json:"matchType"`
	// Comment comes with manual matches only and Pattern with automatic
	// ones; Mend leaves the other out, and may send an empty comment.
	Comment *string `json:"comment,omitempty"`
	Pattern *string `json:"pattern,omitempty"`

	KeyUUID      string `json:"keyUuid"`
	Filename     string `json:"filename"`
	GroupID      string `json:"groupId"`
	ArtifactID   string `json:"artifactId"`
	Version      string `json:"version,omitempty"`
	Sha1         string `json:"sha1"`
	Type         string `json:"type"`
	Description  string `json:"description,omitempty"`
	ProductName  string `json:"productName"`
	ProductToken string `json:"productToken"`
	ProjectName  string `json:"projectName"`
	ProjectToken string `json:"projectToken"`
}

// The values of InHouseLibrary.MatchType.
const (
	MatchManual    = "manual"
	MatchAutomatic = "automatic"
)

// InHouseLibrariesResponse is the answer of the In-House library requests.
type InHouseLibrariesResponse struct {
	Libraries []InHouseLibrary `json:"libraries"`
}

// InHouseLibraries returns the In-House libraries of an organization,
// product or project (getOrganizationInHouseLibraries,
// getProductInHouseLibraries or getProjectInHouseLibraries). Mend has no
// such request for a global organization.
func (s *OrganizationsService) InHouseLibraries(ctx context.Context, scope Scope) (*InHouseLibrariesResponse, *Response, error) {
	var requestType string
	switch scope.Level {
	case OrganizationLevel:
		requestType = ReqGetOrganizationInHouseLibraries
	case ProductLevel:
		requestType = ReqGetProductInHouseLibraries
	case ProjectLevel:
		requestType = ReqGetProjectInHouseLibraries
	default:
		return nil, nil, fmt.Errorf("mend: no In-House libraries request at the %s level", scope.Level)
	}
	tokens, err := scope.tokens()
	if err != nil {
		return nil, nil, err
	}
	return callV1[InHouseLibrariesResponse](ctx, s.client, requestType, InHouseLibrariesRequest{ScopeTokens: tokens})
}

// UnmarkManualInHouseLibraryRequest is the unmarkManualInHouseLibrary
// request.
type UnmarkManualInHouseLibraryRequest struct {
	OrgToken string `json:"orgToken"`
	KeyUUID  string `json:"keyUuid"`
}

// UnmarkManualInHouseLibrary stops treating a library that was marked
// In-House by hand as In-House, across the organization
// (unmarkManualInHouseLibrary). Libraries matched by an In-House rule are
// unmarked by changing the rule, not by this request.
func (s *OrganizationsService) UnmarkManualInHouseLibrary(ctx context.Context, req *UnmarkManualInHouseLibraryRequest) (*MessageResponse, *Response, error) {
	return callV1[MessageResponse](ctx, s.client, ReqUnmarkManualInHouseLibrary, req)
}

// GetDomainPendingTasksRequest is the getDomainPendingTasks request.
type GetDomainPendingTasksRequest struct {
	OrgToken string `json:"orgToken"`
	// Page counts from 0.
	Page int `json:"page"`
	// PageSize is from 1 to 10000; zero leaves it to Mend.
	PageSize int `json:"pageSize,omitempty"`
}

// PendingTask is a library awaiting approval.
type PendingTask struct {
	UUID          string `json:"uuid"`
	ProductName   string `json:"productName"`
	ProjectName   string `json:"projectName"`
	Artifact      string `json:"artifact"`
	Sha1          string `json:"sha1"`
	CreationTime  string `json:"creationTime"` // 2022-04-18 10:28:18
	ApproverEmail string `json:"approverEmail"`
}

// GetDomainPendingTasksResponse is the answer of getDomainPendingTasks.
type GetDomainPendingTasksResponse struct {
	PendingTaskInfos []PendingTask `json:"pendingTaskInfos"`
}

// PendingTasks returns a page of the organization's pending tasks
// (getDomainPendingTasks), in the order Mend gives; the pages name none. A
// page shorter than the page size is the last.
func (s *OrganizationsService) PendingTasks(ctx context.Context, req *GetDomainPendingTasksRequest) (*GetDomainPendingTasksResponse, *Response, error) {
	return callV1[GetDomainPendingTasksResponse](ctx, s.client, ReqGetDomainPendingTasks, req)
}

// ClosePendingTaskRequest is the closePendingTask request.
type ClosePendingTaskRequest struct {
	OrgToken string `json:"orgToken"`
	TaskUUID string `json:"taskUUID"`
}

// The messages of closePendingTask.
const (
	MsgPendingTaskClosed    = "Pending task closed successfully"
	MsgPendingTaskNotClosed = "Pending task not closed"
)

// ClosePendingTaskResponse is the answer of closePendingTask.
type ClosePendingTaskResponse struct {
	Message string `json:"message"`
}

// Closed reports whether the task was closed. Mend answers a task it could
// not close (an unknown or already closed one) with a message, not an error.
func (r *ClosePendingTaskResponse) Closed() bool { return r.Message == MsgPendingTaskClosed }

// ClosePendingTask closes one pending task (closePendingTask). Check Closed
// on the answer.
func (s *OrganizationsService) ClosePendingTask(ctx context.Context, req *ClosePendingTaskRequest) (*ClosePendingTaskResponse, *Response, error) {
	return callV1[ClosePendingTaskResponse](ctx, s.client, ReqClosePendingTask, req)
}

// The actions of SetProjectSetupNotificationConfigRequest. The page lists
// them as "Custom, Enabled, or Disabled" and sends "CUSTOM"; the simulator
// accepts any case, and the client sends them as spelled here.
const (
	SetupNotificationCustom   = "CUSTOM"
	SetupNotificationEnabled  = "ENABLED"
	SetupNotificationDisabled = "DISABLED"
)

// SetProjectSetupNotificationConfigRequest is the
// setProjectSetupNotificationConfig request.
type SetProjectSetupNotificationConfigRequest struct {
	OrgToken string `json:"orgToken"`
	// Action is SetupNotificationCustom, SetupNotificationEnabled or
	// SetupNotificationDisabled.
	Action string `json:"action"`
	// ProjectTagKeyRegex and ProjectTagValueRegex, both required for a
	// custom configuration, choose the projects whose setup completion is
	// notified by their tags.
	ProjectTagKeyRegex   string `json:"projectTagKeyRegex,omitempty"`
	ProjectTagValueRegex string `json:"projectTagValueRegex,omitempty"`
}

// SetProjectSetupNotificationConfig sets when the organization's users are
// notified that a project's setup has completed
// (setProjectSetupNotificationConfig).
func (s *OrganizationsService) SetProjectSetupNotificationConfig(ctx context.Context, req *SetProjectSetupNotificationConfigRequest) (*MessageResponse, *Response, error) {
	return callV1[MessageResponse](ctx, s.client, ReqSetProjectSetupNotificationConfig, req)
}
