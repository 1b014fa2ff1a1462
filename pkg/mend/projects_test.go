package mend_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// Key UUIDs of the demo project's libraries (mendsim's seed).
const (
	log4jKey       = "1f9ee6ec-eded-45d3-8fdb-2d0d735e5b14"
	akkaKey        = "f362c53f-ce25-4d0c-b53b-ee2768b32d1a"
	scalaKey       = "49c6840d-bf96-470f-8892-6c2a536c91eb"
	configKey      = "426c0056-f180-4cac-a9dd-c266a76b32c9"
	demoCommonKey  = "8d3b5e1a-6c2f-4e7b-9a0d-3f1c2b4a5e6d" // In-House
	billingKey     = "6d1a3c52-8f0e-4b7a-9c21-5e4f3a2b1c0d" // In-House
	unknownKeyUUID = "00000000-0000-4000-8000-000000000000"
)

func TestProjectsGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		v    any
	}{
		{"createProject.json", new(mend.CreateProjectResponse)},
		{"deleteProject.json", new(mend.MessageResponse)},
		{"getAllProjects.json", new(mend.GetAllProjectsResponse)},
		{"getOrganizationProjectTags.json", new(mend.ProjectTagsResponse)},
		{"getProductProjectTags.json", new(mend.ProjectTagsResponse)},
		{"getProjectTags.json", new(mend.ProjectTagsResponse)},
		{"saveProjectTag.json", new(mend.SaveProjectTagResponse)},
		{"removeProjectTag.json", new(mend.MessageResponse)},
		{"getProjectHierarchy.json", new(mend.ProjectHierarchyResponse)},
		{"getProjectInventory.json", new(mend.ProjectInventoryResponse)},
		{"getProjectState.json", new(mend.ProjectStateResponse)},
		{"getLibrarySourceFiles.json", new(mend.SourceFilesResponse)},
		{"getProjectLibraryDependencies.json", new(mend.LibraryDependenciesResponse)},
		{"getOrganizationProjectVitals.json", new(mend.ProjectVitalsResponse)},
		{"getProductProjectVitals.json", new(mend.ProjectVitalsResponse)},
		{"getProjectVitals.json", new(mend.ProjectVitalsResponse)},
		{"changeProjectAssignment.json", new(mend.MessageResponse)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			decodeGolden(t, tt.file, tt.v)
		})
	}
}

// TestProjectsGoldenShapes checks what the golden files hold where the
// pages use their less common shapes.
func TestProjectsGoldenShapes(t *testing.T) {
	t.Parallel()
	var tags mend.ProjectTagsResponse
	decodeGolden(t, "getProjectTags.json", &tags)
	if want := (mend.Tags{"Component": {"Database"}, "Module": {"Server"}}); !cmp.Equal(want, tags.ProjectTags[0].Tags) {
		t.Errorf("getProjectTags tags = %v, want %v", tags.ProjectTags[0].Tags, want)
	}
	var deps mend.LibraryDependenciesResponse
	decodeGolden(t, "getProjectLibraryDependencies.json", &deps)
	if len(deps.Dependencies) != 1 || len(deps.Dependencies[0]) != 2 || len(deps.Dependencies[0][0].Dependencies) != 1 {
		t.Errorf("getProjectLibraryDependencies = %+v: want one list of two libraries, the first with one dependency", deps)
	}
	var inv mend.ProjectInventoryResponse
	decodeGolden(t, "getProjectInventory.json", &inv)
	if o := inv.Libraries[0].Outdated; o == nil || *o {
		t.Errorf("getProjectInventory outdated = %v, want false", o)
	}
}

