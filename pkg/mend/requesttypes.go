package mend

// The v1.4 request types of the Mend pages, each sent by one method of this
// package; RequestTypes lists them all.
const (
	ReqAddGlobalOrganizationPolicy               = "addGlobalOrganizationPolicy"
	ReqAddOrganizationPolicy                     = "addOrganizationPolicy"
	ReqAddProductPolicy                          = "addProductPolicy"
	ReqAddProjectPolicy                          = "addProjectPolicy"
	ReqAssignGlobalOrgToOrg                      = "assignGlobalOrgToOrg"
	ReqChangeOrganizationPolicyOwner             = "changeOrganizationPolicyOwner"
	ReqChangeProjectAssignment                   = "changeProjectAssignment"
	ReqClosePendingTask                          = "closePendingTask"
	ReqCreateGlobalOrg                           = "createGlobalOrg"
	ReqCreateProduct                             = "createProduct"
	ReqCreateProject                             = "createProject"
	ReqDeleteProduct                             = "deleteProduct"
	ReqDeleteProject                             = "deleteProject"
	ReqGetAllOrganizations                       = "getAllOrganizations"
	ReqGetAllProducts                            = "getAllProducts"
	ReqGetAllProjects                            = "getAllProjects"
	ReqGetDomainPendingTasks                     = "getDomainPendingTasks"
	ReqGetGlobalOrganizationPolicies             = "getGlobalOrganizationPolicies"
	ReqGetLibrarySourceFiles                     = "getLibrarySourceFiles"
	ReqGetOrganizationDetails                    = "getOrganizationDetails"
	ReqGetOrganizationInHouseLibraries           = "getOrganizationInHouseLibraries"
	ReqGetOrganizationPolicies                   = "getOrganizationPolicies"
	ReqGetOrganizationProductTags                = "getOrganizationProductTags"
	ReqGetOrganizationProductVitals              = "getOrganizationProductVitals"
	ReqGetOrganizationProjectTags                = "getOrganizationProjectTags"
	ReqGetOrganizationProjectVitals              = "getOrganizationProjectVitals"
	ReqGetProductInHouseLibraries                = "getProductInHouseLibraries"
	ReqGetProductPolicies                        = "getProductPolicies"
	ReqGetProductProjectTags                     = "getProductProjectTags"
	ReqGetProductProjectVitals                   = "getProductProjectVitals"
	ReqGetProductTags                            = "getProductTags"
	ReqGetProjectHierarchy                       = "getProjectHierarchy"
	ReqGetProjectInHouseLibraries                = "getProjectInHouseLibraries"
	ReqGetProjectInventory                       = "getProjectInventory"
	ReqGetProjectLibraryDependencies             = "getProjectLibraryDependencies"
	ReqGetProjectPolicies                        = "getProjectPolicies"
	ReqGetProjectState                           = "getProjectState"
	ReqGetProjectTags                            = "getProjectTags"
	ReqGetProjectVitals                          = "getProjectVitals"
	ReqGetRequestState                           = "getRequestState"
	ReqRemoveGlobalOrgFromOrg                    = "removeGlobalOrgFromOrg"
	ReqRemoveGlobalOrganizationPolicies          = "removeGlobalOrganizationPolicies"
	ReqRemoveOrganizationPolicies                = "removeOrganizationPolicies"
	ReqRemoveProductPolicies                     = "removeProductPolicies"
	ReqRemoveProductTag                          = "removeProductTag"
	ReqRemoveProjectPolicies                     = "removeProjectPolicies"
	ReqRemoveProjectTag                          = "removeProjectTag"
	ReqReorderGlobalOrganizationPolicyPriorities = "reorderGlobalOrganizationPolicyPriorities"
	ReqReorderOrganizationPolicyPriorities       = "reorderOrganizationPolicyPriorities"
	ReqReorderProductPolicyPriorities            = "reorderProductPolicyPriorities"
	ReqReorderProjectPolicyPriorities            = "reorderProjectPolicyPriorities"
	ReqSaveProductTag                            = "saveProductTag"
	ReqSaveProjectTag                            = "saveProjectTag"
	ReqSetProjectSetupNotificationConfig         = "setProjectSetupNotificationConfig"
	ReqUnmarkManualInHouseLibrary                = "unmarkManualInHouseLibrary"
	ReqUpdateGlobalOrganizationPolicy            = "updateGlobalOrganizationPolicy"
	ReqUpdateOrganizationPolicy                  = "updateOrganizationPolicy"
	ReqUpdateProductPolicy                       = "updateProductPolicy"
	ReqUpdateProjectPolicy                       = "updateProjectPolicy"
)

// RequestTypes returns every v1.4 request type this package sends.
func RequestTypes() []string {
	return []string{
		ReqAddGlobalOrganizationPolicy,
		ReqAddOrganizationPolicy,
		ReqAddProductPolicy,
		ReqAddProjectPolicy,
		ReqAssignGlobalOrgToOrg,
		ReqChangeOrganizationPolicyOwner,
		ReqChangeProjectAssignment,
		ReqClosePendingTask,
		ReqCreateGlobalOrg,
		ReqCreateProduct,
		ReqCreateProject,
		ReqDeleteProduct,
		ReqDeleteProject,
		ReqGetAllOrganizations,
		ReqGetAllProducts,
		ReqGetAllProjects,
		ReqGetDomainPendingTasks,
		ReqGetGlobalOrganizationPolicies,
		ReqGetLibrarySourceFiles,
		ReqGetOrganizationDetails,
		ReqGetOrganizationInHouseLibraries,
		ReqGetOrganizationPolicies,
		ReqGetOrganizationProductTags,
		ReqGetOrganizationProductVitals,
		ReqGetOrganizationProjectTags,
		ReqGetOrganizationProjectVitals,
		ReqGetProductInHouseLibraries,
		ReqGetProductPolicies,
		ReqGetProductProjectTags,
		ReqGetProductProjectVitals,
		ReqGetProductTags,
		ReqGetProjectHierarchy,
		ReqGetProjectInHouseLibraries,
		ReqGetProjectInventory,
		ReqGetProjectLibraryDependencies,
		ReqGetProjectPolicies,
		ReqGetProjectState,
		ReqGetProjectTags,
		ReqGetProjectVitals,
		ReqGetRequestState,
		ReqRemoveGlobalOrgFromOrg,
		ReqRemoveGlobalOrganizationPolicies,
		ReqRemoveOrganizationPolicies,
		ReqRemoveProductPolicies,
		ReqRemoveProductTag,
		ReqRemoveProjectPolicies,
		ReqRemoveProjectTag,
		ReqReorderGlobalOrganizationPolicyPriorities,
		ReqReorderOrganizationPolicyPriorities,
		ReqReorderProductPolicyPriorities,
		ReqReorderProjectPolicyPriorities,
		ReqSaveProductTag,
		ReqSaveProjectTag,
		ReqSetProjectSetupNotificationConfig,
		ReqUnmarkManualInHouseLibrary,
		ReqUpdateGlobalOrganizationPolicy,
		ReqUpdateOrganizationPolicy,
		ReqUpdateProductPolicy,
		ReqUpdateProjectPolicy,
	}
}
