package mendsim

import (
	"encoding/json"
	"slices"

	"github.com/mendflow/mendflow/pkg/mend"
)

func (s *Simulator) projectHandlers() map[string]v1Handler {
	return map[string]v1Handler{
		mend.ReqCreateProject:                 s.createProject,
		mend.ReqDeleteProject:                 s.deleteProject,
		mend.ReqGetAllProjects:                s.getAllProjects,
		mend.ReqChangeProjectAssignment:       s.changeProjectAssignment,
		mend.ReqGetOrganizationProjectTags:    s.getOrganizationProjectTags,
		mend.ReqGetProductProjectTags:         s.getProductProjectTags,
		mend.ReqGetProjectTags:                s.getProjectTags,
		mend.ReqSaveProjectTag:                s.saveProjectTag,
		mend.ReqRemoveProjectTag:              s.removeProjectTag,
		mend.ReqGetOrganizationProjectVitals:  s.getOrganizationProjectVitals,
		mend.ReqGetProductProjectVitals:       s.getProductProjectVitals,
		mend.ReqGetProjectVitals:              s.getProjectVitals,
		mend.ReqGetProjectState:               s.getProjectState,
		mend.ReqGetProjectHierarchy:           s.getProjectHierarchy,
		mend.ReqGetProjectInventory:           s.getProjectInventory,
		mend.ReqGetLibrarySourceFiles:         s.getLibrarySourceFiles,
		mend.ReqGetProjectLibraryDependencies: s.getProjectLibraryDependencies,
	}
}

func (s *Simulator) createProject(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.CreateProjectRequest](c, "productToken", "projectName")
	if err != nil {
		return nil, err
	}
	p, err := s.productOf(req.ProductToken)
	if err != nil {
		return nil, err
	}
	if s.projectNamed(p, req.ProjectName) != nil {
		return nil, projectNameTaken(req.ProjectName)
	}
	j := s.st.addProject(p, req.ProjectName, s.now())
	return mend.CreateProjectResponse{ProjectToken: j.token, Message: "Successfully created project " + j.name}, nil
}

func projectNameTaken(name string) error {
	return apiError(mend.CodeProjectNameTaken, "Project name %s already taken", name)
}

func (s *Simulator) deleteProject(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.DeleteProjectRequest](c, "productToken", "projectToken")
	if err != nil {
		return nil, err
	}
	p, err := s.productOf(req.ProductToken)
	if err != nil {
		return nil, err
	}
	j, err := s.projectOf(req.ProjectToken)
	if err != nil {
		return nil, err
	}
	if j.product != p.token {
		return nil, apiError(mend.CodeInvalidProjectToken, "Project %s does not belong to product %s", j.token, p.token)
	}
	s.st.removeProject(s.st.orgs[p.org], p, j)
	return message("Successfully deleted project %s", j.name), nil
}

// removeProject forgets j, a project of p in o, with the In-House marks of
// its libraries and its pending tasks.
func (st *state) removeProject(o *org, p *product, j *project) {
	delete(st.projects, j.token)
	p.projects = removeString(p.projects, j.token)
	o.inHouse = slices.DeleteFunc(o.inHouse, func(l *inHouseLibrary) bool { return l.project == j.token })
	o.tasks = slices.DeleteFunc(o.tasks, func(t *pendingTask) bool { return t.project == j.token })
}

func (s *Simulator) getAllProjects(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetAllProjectsRequest](c, "productToken")
	if err != nil {
		return nil, err
	}
	p, err := s.productOf(req.ProductToken)
	if err != nil {
		return nil, err
	}
	out := mend.GetAllProjectsResponse{Projects: []mend.ProjectRef{}, Message: "Success"}
	for _, j := range s.projectsOf(p) {
		out.Projects = append(out.Projects, mend.ProjectRef{ProjectName: j.name, ProjectToken: j.token})
	}
	return out, nil
}

func (s *Simulator) changeProjectAssignment(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.ChangeProjectAssignmentRequest](c, "orgToken", "projectToken", "newProductToken")
	if err != nil {
		return nil, err
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, err
	}
	j, err := s.projectOf(req.ProjectToken)
	if err != nil {
		return nil, err
	}
	from := s.st.products[j.product]
	if from.org != o.token {
		return nil, apiError(mend.CodeInvalidProjectToken, "Invalid project token: %s", j.token)
	}
	to, err := s.productOf(req.NewProductToken)
	if err != nil {
		return nil, err
	}
	if to.org != o.token {
		return nil, apiError(mend.CodeInvalidProductToken, "Invalid product token: %s", to.token)
	}
	if err := s.moveProject(j, to); err != nil {
		return nil, err
	}
	return message("Project assigned successfully to the new product"), nil
}