func TestProjectsWire(t *testing.T) {
	t.Parallel()
	projectOnly := func(d demo) map[string]any { return map[string]any{"projectToken": d.api} }
	testWire(t, []wireTest{
		{
			op: mend.ReqCreateProject,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.Create(ctx, &mend.CreateProjectRequest{
					ProductToken: d.product, ProjectName: "my new project", ProjectDescription: "optional field. Not mandatory",
				})
				return err
			},
			want: func(d demo) map[string]any {
				return map[string]any{"productToken": d.product, "projectName": "my new project", "projectDescription": "optional field. Not mandatory"}
			},
		},
		{
			op: mend.ReqDeleteProject,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.Delete(ctx, &mend.DeleteProjectRequest{ProductToken: d.product, ProjectToken: d.web})
				return err
			},
			want: func(d demo) map[string]any { return map[string]any{"productToken": d.product, "projectToken": d.web} },
		},
		{
			op: mend.ReqGetAllProjects,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.List(ctx, &mend.GetAllProjectsRequest{ProductToken: d.product})
				return err
			},
			want: func(d demo) map[string]any { return map[string]any{"productToken": d.product} },
		},
		{
			op: mend.ReqGetOrganizationProjectTags,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetOrganizationTags(ctx, &mend.GetOrganizationProjectTagsRequest{OrgToken: orgToken})
				return err
			},
			want: func(d demo) map[string]any { return map[string]any{"orgToken": orgToken} },
		},
		{
			op: mend.ReqGetProductProjectTags,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetProductTags(ctx, &mend.GetProductProjectTagsRequest{ProductToken: d.product})
				return err
			},
			want: func(d demo) map[string]any { return map[string]any{"productToken": d.product} },
		},
		{
			op: mend.ReqGetProjectTags,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetTags(ctx, &mend.GetProjectTagsRequest{ProjectToken: d.api})
				return err
			},
			want: projectOnly,
		},
		{
			op: mend.ReqSaveProjectTag,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.SaveTag(ctx, &mend.ProjectTagRequest{ProjectToken: d.api, TagKey: "key1", TagValue: "value1"})
				return err
			},
			want: func(d demo) map[string]any {
				return map[string]any{"projectToken": d.api, "tagKey": "key1", "tagValue": "value1"}
			},
		},
		{
			op: mend.ReqRemoveProjectTag,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.RemoveTag(ctx, &mend.ProjectTagRequest{ProjectToken: d.api, TagKey: "key1", TagValue: "value1"})
				return err
			},
			want: func(d demo) map[string]any {
				return map[string]any{"projectToken": d.api, "tagKey": "key1", "tagValue": "value1"}
			},
		},
		{
			op: mend.ReqGetProjectHierarchy,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetHierarchy(ctx, &mend.GetProjectHierarchyRequest{ProjectToken: d.api, IncludeInHouseData: new(true)})
				return err
			},
			want: func(d demo) map[string]any { return map[string]any{"projectToken": d.api, "includeInHouseData": true} },
		},
		{
			op: mend.ReqGetProjectInventory,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetInventory(ctx, &mend.GetProjectInventoryRequest{ProjectToken: d.api, IncludeInHouseData: new(true)})
				return err
			},
			want: func(d demo) map[string]any { return map[string]any{"projectToken": d.api, "includeInHouseData": true} },
		},
		{
			op: mend.ReqGetProjectState,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetState(ctx, &mend.GetProjectStateRequest{ProjectToken: d.api})
				return err
			},
			want: projectOnly,
		},
		{
			op: mend.ReqGetLibrarySourceFiles,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetLibrarySourceFiles(ctx, &mend.LibraryRequest{ProjectToken: d.api, KeyUUID: log4jKey})
				return err
			},
			want: func(d demo) map[string]any { return map[string]any{"projectToken": d.api, "keyUuid": log4jKey} },
		},
		{
			op: mend.ReqGetProjectLibraryDependencies,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetLibraryDependencies(ctx, &mend.LibraryRequest{ProjectToken: d.api, KeyUUID: akkaKey})
				return err
			},
			want: func(d demo) map[string]any { return map[string]any{"projectToken": d.api, "keyUuid": akkaKey} },
		},
		{
			op: mend.ReqGetOrganizationProjectVitals,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetOrganizationVitals(ctx, &mend.GetOrganizationProjectVitalsRequest{OrgToken: orgToken})
				return err
			},
			want: func(d demo) map[string]any { return map[string]any{"orgToken": orgToken} },
		},
		{
			op: mend.ReqGetProductProjectVitals,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetProductVitals(ctx, &mend.GetProductProjectVitalsRequest{ProductToken: d.product})
				return err
			},
			want: func(d demo) map[string]any { return map[string]any{"productToken": d.product} },
		},
		{
			op: mend.ReqGetProjectVitals,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetVitals(ctx, &mend.GetProjectVitalsRequest{ProjectToken: d.api})
				return err
			},
			want: projectOnly,
		},
		{
			op: mend.ReqChangeProjectAssignment,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.ChangeAssignment(ctx, &mend.ChangeProjectAssignmentRequest{OrgToken: orgToken, ProjectToken: d.api, NewProductToken: d.product})
				return err
			},
			want: func(d demo) map[string]any {
				return map[string]any{"orgToken": orgToken, "projectToken": d.api, "newProductToken": d.product}
			},
		},
	})
}

