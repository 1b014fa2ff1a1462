package mend

import (
	"context"
	"encoding/json"
)

// Layouts of the dates in Mend's answers, for time.Parse. Mend writes them
// in UTC.
const (
	// VitalsTimeLayout is the layout of the dates in the vitals lists
	// (getOrganizationProductVitals, getOrganizationProjectVitals,
	// getProductProjectVitals), such as "2020-03-09 15:28:38 +0000".
	VitalsTimeLayout = "2006-01-02 15:04:05 -0700"
	// ProjectVitalsTimeLayout is the layout of the dates of getProjectVitals
	// and of the project in getProjectInventory, such as
	// "2016-01-01 12:00:00".
	ProjectVitalsTimeLayout = "2006-01-02 15:04:05"
	// ProjectStateDateLayout is the layout of the date of getProjectState,
	// such as "2020-03-09".
	ProjectStateDateLayout = "2006-01-02"
)

// CreateProjectRequest is the createProject request.
type CreateProjectRequest struct {
	ProductToken       string `json:"productToken"`
	ProjectName        string `json:"projectName"`
	ProjectDescription string `json:"projectDescription,omitempty"`
}

// CreateProjectResponse is the answer of createProject.
type CreateProjectResponse struct {
	ProjectToken string `json:"projectToken"`
	Message      string `json:"message"`
}

// Create creates a project in a product (createProject). A project of the
// same name in that product makes it fail with CodeProjectNameTaken; see
// IsNameTaken.
func (s *ProjectsService) Create(ctx context.Context, req *CreateProjectRequest) (*CreateProjectResponse, *Response, error) {
	return callV1[CreateProjectResponse](ctx, s.client, ReqCreateProject, req)
}

// DeleteProjectRequest is the deleteProject request.
type DeleteProjectRequest struct {
	ProductToken string `json:"productToken"`
	ProjectToken string `json:"projectToken"`
}

// Delete deletes a project (deleteProject). The project must belong to the
// product given, or it fails with CodeInvalidProjectToken. Deleting a large
// project takes minutes: an attempt gets the long timeout, and one that
// timed out is followed by a look (getProjectVitals) before the request is
// sent again; a project found gone then ends the call in success, with
// Response.Confirmed set.
func (s *ProjectsService) Delete(ctx context.Context, req *DeleteProjectRequest) (*MessageResponse, *Response, error) {
	return checkedV1[MessageResponse](ctx, s.client, ReqDeleteProject, req, gone(func(ctx context.Context) error {
		_, _, err := s.GetVitals(ctx, &GetProjectVitalsRequest{ProjectToken: req.ProjectToken})
		return err
	}))
}

// GetAllProjectsRequest is the getAllProjects request.
type GetAllProjectsRequest struct {
	ProductToken string `json:"productToken"`
}

// ProjectRef names a project.
type ProjectRef struct {
	ProjectName  string `json:"projectName"`
	ProjectToken string `json:"projectToken"`
}

// GetAllProjectsResponse is the answer of getAllProjects.
type GetAllProjectsResponse struct {
	Projects []ProjectRef `json:"projects"`
	Message  string       `json:"message"`
}

// List returns the name and token of every project of a product
// (getAllProjects).
func (s *ProjectsService) List(ctx context.Context, req *GetAllProjectsRequest) (*GetAllProjectsResponse, *Response, error) {
	return callV1[GetAllProjectsResponse](ctx, s.client, ReqGetAllProjects, req)
}

// GetOrganizationProjectTagsRequest is the getOrganizationProjectTags
// request.
type GetOrganizationProjectTagsRequest struct {
	OrgToken string `json:"orgToken"`
}

// ProjectTagsResponse is the answer of getOrganizationProjectTags,
// getProductProjectTags and getProjectTags.
type ProjectTagsResponse struct {
	ProjectTags []TagsInfo `json:"projectTags"`
}

// GetOrganizationTags returns the tags of every project of an organization,
// projects without tags included (getOrganizationProjectTags).
func (s *ProjectsService) GetOrganizationTags(ctx context.Context, req *GetOrganizationProjectTagsRequest) (*ProjectTagsResponse, *Response, error) {
	return callV1[ProjectTagsResponse](ctx, s.client, ReqGetOrganizationProjectTags, req)
}