// moveProject moves j to the product to, unless it is there; a project of
// its name there already refuses it (2010).
func (s *Simulator) moveProject(j *project, to *product) error {
	from := s.st.products[j.product]
	if to == from {
		return nil
	}
	if s.projectNamed(to, j.name) != nil {
		return projectNameTaken(j.name)
	}
	now := s.now()
	from.projects = removeString(from.projects, j.token)
	to.projects = append(to.projects, j.token)
	j.product = to.token
	from.updated, to.updated = now, now
	return nil
}

// projectsOf returns the projects of the products given, product by
// product, each in creation order.
func (s *Simulator) projectsOf(products ...*product) []*project {
	var out []*project
	for _, p := range products {
		for _, t := range p.projects {
			out = append(out, s.st.projects[t])
		}
	}
	return out
}

func (s *Simulator) getOrganizationProjectTags(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetOrganizationProjectTagsRequest](c, "orgToken")
	if err != nil {
		return nil, err
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, err
	}
	return projectTags(s.projectsOf(s.productsOf(o)...)...), nil
}

func (s *Simulator) getProductProjectTags(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetProductProjectTagsRequest](c, "productToken")
	if err != nil {
		return nil, err
	}
	p, err := s.productOf(req.ProductToken)
	if err != nil {
		return nil, err
	}
	return projectTags(s.projectsOf(p)...), nil
}

func (s *Simulator) getProjectTags(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetProjectTagsRequest](c, "projectToken")
	if err != nil {
		return nil, err
	}
	j, err := s.projectOf(req.ProjectToken)
	if err != nil {
		return nil, err
	}
	return projectTags(j), nil
}

func projectTags(projects ...*project) mend.ProjectTagsResponse {
	out := mend.ProjectTagsResponse{ProjectTags: []mend.TagsInfo{}}
	for _, j := range projects {
		out.ProjectTags = append(out.ProjectTags, tagsInfo(j.name, j.token, j.tags))
	}
	return out
}

func (s *Simulator) saveProjectTag(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.ProjectTagRequest](c, "projectToken", "tagKey", "tagValue")
	if err != nil {
		return nil, err
	}
	j, err := s.projectOf(req.ProjectToken)
	if err != nil {
		return nil, err
	}
	j.tags.add(req.TagKey, req.TagValue)
	return mend.SaveProjectTagResponse{ProjectTags: tagsInfo(j.name, j.token, j.tags)}, nil
}

func (s *Simulator) removeProjectTag(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.ProjectTagRequest](c, "projectToken", "tagKey", "tagValue")
	if err != nil {
		return nil, err
	}
	j, err := s.projectOf(req.ProjectToken)
	if err != nil {
		return nil, err
	}
	// As with product tags, removing a value the key does not hold succeeds.
	j.tags.remove(req.TagKey, req.TagValue)
	// The page documents {"successfully removed project tag"}, which is not
	// JSON; the simulator answers the message in the form the other
	// requests use, which the client reads the same way.
	return message("Successfully removed project tag"), nil
}

func (s *Simulator) getOrganizationProjectVitals(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetOrganizationProjectVitalsRequest](c, "orgToken")
	if err != nil {
		return nil, err
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, err
	}
	out := mend.ProjectVitalsResponse{ProjectVitals: []mend.ProjectVitals{}}
	for _, j := range s.projectsOf(s.productsOf(o)...) {
		out.ProjectVitals = append(out.ProjectVitals, listVitals(j))
	}
	return out, nil
}

func (s *Simulator) getProductProjectVitals(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetProductProjectVitalsRequest](c, "productToken")
	if err != nil {
		return nil, err
	}
	p, err := s.productOf(req.ProductToken)
	if err != nil {
		return nil, err
	}
	out := scannedVitalsResponse{ProjectVitals: []scannedVitals{}}
	for _, j := range s.projectsOf(p) {
		out.ProjectVitals = append(out.ProjectVitals, scannedVitals{ProjectVitals: listVitals(j), PluginName: j.plugin, PluginVersion: j.pluginVer, UploadedBy: j.uploadedBy})
	}
	return out, nil
}