func TestProjectsErrors(t *testing.T) {
	t.Parallel()
	testErrors(t, []errorTest{
		{
			name: "createProject name taken",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.Create(ctx, &mend.CreateProjectRequest{ProductToken: d.product, ProjectName: "demo-api"})
				return err
			},
			code: mend.CodeProjectNameTaken,
		},
		{
			name: "createProject unknown product",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.Create(ctx, &mend.CreateProjectRequest{ProductToken: unknownToken, ProjectName: "p"})
				return err
			},
			code: mend.CodeInvalidProductToken,
		},
		{
			name: "createProject without name",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.Create(ctx, &mend.CreateProjectRequest{ProductToken: d.product})
				return err
			},
			code: mend.CodeMissingFields,
		},
		{
			name: "deleteProject of another product",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				other, _, err := c.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: orgToken, ProductName: "other"})
				if err != nil {
					return err
				}
				_, _, err = c.Projects.Delete(ctx, &mend.DeleteProjectRequest{ProductToken: other.ProductToken, ProjectToken: d.api})
				return err
			},
			code: mend.CodeInvalidProjectToken,
		},
		{
			name: "deleteProject unknown project",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.Delete(ctx, &mend.DeleteProjectRequest{ProductToken: d.product, ProjectToken: unknownToken})
				return err
			},
			code: mend.CodeInvalidProjectToken,
		},
		{
			name: "deleteProject unknown product",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.Delete(ctx, &mend.DeleteProjectRequest{ProductToken: unknownToken, ProjectToken: d.api})
				return err
			},
			code: mend.CodeInvalidProductToken,
		},
		{
			name: "getAllProjects unknown product",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.List(ctx, &mend.GetAllProjectsRequest{ProductToken: unknownToken})
				return err
			},
			code: mend.CodeInvalidProductToken,
		},
		{
			name: "getOrganizationProjectTags unknown organization",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetOrganizationTags(ctx, &mend.GetOrganizationProjectTagsRequest{OrgToken: unknownToken})
				return err
			},
			code: mend.CodeNotAllowed,
		},
		{
			name: "getProductProjectTags unknown product",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetProductTags(ctx, &mend.GetProductProjectTagsRequest{ProductToken: unknownToken})
				return err
			},
			code: mend.CodeInvalidProductToken,
		},
		{
			name: "getProjectTags unknown project",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetTags(ctx, &mend.GetProjectTagsRequest{ProjectToken: unknownToken})
				return err
			},
			code: mend.CodeInvalidProjectToken,
		},
		{
			name: "saveProjectTag unknown project",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.SaveTag(ctx, &mend.ProjectTagRequest{ProjectToken: unknownToken, TagKey: "k", TagValue: "v"})
				return err
			},
			code: mend.CodeInvalidProjectToken,
		},
		{
			name: "saveProjectTag without value",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.SaveTag(ctx, &mend.ProjectTagRequest{ProjectToken: d.api, TagKey: "k"})
				return err
			},
			code: mend.CodeMissingFields,
		},
		{
			name: "removeProjectTag unknown project",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.RemoveTag(ctx, &mend.ProjectTagRequest{ProjectToken: unknownToken, TagKey: "k", TagValue: "v"})
				return err
			},
			code: mend.CodeInvalidProjectToken,
		},
		{
			name: "removeProjectTag without key",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.RemoveTag(ctx, &mend.ProjectTagRequest{ProjectToken: d.api, TagValue: "v"})
				return err
			},
			code: mend.CodeMissingFields,
		},
		{
			name: "getProjectHierarchy unknown project",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetHierarchy(ctx, &mend.GetProjectHierarchyRequest{ProjectToken: unknownToken})
				return err
			},
			code: mend.CodeInvalidProjectToken,
		},
		{
			name: "getProjectInventory unknown project",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetInventory(ctx, &mend.GetProjectInventoryRequest{ProjectToken: unknownToken})
				return err
			},
			code: mend.CodeInvalidProjectToken,
		},
		{
			name: "getProjectState unknown project",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetState(ctx, &mend.GetProjectStateRequest{ProjectToken: unknownToken})
				return err
			},
			code: mend.CodeInvalidProjectToken,
		},
		{
			name: "getLibrarySourceFiles unknown key UUID",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetLibrarySourceFiles(ctx, &mend.LibraryRequest{ProjectToken: d.api, KeyUUID: unknownKeyUUID})
				return err
			},
			code: mend.CodeInvalidKeyUUID,
		},
		{
			name: "getLibrarySourceFiles library of another project",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetLibrarySourceFiles(ctx, &mend.LibraryRequest{ProjectToken: d.web, KeyUUID: log4jKey})
				return err
			},
			code: mend.CodeInvalidKeyUUID,
		},
		{
			name: "getLibrarySourceFiles unknown project",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetLibrarySourceFiles(ctx, &mend.LibraryRequest{ProjectToken: unknownToken, KeyUUID: log4jKey})
				return err
			},
			code: mend.CodeInvalidProjectToken,
		},
		{
			name: "getProjectLibraryDependencies unknown key UUID",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetLibraryDependencies(ctx, &mend.LibraryRequest{ProjectToken: d.api, KeyUUID: unknownKeyUUID})
				return err
			},
			code: mend.CodeInvalidKeyUUID,
		},
		{
			name: "getProjectLibraryDependencies without key UUID",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetLibraryDependencies(ctx, &mend.LibraryRequest{ProjectToken: d.api})
				return err
			},
			code: mend.CodeMissingFields,
		},
		{
			name: "getOrganizationProjectVitals unknown organization",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetOrganizationVitals(ctx, &mend.GetOrganizationProjectVitalsRequest{OrgToken: unknownToken})
				return err
			},
			code: mend.CodeNotAllowed,
		},
		{
			name: "getProductProjectVitals unknown product",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetProductVitals(ctx, &mend.GetProductProjectVitalsRequest{ProductToken: unknownToken})
				return err
			},
			code: mend.CodeInvalidProductToken,
		},
		{
			name: "getProjectVitals unknown project",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.GetVitals(ctx, &mend.GetProjectVitalsRequest{ProjectToken: unknownToken})
				return err
			},
			code: mend.CodeInvalidProjectToken,
		},
		{
			name: "changeProjectAssignment unknown project",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.ChangeAssignment(ctx, &mend.ChangeProjectAssignmentRequest{OrgToken: orgToken, ProjectToken: unknownToken, NewProductToken: d.product})
				return err
			},
			code: mend.CodeInvalidProjectToken,
		},
		{
			name: "changeProjectAssignment unknown new product",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.ChangeAssignment(ctx, &mend.ChangeProjectAssignmentRequest{OrgToken: orgToken, ProjectToken: d.api, NewProductToken: unknownToken})
				return err
			},
			code: mend.CodeInvalidProductToken,
		},
		{
			name: "changeProjectAssignment unknown organization",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.ChangeAssignment(ctx, &mend.ChangeProjectAssignmentRequest{OrgToken: unknownToken, ProjectToken: d.api, NewProductToken: d.product})
				return err
			},
			code: mend.CodeNotAllowed,
		},
		{
			name: "changeProjectAssignment without new product",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Projects.ChangeAssignment(ctx, &mend.ChangeProjectAssignmentRequest{OrgToken: orgToken, ProjectToken: d.api})
				return err
			},
			code: mend.CodeMissingFields,
		},
		{
			name: "changeProjectAssignment name taken in the new product",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				other, _, err := c.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: orgToken, ProductName: "other"})
				if err != nil {
					return err
				}
				if _, _, err := c.Projects.Create(ctx, &mend.CreateProjectRequest{ProductToken: other.ProductToken, ProjectName: "demo-api"}); err != nil {
					return err
				}
				_, _, err = c.Projects.ChangeAssignment(ctx, &mend.ChangeProjectAssignmentRequest{OrgToken: orgToken, ProjectToken: d.api, NewProductToken: other.ProductToken})
				return err
			},
			code: mend.CodeProjectNameTaken,
		},
	})
}