// GetProductProjectTagsRequest is the getProductProjectTags request.
type GetProductProjectTagsRequest struct {
	ProductToken string `json:"productToken"`
}

// GetProductTags returns the tags of every project of a product, projects
// without tags included (getProductProjectTags).
func (s *ProjectsService) GetProductTags(ctx context.Context, req *GetProductProjectTagsRequest) (*ProjectTagsResponse, *Response, error) {
	return callV1[ProjectTagsResponse](ctx, s.client, ReqGetProductProjectTags, req)
}

// GetProjectTagsRequest is the getProjectTags request.
type GetProjectTagsRequest struct {
	ProjectToken string `json:"projectToken"`
}

// GetTags returns the tags of one project (getProjectTags), as a list of
// one.
func (s *ProjectsService) GetTags(ctx context.Context, req *GetProjectTagsRequest) (*ProjectTagsResponse, *Response, error) {
	return callV1[ProjectTagsResponse](ctx, s.client, ReqGetProjectTags, req)
}

// ProjectTagRequest is the saveProjectTag and removeProjectTag request: one
// value of one key.
type ProjectTagRequest struct {
	ProjectToken string `json:"projectToken"`
	TagKey       string `json:"tagKey"`
	TagValue     string `json:"tagValue"`
}

// SaveProjectTagResponse is the answer of saveProjectTag: the project with
// its tags. Unlike the other project tag answers, projectTags holds one
// object, not a list.
type SaveProjectTagResponse struct {
	ProjectTags TagsInfo `json:"projectTags"`
}

// SaveTag adds a value to a tag key of a project (saveProjectTag). Values
// the key already holds stay; saving one of them again changes nothing.
func (s *ProjectsService) SaveTag(ctx context.Context, req *ProjectTagRequest) (*SaveProjectTagResponse, *Response, error) {
	return callV1[SaveProjectTagResponse](ctx, s.client, ReqSaveProjectTag, req)
}

// RemoveTag removes one value of a tag key of a project, leaving the key's
// other values (removeProjectTag). Mend documents its answer as bare text;
// Message holds it either way.
func (s *ProjectsService) RemoveTag(ctx context.Context, req *ProjectTagRequest) (*MessageResponse, *Response, error) {
	return callV1[MessageResponse](ctx, s.client, ReqRemoveProjectTag, req)
}

// Library is a library of a project's inventory. The requests that answer
// libraries each fill a part of it: getProjectHierarchy the identity,
// coordinates and dependencies; getProjectInventory the identity, licenses,
// vulnerabilities and match type; getProjectLibraryDependencies the
// identity, scope, licenses and dependencies.
type Library struct {
	KeyUUID     string `json:"keyUuid"`
	KeyID       int    `json:"keyId,omitempty"`
	Filename    string `json:"filename,omitempty"`
	Name        string `json:"name"`
	GroupID     string `json:"groupId,omitempty"`
	ArtifactID  string `json:"artifactId,omitempty"`
	Version     string `json:"version,omitempty"`
	Classifier  string `json:"classifier,omitempty"`
	Scope       string `json:"scope,omitempty"`
	Extension   string `json:"extension,omitempty"`
	SHA1        string `json:"sha1,omitempty"`
	Type        string `json:"type,omitempty"`
	Coordinates string `json:"coordinates,omitempty"`
	// Dependencies are the libraries this one brings in, each with its own.
	Dependencies []Library `json:"dependencies,omitempty"`
	Licenses     []License `json:"licenses,omitempty"`
	// Vulnerabilities are kept as Mend sends them: the pages show only
	// empty lists.
	Vulnerabilities []json.RawMessage `json:"vulnerabilities,omitempty"`
	// Outdated is set only when getProjectInventory was asked for it with
	// IncludeOutdatedLibraryData.
	Outdated  *bool  `json:"outdated,omitempty"`
	MatchType string `json:"matchType,omitempty"`
}

