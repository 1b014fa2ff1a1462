package mend

// The two tables on this page are everything the client decides about a
// failed call: which failures it retries (retryTable), and, per operation,
// whether the operation changes Mend, whether it may be sent more than
// once within one call, how long one attempt may take, and what its
// failures mean (operations). Each row says what it rests on: a page of
// Mend's documentation (../shared/mend-api), Mend's OpenAPI documents, or
// a public client of the API.

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
)

// retryRow is one failure the client retries within a call. How often:
// up to RetryPolicy.MaxAttempts attempts in all, within MaxElapsed, with
// exponential backoff and jitter between them, and never sooner than a
// Retry-After the answer asked for (a longer wait than MaxRetryAfter ends
// the call, and the error's RetryAfter tells the caller when to come
// back). A failure no row matches is permanent.
type retryRow struct {
	failure string
	match   func(err error) bool
	source  string
}

// retryTable is every failure the client retries. What is missing on
// purpose: errorCode 4000 ("unexpected error"), which no public client
// retries, and every other errorCode; HTTP 4xx but 408 and 429; 5xx
// other than those listed.
var retryTable = []retryRow{
	{
		failure: "errorCode 3000 (invalid request parameters), also answered sporadically to valid requests",
		match:   func(err error) bool { return IsCode(err, CodeInvalidParameters) },
		source:  "mend-api README (codes seen); SAP/jenkins-library pkg/whitesource retries 3000, and only it",
	},
	{
		failure: "HTTP 429, 500, 502, 503, 504",
		match: func(err error) bool {
			var h *HTTPError
			if !errors.As(err, &h) {
				return false
			}
			switch h.StatusCode {
			case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
				http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				return true
			}
			return false
		},
		source: "mend-api README: existing clients retry HTTP 429, 500, 502, 503 and 504 with backoff",
	},
	{
		failure: "HTTP 408 (the server gave up waiting for the request)",
		match:   func(err error) bool { return IsStatus(err, http.StatusRequestTimeout) },
		source:  "RFC 9110 §15.5.9: the client may repeat the request",
	},
	{
		failure: "no answer: a timed-out attempt, a connection reset, refused or cut short",
		match: func(err error) bool {
			var netErr net.Error
			return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) ||
				errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
				errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) || errors.As(err, &netErr)
		},
		source: "mend-api README (large deletes take minutes; clients wait and retry); a mutation is then " +
			"looked up first, or not sent again (see operation.once and request.done)",
	},
	{
		failure: "held back by the Limiter: Mend asked any process to wait (Retry-After), or the organization's circuit is open",
		match:   IsUnavailable,
		source:  "the wait is Mend's own or the circuit's; no request was sent, so trying again later is safe",
	},
	{
		failure: "an answer to a read that does not decode (a body cut short, more often than a new shape)",
		match: func(err error) bool {
			var d *DecodeError
			return errors.As(err, &d)
		},
		source: "reads change nothing, so repeating one is safe; a mutation's answer never fails to decode " +
			"(see operation.mutates)",
	},
}

// operation is what the client knows of one Mend call, by name: a v1.4
// request type, or the name of a REST operation.
type operation struct {
	// mutates marks a call that changes Mend. Its 2xx answer is read
	// leniently: what does not decode is logged and left out, and the
	// call succeeds, since Mend made the change; sending it again to get
	// a readable answer would make it twice.
	mutates bool
	// once marks a change Mend neither refuses a second time nor lets be
	// told from the first: the request is sent once, whatever the failure,
	// and the caller, which can look before it tries again, decides.
	once bool
	// long marks a call that may take minutes (a large delete, a whole
	// inventory, an organization-wide list): one attempt is bounded by the
	// long timeout instead of the ordinary one.
	long bool
	// names says what a v2.0 path names, for a call whose only input is
	// that path: a 400 or 403 answer then says that it does not exist or
	// is not visible to the user (the OpenAPI documents list no 404). For
	// a v1.4 request, it says that the request names a product or project
	// by token: errorCode 5001 then means that the key may not see it,
	// which for mendflow is the same as not there.
	names string
	// source is what the row rests on.
	source string
}