func TestProjectsCreateListDelete(t *testing.T) {
	t.Parallel()
	c, _, d := setupDemo(t)
	ctx := context.Background()

	created, _, err := c.Projects.Create(ctx, &mend.CreateProjectRequest{ProductToken: d.product, ProjectName: "payments-api"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if len(created.ProjectToken) != 64 || created.Message != "Successfully created project payments-api" {
		t.Errorf("Create = %+v: want a 64-character token and the page's message", created)
	}
	// Creating it again is how a retried command learns it already exists.
	_, _, err = c.Projects.Create(ctx, &mend.CreateProjectRequest{ProductToken: d.product, ProjectName: "payments-api"})
	if !mend.IsNameTaken(err) || mend.IsTransient(err) {
		t.Fatalf("second Create: got %v, want a permanent name-taken error", err)
	}

	want := []mend.ProjectRef{
		{ProjectName: "demo-api", ProjectToken: d.api},
		{ProjectName: "demo-web", ProjectToken: d.web},
		{ProjectName: "payments-api", ProjectToken: created.ProjectToken},
	}
	assertProjects(t, c, d.product, want)

	deleted, _, err := c.Projects.Delete(ctx, &mend.DeleteProjectRequest{ProductToken: d.product, ProjectToken: created.ProjectToken})
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if deleted.Message != "Successfully deleted project payments-api" {
		t.Errorf("Delete message = %q", deleted.Message)
	}
	assertProjects(t, c, d.product, want[:2])
	_, _, err = c.Projects.Delete(ctx, &mend.DeleteProjectRequest{ProductToken: d.product, ProjectToken: created.ProjectToken})
	if !mend.IsCode(err, mend.CodeInvalidProjectToken) || !mend.IsNotFound(err) {
		t.Fatalf("Delete again: got %v, want error %d", err, mend.CodeInvalidProjectToken)
	}
	// The name is free again.
	if _, _, err := c.Projects.Create(ctx, &mend.CreateProjectRequest{ProductToken: d.product, ProjectName: "payments-api"}); err != nil {
		t.Fatalf("Create after Delete: %v", err)
	}
}

func assertProjects(t *testing.T, c *mend.Client, product string, want []mend.ProjectRef) {
	t.Helper()
	got, _, err := c.Projects.List(context.Background(), &mend.GetAllProjectsRequest{ProductToken: product})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if got.Message != "Success" {
		t.Errorf("List message = %q, want Success", got.Message)
	}
	if diff := cmp.Diff(want, got.Projects); diff != "" {
		t.Errorf("List (-want, +got):\n%s", diff)
	}
}

func TestProjectTags(t *testing.T) {
	t.Parallel()
	c, _, d := setupDemo(t)
	ctx := context.Background()
	api := func(tags mend.Tags) mend.TagsInfo { return mend.TagsInfo{Name: "demo-api", Token: d.api, Tags: tags} }
	steps := []struct {
		name   string
		remove bool
		key    string
		value  string
		want   mend.Tags
	}{
		{name: "save a second value", key: "environment", value: "production", want: mend.Tags{"environment": {"staging", "production"}}},
		{name: "save a value again", key: "environment", value: "staging", want: mend.Tags{"environment": {"staging", "production"}}},
		{name: "save another key", key: "repo", value: "github.com/acme/api", want: mend.Tags{"environment": {"staging", "production"}, "repo": {"github.com/acme/api"}}},
		{name: "remove one value", remove: true, key: "environment", value: "staging", want: mend.Tags{"environment": {"production"}, "repo": {"github.com/acme/api"}}},
		{name: "remove a value the key lacks", remove: true, key: "environment", value: "staging", want: mend.Tags{"environment": {"production"}, "repo": {"github.com/acme/api"}}},
		{name: "remove the last value", remove: true, key: "repo", value: "github.com/acme/api", want: mend.Tags{"environment": {"production"}}},
	}
	// The steps build on each other, so they run in order.
	for _, st := range steps {
		req := &mend.ProjectTagRequest{ProjectToken: d.api, TagKey: st.key, TagValue: st.value}
		if st.remove {
			if _, _, err := c.Projects.RemoveTag(ctx, req); err != nil {
				t.Fatalf("%s: RemoveTag: %v", st.name, err)
			}
		} else {
			saved, _, err := c.Projects.SaveTag(ctx, req)
			if err != nil {
				t.Fatalf("%s: SaveTag: %v", st.name, err)
			}
			if diff := cmp.Diff(api(st.want), saved.ProjectTags); diff != "" {
				t.Errorf("%s: SaveTag answer (-want, +got):\n%s", st.name, diff)
			}
		}
		got, _, err := c.Projects.GetTags(ctx, &mend.GetProjectTagsRequest{ProjectToken: d.api})
		if err != nil {
			t.Fatalf("%s: GetTags: %v", st.name, err)
		}
		if diff := cmp.Diff([]mend.TagsInfo{api(st.want)}, got.ProjectTags); diff != "" {
			t.Errorf("%s: GetTags (-want, +got):\n%s", st.name, diff)
		}
	}

	// The product's and the organization's lists hold untagged projects too.
	want := []mend.TagsInfo{api(mend.Tags{"environment": {"production"}}), {Name: "demo-web", Token: d.web, Tags: mend.Tags{}}}
	byProduct, _, err := c.Projects.GetProductTags(ctx, &mend.GetProductProjectTagsRequest{ProductToken: d.product})
	if err != nil {
		t.Fatalf("GetProductTags: %v", err)
	}
	if diff := cmp.Diff(want, byProduct.ProjectTags); diff != "" {
		t.Errorf("GetProductTags (-want, +got):\n%s", diff)
	}
	other, _, err := c.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: orgToken, ProductName: "other"})
	if err != nil {
		t.Fatalf("Create product: %v", err)
	}
	third, _, err := c.Projects.Create(ctx, &mend.CreateProjectRequest{ProductToken: other.ProductToken, ProjectName: "third"})
	if err != nil {
		t.Fatalf("Create project: %v", err)
	}
	byOrg, _, err := c.Projects.GetOrganizationTags(ctx, &mend.GetOrganizationProjectTagsRequest{OrgToken: orgToken})
	if err != nil {
		t.Fatalf("GetOrganizationTags: %v", err)
	}
	want = append(want, mend.TagsInfo{Name: "third", Token: third.ProjectToken, Tags: mend.Tags{}})
	if diff := cmp.Diff(want, byOrg.ProjectTags); diff != "" {
		t.Errorf("GetOrganizationTags (-want, +got):\n%s", diff)
	}
}