func (s *Simulator) getProjectVitals(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetProjectVitalsRequest](c, "projectToken")
	if err != nil {
		return nil, err
	}
	j, err := s.projectOf(req.ProjectToken)
	if err != nil {
		return nil, err
	}
	return scannedVitalsResponse{ProjectVitals: []scannedVitals{{
		ProjectVitals: mend.ProjectVitals{
			Name: j.name, Token: j.token,
			CreationDate:    j.created.UTC().Format(mend.ProjectVitalsTimeLayout),
			LastUpdatedDate: j.updated.UTC().Format(mend.ProjectVitalsTimeLayout),
		},
		PluginName: j.plugin, PluginVersion: j.pluginVer, UploadedBy: j.uploadedBy,
	}}}, nil
}

// scannedVitals are a project's vitals with what its last scan left, as
// getProjectVitals and getProductProjectVitals answer them: pluginName,
// pluginVersion and uploadedBy are there, empty for a project never
// scanned. They hide the ProjectVitals fields of the same names.
type scannedVitals struct {
	mend.ProjectVitals
	PluginName    string `json:"pluginName"`
	PluginVersion string `json:"pluginVersion"`
	UploadedBy    string `json:"uploadedBy"`
}

type scannedVitalsResponse struct {
	ProjectVitals []scannedVitals `json:"projectVitals"`
}

// listVitals is a project in the organization's vitals list.
func listVitals(j *project) mend.ProjectVitals {
	return mend.ProjectVitals{
		ID: j.id, Name: j.name, Token: j.token,
		CreationDate: vitalsTime(j.created), LastUpdatedDate: vitalsTime(j.updated),
	}
}

func (s *Simulator) getProjectState(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetProjectStateRequest](c, "projectToken")
	if err != nil {
		return nil, err
	}
	j, err := s.projectOf(req.ProjectToken)
	if err != nil {
		return nil, err
	}
	// The simulator runs no processes: the last one has always ended.
	return mend.ProjectStateResponse{ProjectState: mend.ProjectState{
		LastProcess: j.lastProcess, Date: j.updated.UTC().Format(mend.ProjectStateDateLayout),
	}}, nil
}

func (s *Simulator) getProjectHierarchy(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetProjectHierarchyRequest](c, "projectToken")
	if err != nil {
		return nil, err
	}
	j, err := s.projectOf(req.ProjectToken)
	if err != nil {
		return nil, err
	}
	return mend.ProjectHierarchyResponse{Libraries: hierarchy(j.libraries, includeInHouse(req.IncludeInHouseData))}, nil
}

// includeInHouse reads includeInHouseData, which defaults to true.
func includeInHouse(v *bool) bool { return v == nil || *v }

// hierarchy answers libs as getProjectHierarchy does. Without In-House
// data, an In-House library's dependencies take its place.
func hierarchy(libs []*library, inHouse bool) []mend.Library {
	out := []mend.Library{}
	for _, l := range libs {
		deps := hierarchy(l.dependencies, inHouse)
		if l.inHouse && !inHouse {
			out = append(out, deps...)
			continue
		}
		out = append(out, mend.Library{
			KeyUUID: l.keyUUID, KeyID: l.keyID, Filename: l.filename, Name: l.name,
			GroupID: l.groupID, ArtifactID: l.artifactID, Version: l.version, SHA1: l.sha1,
			Type: l.libType, Coordinates: l.groupID + ":" + l.artifactID + ":" + l.version,
			Dependencies: deps,
		})
	}
	return out
}

func (s *Simulator) getProjectInventory(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetProjectInventoryRequest](c, "projectToken")
	if err != nil {
		return nil, err
	}
	j, err := s.projectOf(req.ProjectToken)
	if err != nil {
		return nil, err
	}
	out := inventoryResponse{
		ProjectVitals: mend.ProjectVitals{
			ProductName: s.st.products[j.product].name, Name: j.name, Token: j.token,
			CreationDate:    j.created.UTC().Format(mend.ProjectVitalsTimeLayout),
			LastUpdatedDate: j.updated.UTC().Format(mend.ProjectVitalsTimeLayout),
		},
		Libraries: []inventoryLibrary{},
	}
	inHouse := includeInHouse(req.IncludeInHouseData)
	seen := map[string]bool{}
	walkLibraries(j.libraries, func(l *library) {
		if seen[l.keyUUID] || l.inHouse && !inHouse {
			return
		}
		seen[l.keyUUID] = true
		lib := inventoryLibrary{
			Library: mend.Library{
				KeyUUID: l.keyUUID, KeyID: l.keyID, Filename: l.filename, Name: l.name,
				GroupID: l.groupID, ArtifactID: l.artifactID, Version: l.version, SHA1: l.sha1,
				Type: l.libType, MatchType: "SHA1",
			},
			Licenses: licenses(l), Vulnerabilities: []json.RawMessage{},
		}
		if req.IncludeOutdatedLibraryData {
			// The simulator knows of no newer versions.
			lib.Outdated = new(false)
		}
		out.Libraries = append(out.Libraries, lib)
	})
	return out, nil
}