// License is a license of a library.
type License struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// GetProjectHierarchyRequest is the getProjectHierarchy request.
type GetProjectHierarchyRequest struct {
	ProjectToken string `json:"projectToken"`
	// IncludeInHouseData leaves In-House libraries out when false; Mend
	// includes them when it is nil.
	IncludeInHouseData *bool `json:"includeInHouseData,omitempty"`
}

// ProjectHierarchyResponse is the answer of getProjectHierarchy.
type ProjectHierarchyResponse struct {
	Libraries []Library `json:"libraries"`
}

// GetHierarchy returns the libraries of a project as a tree: each direct
// dependency with the libraries it brings in (getProjectHierarchy).
func (s *ProjectsService) GetHierarchy(ctx context.Context, req *GetProjectHierarchyRequest) (*ProjectHierarchyResponse, *Response, error) {
	return callV1[ProjectHierarchyResponse](ctx, s.client, ReqGetProjectHierarchy, req)
}

// GetProjectInventoryRequest is the getProjectInventory request.
type GetProjectInventoryRequest struct {
	ProjectToken string `json:"projectToken"`
	// IncludeInHouseData leaves In-House libraries out when false; Mend
	// includes them when it is nil.
	IncludeInHouseData *bool `json:"includeInHouseData,omitempty"`
	// IncludeOutdatedLibraryData asks for Library.Outdated.
	IncludeOutdatedLibraryData bool `json:"includeOutdatedLibraryData,omitempty"`
}

// ProjectVitals is the basic information of a project. Each request answers
// a part of it: the vitals lists the id and dates in VitalsTimeLayout,
// getProductProjectVitals the plugin as well, getProjectVitals the plugin
// and uploader with dates in ProjectVitalsTimeLayout, getProjectInventory
// the product name with dates in ProjectVitalsTimeLayout.
type ProjectVitals struct {
	PluginName      string `json:"pluginName,omitempty"`
	PluginVersion   string `json:"pluginVersion,omitempty"`
	ID              int    `json:"id,omitempty"`
	ProductName     string `json:"productName,omitempty"`
	Name            string `json:"name"`
	Token           string `json:"token"`
	UploadedBy      string `json:"uploadedBy,omitempty"`
	CreationDate    string `json:"creationDate"`
	LastUpdatedDate string `json:"lastUpdatedDate"`
}

// ProjectInventoryResponse is the answer of getProjectInventory.
type ProjectInventoryResponse struct {
	ProjectVitals ProjectVitals `json:"projectVitals"`
	Libraries     []Library     `json:"libraries"`
}

// GetInventory returns the bill of materials of a project: every library,
// direct or not, as a flat list (getProjectInventory).
func (s *ProjectsService) GetInventory(ctx context.Context, req *GetProjectInventoryRequest) (*ProjectInventoryResponse, *Response, error) {
	return callV1[ProjectInventoryResponse](ctx, s.client, ReqGetProjectInventory, req)
}

// GetProjectStateRequest is the getProjectState request.
type GetProjectStateRequest struct {
	ProjectToken string `json:"projectToken"`
}

// ProjectState is the last process run on a project (SETUP, DIFF, UPDATE,
// CHANGE_EXCLUSIONS, CHANGE_LOCAL_PATHS, REMOVE, PARTNER_UPDATE,
// UPDATE_ALERTS or CREATE_ISSUES), whether it still runs, and its date in
// ProjectStateDateLayout.
type ProjectState struct {
	LastProcess string `json:"lastProcess"`
	InProgress  bool   `json:"inProgress"`
	Date        string `json:"date"`
}

// ProjectStateResponse is the answer of getProjectState.
type ProjectStateResponse struct {
	ProjectState ProjectState `json:"projectState"`
}

// GetState returns the state of a project (getProjectState).
func (s *ProjectsService) GetState(ctx context.Context, req *GetProjectStateRequest) (*ProjectStateResponse, *Response, error) {
	return callV1[ProjectStateResponse](ctx, s.client, ReqGetProjectState, req)
}

// LibraryRequest is the getLibrarySourceFiles and
// getProjectLibraryDependencies request: a library of a project. A KeyUUID
// the project does not hold fails with CodeInvalidKeyUUID.
type LibraryRequest struct {
	ProjectToken string `json:"projectToken"`
	KeyUUID      string `json:"keyUuid"`
}