// TestProjectsRemoveTagBareAnswer shows that the client reads
// removeProjectTag's answer in the form the page documents, which is not
// JSON.
func TestProjectsRemoveTagBareAnswer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{\n\t\"successfully removed project tag\"\n}"))
	}))
	t.Cleanup(srv.Close)
	c, err := mend.NewClient(srv.URL, mend.Secret(mendsim.DefaultUserKey), mend.WithRetry(fastRetry))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := c.Projects.RemoveTag(context.Background(), &mend.ProjectTagRequest{ProjectToken: unknownToken, TagKey: "k", TagValue: "v"})
	if err != nil {
		t.Fatalf("RemoveTag: %v", err)
	}
	if got.Message != "successfully removed project tag" {
		t.Errorf("Message = %q", got.Message)
	}
}

func TestProjectsChangeAssignment(t *testing.T) {
	t.Parallel()
	c, _, d := setupDemo(t)
	ctx := context.Background()
	other, _, err := c.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: orgToken, ProductName: "other"})
	if err != nil {
		t.Fatalf("Create product: %v", err)
	}
	moved, _, err := c.Projects.ChangeAssignment(ctx, &mend.ChangeProjectAssignmentRequest{OrgToken: orgToken, ProjectToken: d.web, NewProductToken: other.ProductToken})
	if err != nil {
		t.Fatalf("ChangeAssignment: %v", err)
	}
	if moved.Message != "Project assigned successfully to the new product" {
		t.Errorf("message = %q", moved.Message)
	}
	assertProjects(t, c, d.product, []mend.ProjectRef{{ProjectName: "demo-api", ProjectToken: d.api}})
	assertProjects(t, c, other.ProductToken, []mend.ProjectRef{{ProjectName: "demo-web", ProjectToken: d.web}})

	vitals, _, err := c.Projects.GetProductVitals(ctx, &mend.GetProductProjectVitalsRequest{ProductToken: other.ProductToken})
	if err != nil {
		t.Fatalf("GetProductVitals: %v", err)
	}
	if len(vitals.ProjectVitals) != 1 || vitals.ProjectVitals[0].Token != d.web {
		t.Errorf("GetProductVitals of the new product = %+v, want demo-web alone", vitals.ProjectVitals)
	}
	// Moving it where it already is changes nothing.
	if _, _, err := c.Projects.ChangeAssignment(ctx, &mend.ChangeProjectAssignmentRequest{OrgToken: orgToken, ProjectToken: d.web, NewProductToken: other.ProductToken}); err != nil {
		t.Fatalf("ChangeAssignment again: %v", err)
	}
	assertProjects(t, c, other.ProductToken, []mend.ProjectRef{{ProjectName: "demo-web", ProjectToken: d.web}})

	// The project now belongs to the new product only.
	_, _, err = c.Projects.Delete(ctx, &mend.DeleteProjectRequest{ProductToken: d.product, ProjectToken: d.web})
	if !mend.IsCode(err, mend.CodeInvalidProjectToken) {
		t.Fatalf("Delete from the old product: got %v, want error %d", err, mend.CodeInvalidProjectToken)
	}
	if _, _, err := c.Projects.Delete(ctx, &mend.DeleteProjectRequest{ProductToken: other.ProductToken, ProjectToken: d.web}); err != nil {
		t.Fatalf("Delete from the new product: %v", err)
	}
}