// inventoryResponse is the answer of getProjectInventory.
type inventoryResponse struct {
	ProjectVitals mend.ProjectVitals `json:"projectVitals"`
	Libraries     []inventoryLibrary `json:"libraries"`
}

// inventoryLibrary is a library of getProjectInventory, whose page shows
// "licenses":[] and "vulnerabilities":[]: the lists are there when empty.
// They hide the Library fields of the same names.
type inventoryLibrary struct {
	mend.Library
	Licenses        []mend.License    `json:"licenses"`
	Vulnerabilities []json.RawMessage `json:"vulnerabilities"`
}

// walkLibraries calls fn on every library of the tree, parents first.
func walkLibraries(libs []*library, fn func(*library)) {
	for _, l := range libs {
		fn(l)
		walkLibraries(l.dependencies, fn)
	}
}

func licenses(l *library) []mend.License {
	out := make([]mend.License, 0, len(l.licenses))
	for _, lic := range l.licenses {
		out = append(out, mend.License{Name: lic.name, URL: lic.url})
	}
	return out
}

// librariesOf finds the library the request names wherever it occurs in
// the project's tree; a key UUID the project does not hold is 8000.
func (s *Simulator) librariesOf(c *v1Call) ([]*library, error) {
	req, err := decodeRequired[mend.LibraryRequest](c, "projectToken", "keyUuid")
	if err != nil {
		return nil, err
	}
	j, err := s.projectOf(req.ProjectToken)
	if err != nil {
		return nil, err
	}
	var found []*library
	walkLibraries(j.libraries, func(l *library) {
		if l.keyUUID == req.KeyUUID {
			found = append(found, l)
		}
	})
	if len(found) == 0 {
		return nil, apiError(mend.CodeInvalidKeyUUID, "Invalid key UUID: %s", req.KeyUUID)
	}
	return found, nil
}

func (s *Simulator) getLibrarySourceFiles(c *v1Call) (any, error) {
	libs, err := s.librariesOf(c)
	if err != nil {
		return nil, err
	}
	out := mend.SourceFilesResponse{SourceFiles: []mend.SourceFile{}}
	for _, f := range libs[0].sourceFiles {
		out.SourceFiles = append(out.SourceFiles, mend.SourceFile{SHA1: f.sha1, Name: f.name, Path: f.path})
	}
	return out, nil
}

func (s *Simulator) getProjectLibraryDependencies(c *v1Call) (any, error) {
	libs, err := s.librariesOf(c)
	if err != nil {
		return nil, err
	}
	out := dependenciesResponse{Dependencies: [][]dependencyLibrary{}}
	for _, l := range libs {
		out.Dependencies = append(out.Dependencies, dependencies(l.dependencies))
	}
	return out, nil
}

// dependenciesResponse is the answer of getProjectLibraryDependencies.
type dependenciesResponse struct {
	Dependencies [][]dependencyLibrary `json:"dependencies"`
}

// dependencyLibrary is a library of getProjectLibraryDependencies, whose
// page shows "classifier":"", "dependencies":[] and the licenses on every
// library: they are there when empty. They hide the Library fields of the
// same names.
type dependencyLibrary struct {
	mend.Library
	Classifier   string              `json:"classifier"`
	Dependencies []dependencyLibrary `json:"dependencies"`
	Licenses     []mend.License      `json:"licenses"`
}

// dependencies answers libs as getProjectLibraryDependencies does.
func dependencies(libs []*library) []dependencyLibrary {
	out := []dependencyLibrary{}
	for _, l := range libs {
		out = append(out, dependencyLibrary{
			Library: mend.Library{
				KeyUUID: l.keyUUID, Name: l.name, GroupID: l.groupID, ArtifactID: l.artifactID,
				Version: l.version, Scope: l.scope, Extension: l.extension, SHA1: l.sha1,
			},
			Dependencies: dependencies(l.dependencies), Licenses: licenses(l),
		})
	}
	return out
}
