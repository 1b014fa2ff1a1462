// Package mend is a client of the Mend (formerly WhiteSource) API: the v1.4
// API, where every request is a JSON object POSTed to <host>/api/v1.4 and
// named by its requestType, and the v2.0 REST API on the API host, reached
// with a JWT per organization.
//
// A Client is built by NewClient (or NewClientFromConfig, from the
// environment) and groups its calls by area: Products, Projects,
// Organizations, GlobalOrganizations, Policies and Groups. Every method takes
// a context and returns the decoded answer, the *Response, and an error.
//
// Errors: a v1.4 errorCode answer is an *APIError, an HTTP status outside
// 2xx an *HTTPError (with the Retry-After the server asked for), the answer
// to a read that does not decode a *DecodeError. The answer to a change
// never fails the call once Mend has made it: what cannot be read of it is
// left out and logged (WithLogger), and the change is not sent again.
//
// Two tables in ops.go hold every decision about a failed call. The retry
// table says which failures are retried (errorCode 3000; HTTP 408, 429,
// 500, 502, 503, 504; no answer; an unreadable answer to a read) and
// Classify reads it; errorCode 4000 is not retried. The operation table
// says, per request type or REST operation, whether it changes Mend,
// whether it is sent only once (createGlobalOrg, adding, updating and
// removing policies), whether one attempt gets the long timeout (deletes,
// moving a project, whole inventories, organization-wide lists:
// WithLongTimeout, 15 minutes by default) and what its refusals mean for
// IsNotFound. Each row cites the page or public client it rests on. The
// client retries transient failures a few times with exponential backoff
// and jitter (RetryPolicy) before handing the error back; a delete whose
// attempt timed out is looked up before it is sent again. The client's secrets (the user key, the JWTs, the v3.0
// refresh token) never appear in the printed Client, nor in the text of an
// error it returns, even one quoting an answer that quotes the request:
// every error of a request passes through one redactor, which replaces
// them with [redacted].
//
// The v1.4 request types and the methods that send them:
//
//	addGlobalOrganizationPolicy                Policies.Add with GlobalOrgScope
//	addOrganizationPolicy                      Policies.Add with OrgScope
//	addProductPolicy                           Policies.Add with ProductScope
//	addProjectPolicy                           Policies.Add with ProjectScope
//	assignGlobalOrgToOrg                       GlobalOrganizations.AssignToOrg
//	changeOrganizationPolicyOwner              Policies.ChangeOwner
//	changeProjectAssignment                    Projects.ChangeAssignment
//	closePendingTask                           Organizations.ClosePendingTask
//	createGlobalOrg                            GlobalOrganizations.Create
//	createProduct                              Products.Create
//	createProject                              Projects.Create
//	deleteProduct                              Products.Delete
//	deleteProject                              Projects.Delete
//	getAllOrganizations                        GlobalOrganizations.ListOrganizations
//	getAllProducts                             Products.List
//	getAllProjects                             Projects.List
//	getDomainPendingTasks                      Organizations.PendingTasks
//	getGlobalOrganizationPolicies              Policies.List with GlobalOrgScope
//	getLibrarySourceFiles                      Projects.GetLibrarySourceFiles
//	getOrganizationDetails                     Organizations.Details
//	getOrganizationInHouseLibraries            Organizations.InHouseLibraries with OrgScope
//	getOrganizationPolicies                    Policies.List with OrgScope
//	getOrganizationProductTags                 Products.GetOrganizationTags
//	getOrganizationProductVitals               Products.GetOrganizationVitals
//	getOrganizationProjectTags                 Projects.GetOrganizationTags
//	getOrganizationProjectVitals               Projects.GetOrganizationVitals
//	getProductInHouseLibraries                 Organizations.InHouseLibraries with ProductScope
//	getProductPolicies                         Policies.List with ProductScope
//	getProductProjectTags                      Projects.GetProductTags
//	getProductProjectVitals                    Projects.GetProductVitals
//	getProductTags                             Products.GetTags
//	getProjectHierarchy                        Projects.GetHierarchy
//	getProjectInHouseLibraries                 Organizations.InHouseLibraries with ProjectScope
//	getProjectInventory                        Projects.GetInventory
//	getProjectLibraryDependencies              Projects.GetLibraryDependencies
//	getProjectPolicies                         Policies.List with ProjectScope
//	getProjectState                            Projects.GetState
//	getProjectTags                             Projects.GetTags
//	getProjectVitals                           Projects.GetVitals
//	getRequestState                            Organizations.RequestState
//	removeGlobalOrgFromOrg                     GlobalOrganizations.RemoveFromOrg
//	removeGlobalOrganizationPolicies           Policies.Remove with GlobalOrgScope
//	removeOrganizationPolicies                 Policies.Remove with OrgScope
//	removeProductPolicies                      Policies.Remove with ProductScope
//	removeProductTag                           Products.RemoveTag
//	removeProjectPolicies                      Policies.Remove with ProjectScope
//	removeProjectTag                           Projects.RemoveTag
//	reorderGlobalOrganizationPolicyPriorities  Policies.Reorder with GlobalOrgScope
//	reorderOrganizationPolicyPriorities        Policies.Reorder with OrgScope
//	reorderProductPolicyPriorities             Policies.Reorder with ProductScope
//	reorderProjectPolicyPriorities             Policies.Reorder with ProjectScope
//	saveProductTag                             Products.SaveTag
//	saveProjectTag                             Projects.SaveTag
//	setProjectSetupNotificationConfig          Organizations.SetProjectSetupNotificationConfig
//	unmarkManualInHouseLibrary                 Organizations.UnmarkManualInHouseLibrary
//	updateGlobalOrganizationPolicy             Policies.Update with GlobalOrgScope
//	updateOrganizationPolicy                   Policies.Update with OrgScope
//	updateProductPolicy                        Policies.Update with ProductScope
//	updateProjectPolicy                        Policies.Update with ProjectScope
//
// The v2.0 REST calls, on the API host (DeriveAPIURL: api- before the host
// name of Mend's SaaS hosts): Groups (groups, their users and roles, with
// ListOptions for search, sort and paging, and iterators over all pages),
// Policies.ApplyOrganization, ApplyProduct and ApplyProject (asynchronous
// processes), Organizations.ProcessStatus (asyncProcessStatus), and the
// entities: Projects.Get (a project with its product, in one call),
// Projects.Rename, Projects.Reassign, Products.Get, Products.Rename, and
// the organization's projects and products page by page
// (ListOrganization, AllOrganization). The JWT comes from the v2.0 login,
// or with WithLoginV3 from the v3.0 access token, asked for the
// organization's UUID (learnt from the v2.0 login) in the query, as the
// OpenAPI document has it; a token answered for another organization is
// refused. A JWT refused with 401 or 403 is renewed once.
package mend