func TestProjectsVitals(t *testing.T) {
	t.Parallel()
	c, _, d := setupDemo(t)
	ctx := context.Background()
	const listDate = "2020-03-09 15:28:38 +0000"

	byOrg, _, err := c.Projects.GetOrganizationVitals(ctx, &mend.GetOrganizationProjectVitalsRequest{OrgToken: orgToken})
	if err != nil {
		t.Fatalf("GetOrganizationVitals: %v", err)
	}
	byProduct, _, err := c.Projects.GetProductVitals(ctx, &mend.GetProductProjectVitalsRequest{ProductToken: d.product})
	if err != nil {
		t.Fatalf("GetProductVitals: %v", err)
	}
	if len(byOrg.ProjectVitals) != 2 || byOrg.ProjectVitals[0].ID == 0 || byOrg.ProjectVitals[1].ID == 0 {
		t.Fatalf("GetOrganizationVitals = %+v: want two projects with ids", byOrg.ProjectVitals)
	}
	one, _, err := c.Projects.GetVitals(ctx, &mend.GetProjectVitalsRequest{ProjectToken: d.api})
	if err != nil {
		t.Fatalf("GetVitals: %v", err)
	}
	apiID, webID := byOrg.ProjectVitals[0].ID, byOrg.ProjectVitals[1].ID
	tests := []struct {
		name string
		got  []mend.ProjectVitals
		want []mend.ProjectVitals
	}{
		{
			name: "organization",
			got:  byOrg.ProjectVitals,
			want: []mend.ProjectVitals{
				{ID: apiID, Name: "demo-api", Token: d.api, CreationDate: listDate, LastUpdatedDate: listDate},
				{ID: webID, Name: "demo-web", Token: d.web, CreationDate: listDate, LastUpdatedDate: listDate},
			},
		},
		{
			name: "product",
			got:  byProduct.ProjectVitals,
			want: []mend.ProjectVitals{
				{PluginName: "unified agent", PluginVersion: "24.1.1", ID: apiID, Name: "demo-api", Token: d.api, UploadedBy: mendsim.DefaultUserEmail, CreationDate: listDate, LastUpdatedDate: listDate},
				{PluginName: "unified agent", PluginVersion: "24.1.1", ID: webID, Name: "demo-web", Token: d.web, UploadedBy: mendsim.DefaultUserEmail, CreationDate: listDate, LastUpdatedDate: listDate},
			},
		},
		{
			name: "project",
			got:  one.ProjectVitals,
			want: []mend.ProjectVitals{{
				PluginName: "unified agent", PluginVersion: "24.1.1", Name: "demo-api", Token: d.api,
				UploadedBy: mendsim.DefaultUserEmail, CreationDate: "2020-03-09 15:28:38", LastUpdatedDate: "2020-03-09 15:28:38",
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("vitals (-want, +got):\n%s", diff)
			}
		})
	}
	for _, v := range []struct{ layout, value string }{
		{mend.VitalsTimeLayout, byOrg.ProjectVitals[0].CreationDate},
		{mend.ProjectVitalsTimeLayout, one.ProjectVitals[0].CreationDate},
	} {
		if at, err := time.Parse(v.layout, v.value); err != nil || !at.Equal(simNow) {
			t.Errorf("%q parses as %v, %v; want %v", v.value, at, err, simNow)
		}
	}
}