// The sources the rows cite most.
const (
	srcPages       = "the request's page in ../shared/mend-api"
	srcOpenAPI     = "Mend's OpenAPI document (openapi/mend-sca-api-2.0.json or mend-platform-api-3.0.json)"
	srcRepeatable  = "sent again, Mend makes no second change (the page's semantics), so a retry is safe"
	srcNameTaken   = "sent again, Mend refuses the name as taken (2001/2010), which callers read as done"
	srcOnce        = "sent again, Mend makes a second change, or cannot be told from the first: once, the caller looks first"
	srcLong        = "mend-api README: large deletes were seen to take over two minutes; public clients wait 15–30 minutes"
	srcNotVisible  = "mend-api README: a product the key may not see can answer 5001 as well as 1003"
	srcPathEntity  = "OpenAPI: 200, 400 and 403 only; with nothing but the path as input, a refusal is about what it names"
	srcReadOrgWide = "an organization-wide list grows with the organization: long timeout"
)

// operations is the table of every call the client makes. A call whose
// name is missing here is treated as a read of the ordinary timeout; a
// test keeps the table complete.
var operations = map[string]operation{
	// v1.4 products.
	ReqCreateProduct:                {mutates: true, source: srcNameTaken},
	ReqDeleteProduct:                {mutates: true, long: true, names: "product", source: srcLong + "; a timed-out delete is looked up before it is sent again"},
	ReqGetAllProducts:               {source: srcPages},
	ReqGetProductTags:               {names: "product", source: srcNotVisible},
	ReqGetOrganizationProductTags:   {long: true, source: srcReadOrgWide},
	ReqSaveProductTag:               {mutates: true, names: "product", source: srcRepeatable},
	ReqRemoveProductTag:             {mutates: true, names: "product", source: srcRepeatable},
	ReqGetOrganizationProductVitals: {long: true, source: srcReadOrgWide},

	// v1.4 projects.
	ReqCreateProject:                 {mutates: true, names: "product", source: srcNameTaken},
	ReqDeleteProject:                 {mutates: true, long: true, names: "project", source: srcLong + "; a timed-out delete is looked up before it is sent again"},
	ReqGetAllProjects:                {names: "product", source: srcNotVisible},
	ReqChangeProjectAssignment:       {mutates: true, long: true, names: "project", source: srcRepeatable + " (moving a project where it is changes nothing); moving a large project takes time"},
	ReqGetOrganizationProjectTags:    {long: true, source: srcReadOrgWide},
	ReqGetProductProjectTags:         {names: "product", source: srcNotVisible},
	ReqGetProjectTags:                {names: "project", source: srcNotVisible},
	ReqSaveProjectTag:                {mutates: true, names: "project", source: srcRepeatable},
	ReqRemoveProjectTag:              {mutates: true, names: "project", source: srcRepeatable},
	ReqGetOrganizationProjectVitals:  {long: true, source: srcReadOrgWide},
	ReqGetProductProjectVitals:       {names: "product", source: srcNotVisible},
	ReqGetProjectVitals:              {names: "project", source: srcNotVisible},
	ReqGetProjectState:               {names: "project", source: srcNotVisible},
	ReqGetProjectHierarchy:           {long: true, names: "project", source: "a whole inventory as a tree: long timeout"},
	ReqGetProjectInventory:           {long: true, names: "project", source: "a whole inventory, tens of MiB for a large project: long timeout"},
	ReqGetLibrarySourceFiles:         {names: "project", source: srcNotVisible},
	ReqGetProjectLibraryDependencies: {names: "project", source: srcNotVisible},

	// v1.4 organizations.
	ReqGetOrganizationDetails:            {source: srcPages},
	ReqGetOrganizationInHouseLibraries:   {long: true, source: srcReadOrgWide},
	ReqGetProductInHouseLibraries:        {names: "product", source: srcNotVisible},
	ReqGetProjectInHouseLibraries:        {names: "project", source: srcNotVisible},
	ReqUnmarkManualInHouseLibrary:        {mutates: true, source: srcRepeatable + " (8000 once unmarked)"},
	ReqGetDomainPendingTasks:             {source: srcPages},
	ReqClosePendingTask:                  {mutates: true, source: srcRepeatable + " (\"Pending task not closed\" once closed)"},
	ReqSetProjectSetupNotificationConfig: {mutates: true, source: srcRepeatable},
	ReqGetRequestState:                   {source: srcPages},

	// v1.4 global organizations.
	ReqCreateGlobalOrg:        {mutates: true, once: true, source: srcOnce + " (no list of global organizations, no refusal of a name used)"},
	ReqAssignGlobalOrgToOrg:   {mutates: true, source: srcRepeatable},
	ReqRemoveGlobalOrgFromOrg: {mutates: true, source: srcRepeatable},
	ReqGetAllOrganizations:    {source: srcPages},

	// v1.4 policies. Reads at the product and project level name their
	// scope; a change refused with 5001 is a missing admin role (the
	// policy pages), not a scope out of sight.
	ReqGetGlobalOrganizationPolicies:             {source: srcPages},
	ReqGetOrganizationPolicies:                   {source: srcPages},
	ReqGetProductPolicies:                        {names: "product", source: srcNotVisible},
	ReqGetProjectPolicies:                        {names: "project", source: srcNotVisible},
	ReqAddGlobalOrganizationPolicy:               {mutates: true, once: true, source: srcOnce + " (a second policy of the same name)"},
	ReqAddOrganizationPolicy:                     {mutates: true, once: true, source: srcOnce + " (a second policy of the same name)"},
	ReqAddProductPolicy:                          {mutates: true, once: true, source: srcOnce + " (a second policy of the same name)"},
	ReqAddProjectPolicy:                          {mutates: true, once: true, source: srcOnce + " (a second policy of the same name)"},
	ReqUpdateGlobalOrganizationPolicy:            {mutates: true, once: true, source: srcOnce + " (the update gives the policy a new id; a second finds the old id gone)"},
	ReqUpdateOrganizationPolicy:                  {mutates: true, once: true, source: srcOnce + " (the update gives the policy a new id; a second finds the old id gone)"},
	ReqUpdateProductPolicy:                       {mutates: true, once: true, source: srcOnce + " (the update gives the policy a new id; a second finds the old id gone)"},
	ReqUpdateProjectPolicy:                       {mutates: true, once: true, source: srcOnce + " (the update gives the policy a new id; a second finds the old id gone)"},
	ReqRemoveGlobalOrganizationPolicies:          {mutates: true, once: true, source: srcOnce + " (a second removes nothing and reports no policy removed)"},
	ReqRemoveOrganizationPolicies:                {mutates: true, once: true, source: srcOnce + " (a second removes nothing and reports no policy removed)"},
	ReqRemoveProductPolicies:                     {mutates: true, once: true, source: srcOnce + " (a second removes nothing and reports no policy removed)"},
	ReqRemoveProjectPolicies:                     {mutates: true, once: true, source: srcOnce + " (a second removes nothing and reports no policy removed)"},
	ReqReorderGlobalOrganizationPolicyPriorities: {mutates: true, source: srcRepeatable},
	ReqReorderOrganizationPolicyPriorities:       {mutates: true, source: srcRepeatable},
	ReqReorderProductPolicyPriorities:            {mutates: true, source: srcRepeatable},
	ReqReorderProjectPolicyPriorities:            {mutates: true, source: srcRepeatable},
	ReqChangeOrganizationPolicyOwner:             {mutates: true, source: srcRepeatable + " (the old owner then owns none)"},

	// Logins (v2.0 and v3.0).
	opLogin:       {source: srcOpenAPI + ": POST /api/v2.0/login"},
	opLoginV3:     {source: srcOpenAPI + ": POST /api/v3.0/login"},
	opAccessToken: {source: srcOpenAPI + ": POST /api/v3.0/login/accessToken"},

	// v2.0 entities.
	opGetProject:               {names: "project", source: srcPathEntity},
	opGetProduct:               {names: "product", source: srcPathEntity},
	opRenameProject:            {mutates: true, source: srcRepeatable + " (renaming to the name it has)"},
	opRenameProduct:            {mutates: true, source: srcRepeatable + " (renaming to the name it has)"},
	opReassignProject:          {mutates: true, long: true, source: srcRepeatable + " (moving a project where it is changes nothing)"},
	opListOrganizationProjects: {long: true, source: srcReadOrgWide + " (a page of up to 10000)"},
	opListOrganizationProducts: {long: true, source: srcReadOrgWide + " (a page of up to 10000)"},

	// v2.0 policies and processes.
	opApplyOrganizationPolicies: {mutates: true, source: srcRepeatable + " (a second process applies the same policies)"},
	opApplyProductPolicies:      {mutates: true, names: "product", source: srcRepeatable + " (a second process applies the same policies)"},
	opApplyProjectPolicies:      {mutates: true, names: "project", source: srcRepeatable + " (a second process applies the same policies)"},
	opAsyncProcessStatus:        {names: "process", source: srcPathEntity},

	// v2.0 groups.
	opListGroups:      {source: srcOpenAPI},
	opCreateGroup:     {mutates: true, source: srcNameTaken + " (for a group, a 400: see IsNameTaken)"},
	opGetGroup:        {names: "group", source: srcPathEntity},
	opUpdateGroup:     {mutates: true, source: srcRepeatable},
	opDeleteGroup:     {mutates: true, names: "group", source: srcPathEntity + "; " + srcRepeatable},
	opListGroupUsers:  {names: "group", source: srcPathEntity},
	opAddGroupUsers:   {mutates: true, source: srcRepeatable},
	opRemoveGroupUser: {mutates: true, source: srcRepeatable},
	opListGroupRoles:  {names: "group", source: srcPathEntity},
	opAddGroupRole:    {mutates: true, source: srcRepeatable},
	opRemoveGroupRole: {mutates: true, source: srcRepeatable},
}

