package mend

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// The v2.0 REST calls on products and projects as entities: read one by
// token, rename it, move a project, and list an organization's page by
// page. Their JWT is the organization's, hence the org argument. The v2.0
// paths take a product's or project's token or its UUID alike.

// ProjectEntity is a project as the v2.0 API answers it (ProjectDTO):
// with the name and UUID of its product, which the v1.4 API answers with
// no project.
type ProjectEntity struct {
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	Path        string `json:"path,omitempty"`
	ProductName string `json:"productName"`
	ProductUUID string `json:"productUuid"`
}

// ProductEntity is a product as the v2.0 API answers it (ProductDTO,
// ContextEntityDTO).
type ProductEntity struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

// RenameRequest is the body that renames a product or project
// (ContextEntityRequestDTO).
type RenameRequest struct {
	Name string `json:"name"`
}

// Get returns a project with its product in one call
// (GET /api/v2.0/projects/{projectToken}). A project that does not exist
// or is out of the user's sight fails so that IsNotFound says so.
func (s *ProjectsService) Get(ctx context.Context, org, projectToken string) (*ProjectEntity, *Response, error) {
	return doV2[ProjectEntity](ctx, s.client, opGetProject, http.MethodGet, org, v2Path("projects", projectToken), nil)
}

// Rename renames a project (PUT /api/v2.0/projects/{projectToken}).
// Renaming a project to the name it has changes nothing.
func (s *ProjectsService) Rename(ctx context.Context, org, projectToken, name string) (*ProjectEntity, *Response, error) {
	return doV2[ProjectEntity](ctx, s.client, opRenameProject, http.MethodPut, org, v2Path("projects", projectToken), &RenameRequest{Name: name})
}

// Reassign moves a project to another product of the organization
// (PUT /api/v2.0/projects/{projectToken}/reassign/{productToken}), as
// ChangeAssignment does through the v1.4 API.
func (s *ProjectsService) Reassign(ctx context.Context, org, projectToken, productToken string) (*MessageResponse, *Response, error) {
	return doV2[MessageResponse](ctx, s.client, opReassignProject, http.MethodPut, org,
		v2Path("projects", projectToken, "reassign", productToken), nil)
}

// ListOrganization returns one page of the projects of an organization,
// each with its product (GET /api/v2.0/orgs/{orgToken}/projects).
func (s *ProjectsService) ListOrganization(ctx context.Context, org string, opts *PageOptions) ([]ProjectEntity, *Response, error) {
	return listV2[ProjectEntity](ctx, s.client, opListOrganizationProjects, org, v2Path("orgs", org, "projects"), opts.query())
}

// AllOrganization iterates over the projects of an organization, page
// after page.
func (s *ProjectsService) AllOrganization(ctx context.Context, org string, opts *PageOptions) iter.Seq2[ProjectEntity, error] {
	return pages(ctx, opts.page(), func(ctx context.Context, page int) ([]ProjectEntity, *Response, error) {
		return s.ListOrganization(ctx, org, opts.at(page))
	})
}

// Get returns a product (GET /api/v2.0/products/{productToken}).
func (s *ProductsService) Get(ctx context.Context, org, productToken string) (*ProductEntity, *Response, error) {
	return doV2[ProductEntity](ctx, s.client, opGetProduct, http.MethodGet, org, v2Path("products", productToken), nil)
}

// Rename renames a product (PUT /api/v2.0/products/{productToken}).
// Renaming a product to the name it has changes nothing.
func (s *ProductsService) Rename(ctx context.Context, org, productToken, name string) (*ProductEntity, *Response, error) {
	return doV2[ProductEntity](ctx, s.client, opRenameProduct, http.MethodPut, org, v2Path("products", productToken), &RenameRequest{Name: name})
}

// ListOrganization returns one page of the products of an organization
// (GET /api/v2.0/orgs/{orgToken}/products).
func (s *ProductsService) ListOrganization(ctx context.Context, org string, opts *PageOptions) ([]ProductEntity, *Response, error) {
	return listV2[ProductEntity](ctx, s.client, opListOrganizationProducts, org, v2Path("orgs", org, "products"), opts.query())
}

// AllOrganization iterates over the products of an organization, page
// after page.
func (s *ProductsService) AllOrganization(ctx context.Context, org string, opts *PageOptions) iter.Seq2[ProductEntity, error] {
	return pages(ctx, opts.page(), func(ctx context.Context, page int) ([]ProductEntity, *Response, error) {
		return s.ListOrganization(ctx, org, opts.at(page))
	})
}

// PageOptions pages a v2.0 list that takes no search or sort, such as the
// organization's products and projects.
type PageOptions struct {
	// Page is the page to return, counting from 0.
	Page int
	// PageSize is how many items a page holds, up to MaxPageSize; zero
	// leaves it to Mend (50).
	PageSize int
}

func (o *PageOptions) query() url.Values {
	if o == nil {
		return nil
	}
	q := url.Values{"page": {strconv.Itoa(o.Page)}}
	if o.PageSize > 0 {
		q.Set("pageSize", strconv.Itoa(o.PageSize))
	}
	return q
}

func (o *PageOptions) page() int {
	if o == nil {
		return 0
	}
	return o.Page
}

// at returns the options for page.
func (o *PageOptions) at(page int) *PageOptions {
	p := PageOptions{Page: page}
	if o != nil {
		p.PageSize = o.PageSize
	}
	return &p
}
