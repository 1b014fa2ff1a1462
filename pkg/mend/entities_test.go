package mend_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mendflow/mendflow/pkg/mend"
)

// TestEntities reads, renames and moves products and projects through the
// v2.0 API: one call for a project with its product, one to rename, one
// to move.
func TestEntities(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()
	product, web := demoWeb(t, sim)

	p, _, err := c.Projects.Get(ctx, orgToken, web)
	if err != nil {
		t.Fatalf("Projects.Get: %v", err)
	}
	wantSent(t, sim, "getProject", http.MethodGet, "/api/v2.0/projects/"+web, nil)
	want := mend.ProjectEntity{UUID: web, Name: "demo-web", Path: "demo-product", ProductName: "demo-product", ProductUUID: product}
	if diff := cmp.Diff(want, *p); diff != "" {
		t.Errorf("Projects.Get (-want, +got):\n%s", diff)
	}

	renamed, _, err := c.Projects.Rename(ctx, orgToken, web, "web")
	if err != nil || renamed.Name != "web" {
		t.Fatalf("Projects.Rename = %+v, %v", renamed, err)
	}
	wantSent(t, sim, "renameProject", http.MethodPut, "/api/v2.0/projects/"+web, map[string]any{"name": "web"})
	if _, _, err := c.Projects.Rename(ctx, orgToken, web, "web"); err != nil {
		t.Errorf("renaming to the name it has: %v", err)
	}
	_, _, err = c.Projects.Rename(ctx, orgToken, web, "demo-api")
	wantStatus(t, err, http.StatusBadRequest, "demo-api")

	other, _, err := c.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: orgToken, ProductName: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Projects.Reassign(ctx, orgToken, web, other.ProductToken); err != nil {
		t.Fatalf("Projects.Reassign: %v", err)
	}
	wantSent(t, sim, "reassignProject", http.MethodPut, "/api/v2.0/projects/"+web+"/reassign/"+other.ProductToken, nil)
	if p, _, err := c.Projects.Get(ctx, orgToken, web); err != nil || p.ProductUUID != other.ProductToken || p.ProductName != "other" {
		t.Errorf("after Reassign, Projects.Get = %+v, %v", p, err)
	}

	got, _, err := c.Products.Get(ctx, orgToken, product)
	if err != nil || *got != (mend.ProductEntity{UUID: product, Name: "demo-product"}) {
		t.Errorf("Products.Get = %+v, %v", got, err)
	}
	if got, _, err = c.Products.Rename(ctx, orgToken, product, "platform"); err != nil || got.Name != "platform" {
		t.Errorf("Products.Rename = %+v, %v", got, err)
	}
	wantSent(t, sim, "renameProduct", http.MethodPut, "/api/v2.0/products/"+product, map[string]any{"name": "platform"})
	_, _, err = c.Products.Rename(ctx, orgToken, product, "other")
	wantStatus(t, err, http.StatusBadRequest, "other")

	for _, tt := range []struct {
		name string
		err  error
	}{
		{"an unknown project", get(c.Projects.Get(ctx, orgToken, "no-such-project"))},
		{"an unknown product", get(c.Products.Get(ctx, orgToken, "no-such-product"))},
	} {
		if !mend.IsNotFound(tt.err) {
			t.Errorf("%s: IsNotFound(%v) = false", tt.name, tt.err)
		}
	}
}

// get keeps the error of a call.
func get[T any](_ T, _ *mend.Response, err error) error { return err }

// TestOrganizationListings lists an organization's products and projects
// page by page.
func TestOrganizationListings(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()
	sim.Populate(4, 2)
	var products []string
	for p, err := range c.Products.AllOrganization(ctx, orgToken, &mend.PageOptions{PageSize: 2}) {
		if err != nil {
			t.Fatalf("Products.AllOrganization: %v", err)
		}
		products = append(products, p.Name)
	}
	want := []string{"demo-product", "product-0001", "product-0002", "product-0003", "product-0004"}
	if diff := cmp.Diff(want, products); diff != "" {
		t.Errorf("products (-want, +got):\n%s", diff)
	}
	if n := len(sim.CallsOf("listOrganizationProducts")); n != 3 {
		t.Errorf("%d pages of 2 for 5 products, want 3", n)
	}
	if q := lastCall(t, sim, "listOrganizationProducts").Query; q != "page=2&pageSize=2" {
		t.Errorf("last page asked as %q", q)
	}

	var projects []mend.ProjectEntity
	for p, err := range c.Projects.AllOrganization(ctx, orgToken, &mend.PageOptions{PageSize: mend.MaxPageSize}) {
		if err != nil {
			t.Fatalf("Projects.AllOrganization: %v", err)
		}
		projects = append(projects, p)
	}
	if len(projects) != 10 || projects[9].Name != "project-02" || projects[9].ProductName != "product-0004" {
		t.Errorf("projects %+v, want 10, the last project-02 of product-0004", projects)
	}
	if n := len(sim.CallsOf("listOrganizationProjects")); n != 1 {
		t.Errorf("%d pages for 10 projects, want 1", n)
	}
}