// The names of the REST operations, as the call record of the simulator
// and the metrics of mendhttp show them.
const (
	opLogin                     = "login"
	opLoginV3                   = "loginV3"
	opAccessToken               = "accessToken"
	opGetProject                = "getProject"
	opGetProduct                = "getProduct"
	opRenameProject             = "renameProject"
	opRenameProduct             = "renameProduct"
	opReassignProject           = "reassignProject"
	opListOrganizationProjects  = "listOrganizationProjects"
	opListOrganizationProducts  = "listOrganizationProducts"
	opApplyOrganizationPolicies = "applyOrganizationPolicies"
	opApplyProductPolicies      = "applyProductPolicies"
	opApplyProjectPolicies      = "applyProjectPolicies"
	opAsyncProcessStatus        = "asyncProcessStatus"
	opListGroups                = "listGroups"
	opCreateGroup               = "createGroup"
	opGetGroup                  = "getGroup"
	opUpdateGroup               = "updateGroup"
	opDeleteGroup               = "deleteGroup"
	opListGroupUsers            = "listGroupUsers"
	opAddGroupUsers             = "addGroupUsers"
	opRemoveGroupUser           = "removeGroupUser"
	opListGroupRoles            = "listGroupRoles"
	opAddGroupRole              = "addGroupRole"
	opRemoveGroupRole           = "removeGroupRole"
)

// RESTOperations returns the names of every v2.0 and v3.0 operation the
// client calls, as the simulator's call record names them.
func RESTOperations() []string {
	return []string{
		opLogin, opLoginV3, opAccessToken,
		opGetProject, opGetProduct, opRenameProject, opRenameProduct, opReassignProject,
		opListOrganizationProjects, opListOrganizationProducts,
		opApplyOrganizationPolicies, opApplyProductPolicies, opApplyProjectPolicies, opAsyncProcessStatus,
		opListGroups, opCreateGroup, opGetGroup, opUpdateGroup, opDeleteGroup,
		opListGroupUsers, opAddGroupUsers, opRemoveGroupUser, opListGroupRoles, opAddGroupRole, opRemoveGroupRole,
	}
}