// SourceFile is a source file of a library found in a project.
type SourceFile struct {
	SHA1 string `json:"sha1"`
	Name string `json:"name"`
	Path string `json:"path"`
}

// SourceFilesResponse is the answer of getLibrarySourceFiles.
type SourceFilesResponse struct {
	SourceFiles []SourceFile `json:"sourceFiles"`
}

// GetLibrarySourceFiles returns the source files of a library in a project
// (getLibrarySourceFiles).
func (s *ProjectsService) GetLibrarySourceFiles(ctx context.Context, req *LibraryRequest) (*SourceFilesResponse, *Response, error) {
	return callV1[SourceFilesResponse](ctx, s.client, ReqGetLibrarySourceFiles, req)
}

// LibraryDependenciesResponse is the answer of
// getProjectLibraryDependencies. Mend nests the list once more than needed:
// one inner list per place the library takes in the project's hierarchy.
type LibraryDependenciesResponse struct {
	Dependencies [][]Library `json:"dependencies"`
}

// GetLibraryDependencies returns the dependencies of a library in a project
// (getProjectLibraryDependencies).
func (s *ProjectsService) GetLibraryDependencies(ctx context.Context, req *LibraryRequest) (*LibraryDependenciesResponse, *Response, error) {
	return callV1[LibraryDependenciesResponse](ctx, s.client, ReqGetProjectLibraryDependencies, req)
}

// GetOrganizationProjectVitalsRequest is the getOrganizationProjectVitals
// request.
type GetOrganizationProjectVitalsRequest struct {
	OrgToken string `json:"orgToken"`
}

// ProjectVitalsResponse is the answer of getOrganizationProjectVitals,
// getProductProjectVitals and getProjectVitals (a list of one).
type ProjectVitalsResponse struct {
	ProjectVitals []ProjectVitals `json:"projectVitals"`
}

// GetOrganizationVitals returns the vitals of every project of an
// organization (getOrganizationProjectVitals).
func (s *ProjectsService) GetOrganizationVitals(ctx context.Context, req *GetOrganizationProjectVitalsRequest) (*ProjectVitalsResponse, *Response, error) {
	return callV1[ProjectVitalsResponse](ctx, s.client, ReqGetOrganizationProjectVitals, req)
}

// GetProductProjectVitalsRequest is the getProductProjectVitals request.
type GetProductProjectVitalsRequest struct {
	ProductToken string `json:"productToken"`
}

// GetProductVitals returns the vitals of every project of a product
// (getProductProjectVitals).
func (s *ProjectsService) GetProductVitals(ctx context.Context, req *GetProductProjectVitalsRequest) (*ProjectVitalsResponse, *Response, error) {
	return callV1[ProjectVitalsResponse](ctx, s.client, ReqGetProductProjectVitals, req)
}

// GetProjectVitalsRequest is the getProjectVitals request.
type GetProjectVitalsRequest struct {
	ProjectToken string `json:"projectToken"`
}

// GetVitals returns the vitals of one project (getProjectVitals), as a list
// of one.
func (s *ProjectsService) GetVitals(ctx context.Context, req *GetProjectVitalsRequest) (*ProjectVitalsResponse, *Response, error) {
	return callV1[ProjectVitalsResponse](ctx, s.client, ReqGetProjectVitals, req)
}

// ChangeProjectAssignmentRequest is the changeProjectAssignment request.
type ChangeProjectAssignmentRequest struct {
	OrgToken        string `json:"orgToken"`
	ProjectToken    string `json:"projectToken"`
	NewProductToken string `json:"newProductToken"`
}

// ChangeAssignment moves a project to another product of the same
// organization (changeProjectAssignment). A project of the same name in the
// new product makes it fail with CodeProjectNameTaken.
func (s *ProjectsService) ChangeAssignment(ctx context.Context, req *ChangeProjectAssignmentRequest) (*MessageResponse, *Response, error) {
	return callV1[MessageResponse](ctx, s.client, ReqChangeProjectAssignment, req)
}
