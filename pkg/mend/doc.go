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
// 2xx an *HTTPError (with the Retry-After the server asked for), a body that
// does not decode a *DecodeError. Classify decides, in one place, whether an
// error is worth retrying; the client itself retries transient failures a
// few times with exponential backoff and jitter (RetryPolicy) before handing
// the error back. The client's secrets (the user key, the JWTs, the v3.0
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
// The v2.0 REST calls: Groups (groups, their users and roles, with ListOptions
// for search, sort and paging, and iterators over all pages),
// Policies.ApplyOrganization, ApplyProduct and ApplyProject (asynchronous
// processes), and Organizations.ProcessStatus (asyncProcessStatus).
package mend