func TestProjectsState(t *testing.T) {
	t.Parallel()
	c, _, d := setupDemo(t)
	ctx := context.Background()
	created, _, err := c.Projects.Create(ctx, &mend.CreateProjectRequest{ProductToken: d.product, ProjectName: "fresh"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	tests := []struct {
		name    string
		project string
		want    mend.ProjectState
	}{
		{name: "scanned", project: d.api, want: mend.ProjectState{LastProcess: "UPDATE_ALERTS", Date: "2020-03-09"}},
		{name: "new", project: created.ProjectToken, want: mend.ProjectState{LastProcess: "SETUP", Date: "2020-03-09"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := c.Projects.GetState(ctx, &mend.GetProjectStateRequest{ProjectToken: tt.project})
			if err != nil {
				t.Fatalf("GetState: %v", err)
			}
			if diff := cmp.Diff(tt.want, got.ProjectState); diff != "" {
				t.Errorf("state (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestProjectsHierarchy(t *testing.T) {
	t.Parallel()
	c, _, d := setupDemo(t)
	log4j := mend.Library{
		KeyUUID: log4jKey, KeyID: 43, Filename: "log4j-1.2.17.jar", Name: "log4j", GroupID: "log4j", ArtifactID: "log4j",
		Version: "1.2.17", SHA1: "5af35056b4d257e4b64b9e8069c0746e8b08629f", Type: "MAVEN_ARTIFACT", Coordinates: "log4j:log4j:1.2.17",
	}
	akka := mend.Library{
		KeyUUID: akkaKey, KeyID: 45, Filename: "akka-actor_2.11-2.5.2.jar", Name: "akka-actor", GroupID: "com.typesafe.akka",
		ArtifactID: "akka-actor_2.11", Version: "2.5.2", SHA1: "183ccaed9002bfa10628a5df48e7bac6f1c03f7b", Type: "MAVEN_ARTIFACT",
		Coordinates: "com.typesafe.akka:akka-actor_2.11:2.5.2",
		Dependencies: []mend.Library{
			{
				KeyUUID: scalaKey, KeyID: 44, Filename: "scala-library-2.11.11.jar", Name: "Scala Library", GroupID: "org.scala-lang",
				ArtifactID: "scala-library", Version: "2.11.11", SHA1: "e283d2b7fde6504f6a86458b1f6af465353907cc", Type: "MAVEN_ARTIFACT",
				Coordinates: "org.scala-lang:scala-library:2.11.11",
			},
			{
				KeyUUID: configKey, KeyID: 47, Filename: "config-1.3.1.jar", Name: "config", GroupID: "com.typesafe",
				ArtifactID: "config", Version: "1.3.1", SHA1: "2cf7a6cc79732e3bdf1647d7404279900ca63eb0", Type: "MAVEN_ARTIFACT",
				Coordinates: "com.typesafe:config:1.3.1",
			},
		},
	}
	common := mend.Library{
		KeyUUID: demoCommonKey, KeyID: 51, Filename: "demo-common-1.4.0.jar", Name: "demo-common", GroupID: "com.example",
		ArtifactID: "demo-common", Version: "1.4.0", SHA1: "9b1c3d5e7f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c", Type: "MAVEN_ARTIFACT",
		Coordinates: "com.example:demo-common:1.4.0",
	}
	billing := mend.Library{
		KeyUUID: billingKey, KeyID: 61, Filename: "billing-client-2.1.0.jar", Name: "billing-client", GroupID: "com.example.billing",
		ArtifactID: "billing-client", Version: "2.1.0", SHA1: "3b9e1f7c2a5d8e0f4a6c1b3d5e7f9a0b2c4d6e8f", Type: "MAVEN_ARTIFACT",
		Coordinates: "com.example.billing:billing-client:2.1.0",
	}
	tests := []struct {
		name    string
		inHouse *bool
		want    []mend.Library
	}{
		{name: "In-House data by default", want: []mend.Library{log4j, akka, common, billing}},
		{name: "In-House data asked for", inHouse: new(true), want: []mend.Library{log4j, akka, common, billing}},
		{name: "without In-House data", inHouse: new(false), want: []mend.Library{log4j, akka}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := c.Projects.GetHierarchy(context.Background(), &mend.GetProjectHierarchyRequest{ProjectToken: d.api, IncludeInHouseData: tt.inHouse})
			if err != nil {
				t.Fatalf("GetHierarchy: %v", err)
			}
			if diff := cmp.Diff(tt.want, got.Libraries); diff != "" {
				t.Errorf("libraries (-want, +got):\n%s", diff)
			}
		})
	}
	empty, _, err := c.Projects.GetHierarchy(context.Background(), &mend.GetProjectHierarchyRequest{ProjectToken: d.web})
	if err != nil || empty.Libraries == nil || len(empty.Libraries) != 0 {
		t.Errorf("GetHierarchy of a project without libraries = %+v, %v; want an empty list", empty, err)
	}
}

func TestProjectsInventory(t *testing.T) {
	t.Parallel()
	c, _, d := setupDemo(t)
	tests := []struct {
		name     string
		req      mend.GetProjectInventoryRequest
		wantKeys []string
		outdated bool
	}{
		{name: "default", wantKeys: []string{log4jKey, akkaKey, scalaKey, configKey, demoCommonKey, billingKey}},
		{name: "without In-House data", req: mend.GetProjectInventoryRequest{IncludeInHouseData: new(false)}, wantKeys: []string{log4jKey, akkaKey, scalaKey, configKey}},
		{name: "with outdated data", req: mend.GetProjectInventoryRequest{IncludeOutdatedLibraryData: true}, wantKeys: []string{log4jKey, akkaKey, scalaKey, configKey, demoCommonKey, billingKey}, outdated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := tt.req
			req.ProjectToken = d.api
			got, _, err := c.Projects.GetInventory(context.Background(), &req)
			if err != nil {
				t.Fatalf("GetInventory: %v", err)
			}
			wantVitals := mend.ProjectVitals{
				ProductName: "demo-product", Name: "demo-api", Token: d.api,
				CreationDate: "2020-03-09 15:28:38", LastUpdatedDate: "2020-03-09 15:28:38",
			}
			if diff := cmp.Diff(wantVitals, got.ProjectVitals); diff != "" {
				t.Errorf("projectVitals (-want, +got):\n%s", diff)
			}
			var keys []string
			for _, l := range got.Libraries {
				keys = append(keys, l.KeyUUID)
				if len(l.Dependencies) != 0 {
					t.Errorf("%s: the inventory is flat, got dependencies %v", l.Name, l.Dependencies)
				}
				if (l.Outdated != nil) != tt.outdated || l.Outdated != nil && *l.Outdated {
					t.Errorf("%s: outdated = %v, want it present (and false) only when asked for", l.Name, l.Outdated)
				}
			}
			if diff := cmp.Diff(tt.wantKeys, keys); diff != "" {
				t.Errorf("library keys (-want, +got):\n%s", diff)
			}
		})
	}

	got, _, err := c.Projects.GetInventory(context.Background(), &mend.GetProjectInventoryRequest{ProjectToken: d.api})
	if err != nil {
		t.Fatalf("GetInventory: %v", err)
	}
	wantLog4j := mend.Library{
		KeyUUID: log4jKey, KeyID: 43, Filename: "log4j-1.2.17.jar", Name: "log4j", GroupID: "log4j", ArtifactID: "log4j",
		Version: "1.2.17", SHA1: "5af35056b4d257e4b64b9e8069c0746e8b08629f", Type: "MAVEN_ARTIFACT", MatchType: "SHA1",
		Licenses: []mend.License{{Name: "Apache 2.0", URL: "http://www.opensource.org/licenses/Apache-2.0"}},
		// The page shows "vulnerabilities":[] and "licenses":[]: empty
		// lists are sent, not left out.
		Vulnerabilities: []json.RawMessage{},
	}
	if diff := cmp.Diff(wantLog4j, got.Libraries[0]); diff != "" {
		t.Errorf("log4j (-want, +got):\n%s", diff)
	}
	for _, l := range got.Libraries {
		if l.KeyUUID == demoCommonKey && (l.Licenses == nil || len(l.Licenses) != 0) {
			t.Errorf("demo-common, without licenses: licenses %#v, want an empty list", l.Licenses)
		}
	}
}

func TestProjectsLibraryDetails(t *testing.T) {
	t.Parallel()
	c, _, d := setupDemo(t)
	ctx := context.Background()

	files, _, err := c.Projects.GetLibrarySourceFiles(ctx, &mend.LibraryRequest{ProjectToken: d.api, KeyUUID: log4jKey})
	if err != nil {
		t.Fatalf("GetLibrarySourceFiles: %v", err)
	}
	wantFiles := []mend.SourceFile{{
		SHA1: "6bf3b8ddfecac64a916ba69de50e9faac70992ba", Name: "Logger.java", Path: "src/main/java/org/apache/log4j/Logger.java",
	}}
	if diff := cmp.Diff(wantFiles, files.SourceFiles); diff != "" {
		t.Errorf("source files (-want, +got):\n%s", diff)
	}

	apache := []mend.License{{Name: "Apache 2.0", URL: "http://www.opensource.org/licenses/Apache-2.0"}}
	tests := []struct {
		name string
		key  string
		want [][]mend.Library
	}{
		{
			name: "library with dependencies",
			key:  akkaKey,
			want: [][]mend.Library{{
				{
					KeyUUID: scalaKey, Name: "Scala Library", GroupID: "org.scala-lang", ArtifactID: "scala-library", Version: "2.11.11",
					Scope: "COMPILE", Extension: "jar", SHA1: "e283d2b7fde6504f6a86458b1f6af465353907cc",
					Licenses:     []mend.License{{Name: "BSD 3", URL: "http://www.opensource.org/licenses/BSD-3-Clause"}},
					Dependencies: []mend.Library{}, // the page shows "dependencies":[]
				},
				{
					KeyUUID: configKey, Name: "config", GroupID: "com.typesafe", ArtifactID: "config", Version: "1.3.1",
					Scope: "COMPILE", Extension: "jar", SHA1: "2cf7a6cc79732e3bdf1647d7404279900ca63eb0", Licenses: apache,
					Dependencies: []mend.Library{},
				},
			}},
		},
		{name: "library without dependencies", key: log4jKey, want: [][]mend.Library{{}}},
		{name: "transitive library", key: scalaKey, want: [][]mend.Library{{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := c.Projects.GetLibraryDependencies(ctx, &mend.LibraryRequest{ProjectToken: d.api, KeyUUID: tt.key})
			if err != nil {
				t.Fatalf("GetLibraryDependencies: %v", err)
			}
			if diff := cmp.Diff(tt.want, got.Dependencies); diff != "" {
				t.Errorf("dependencies (-want, +got):\n%s", diff)
			}
		})
	}
}
