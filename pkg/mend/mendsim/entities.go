package mendsim

import (
	"fmt"
	"strings"

	"github.com/mendflow/mendflow/pkg/mend"
)

// The v2.0 entity endpoints: a product or project read or renamed by
// token, a project moved, and the organization's products and projects
// listed page by page. A product's or project's UUID is its token here:
// the v2.0 paths take either, and the v1.4 requests take what the v2.0
// answers name as the UUID.
func (s *Simulator) entityRoutes() []restRoute {
	return []restRoute{
		{pattern: "GET /api/v2.0/projects/{projectToken}", op: "getProject", key: "retVal", h: s.getProjectEntity},
		{pattern: "PUT /api/v2.0/projects/{projectToken}", op: "renameProject", key: "retVal", h: s.renameProject},
		{pattern: "PUT /api/v2.0/projects/{projectToken}/reassign/{productToken}", op: "reassignProject", key: "retVal", h: s.reassignProject},
		{pattern: "GET /api/v2.0/products/{productToken}", op: "getProduct", key: "retVal", h: s.getProductEntity},
		{pattern: "PUT /api/v2.0/products/{productToken}", op: "renameProduct", key: "retVal", h: s.renameProduct},
		{pattern: "GET /api/v2.0/orgs/{orgToken}/projects", op: "listOrganizationProjects", key: "retVal", h: s.listOrganizationProjects},
		{pattern: "GET /api/v2.0/orgs/{orgToken}/products", op: "listOrganizationProducts", key: "retVal", h: s.listOrganizationProducts},
	}
}

// projectIn finds the project of a path's token in the JWT's
// organization: an unknown token is a bad request, a project of another
// organization one the user may not see.
func (s *Simulator) projectIn(c *restCall, token string) (*project, error) {
	j := s.st.projects[token]
	if j == nil {
		return nil, badRequest("project not found: " + token)
	}
	if s.st.products[j.product].org != c.org.token {
		return nil, forbidden("the project is not in the organization of the JWT: " + token)
	}
	return j, nil
}

// productIn is projectIn for a product.
func (s *Simulator) productIn(c *restCall, token string) (*product, error) {
	p := s.st.products[token]
	if p == nil {
		return nil, badRequest("product not found: " + token)
	}
	if p.org != c.org.token {
		return nil, forbidden("the product is not in the organization of the JWT: " + token)
	}
	return p, nil
}

// projectEntity is ProjectDTO; a slim one, of a list asked without its
// products, has the UUID and name alone.
type projectEntity struct {
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	Path        string `json:"path,omitempty"`
	ProductName string `json:"productName,omitempty"`
	ProductUUID string `json:"productUuid,omitempty"`
}

func (s *Simulator) projectAnswer(j *project) projectEntity {
	p := s.st.products[j.product]
	return projectEntity{UUID: j.token, Name: j.name, Path: p.name, ProductName: p.name, ProductUUID: p.token}
}

// productEntity is ProductDTO and ContextEntityDTO.
type productEntity struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

func (s *Simulator) getProjectEntity(c *restCall) (any, error) {
	j, err := s.projectIn(c, c.r.PathValue("projectToken"))
	if err != nil {
		return nil, err
	}
	return s.projectAnswer(j), nil
}

// readName reads a rename's body, ContextEntityRequestDTO.
func readName(c *restCall) (string, error) {
	var in mend.RenameRequest
	if err := c.decode(&in); err != nil {
		return "", err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return "", badRequest("name is required")
	}
	return name, nil
}

// renameProject renames a project; a name another project of its product
// has is refused, as createProject refuses it (2010).
func (s *Simulator) renameProject(c *restCall) (any, error) {
	j, err := s.projectIn(c, c.r.PathValue("projectToken"))
	if err != nil {
		return nil, err
	}
	name, err := readName(c)
	if err != nil {
		return nil, err
	}
	if other := s.projectNamed(s.st.products[j.product], name); other != nil && other != j {
		return nil, badRequest(fmt.Sprintf("Project name %s already taken", name))
	}
	if j.name != name {
		j.name, j.updated = name, s.now()
	}
	return s.projectAnswer(j), nil
}

// reassignProject moves a project as changeProjectAssignment does.
func (s *Simulator) reassignProject(c *restCall) (any, error) {
	j, err := s.projectIn(c, c.r.PathValue("projectToken"))
	if err != nil {
		return nil, err
	}
	to, err := s.productIn(c, c.r.PathValue("productToken"))
	if err != nil {
		return nil, err
	}
	if err := s.moveProject(j, to); err != nil {
		return nil, badRequest(err.Error())
	}
	return restSuccess(), nil
}

func (s *Simulator) getProductEntity(c *restCall) (any, error) {
	p, err := s.productIn(c, c.r.PathValue("productToken"))
	if err != nil {
		return nil, err
	}
	return productEntity{UUID: p.token, Name: p.name}, nil
}

// renameProduct renames a product; a name another product of the
// organization has is refused, as createProduct refuses it (2001).
func (s *Simulator) renameProduct(c *restCall) (any, error) {
	p, err := s.productIn(c, c.r.PathValue("productToken"))
	if err != nil {
		return nil, err
	}
	name, err := readName(c)
	if err != nil {
		return nil, err
	}
	if other := s.productNamed(c.org, name); other != nil && other != p {
		return nil, badRequest(fmt.Sprintf("Product name %s already taken", name))
	}
	if p.name != name {
		p.name, p.updated = name, s.now()
	}
	return productEntity{UUID: p.token, Name: p.name}, nil
}

// listOrganizationProjects lists the organization's projects, product by
// product; populateProducts=false leaves the products out.
func (s *Simulator) listOrganizationProjects(c *restCall) (any, error) {
	slim := c.r.URL.Query().Get("populateProducts") == "false"
	var all []projectEntity
	for _, j := range s.projectsOf(s.productsOf(c.org)...) {
		e := s.projectAnswer(j)
		if slim {
			e = projectEntity{UUID: e.UUID, Name: e.Name}
		}
		all = append(all, e)
	}
	return listPage(c, all, listSpec[projectEntity]{})
}

func (s *Simulator) listOrganizationProducts(c *restCall) (any, error) {
	var all []productEntity
	for _, p := range s.productsOf(c.org) {
		all = append(all, productEntity{UUID: p.token, Name: p.name})
	}
	return listPage(c, all, listSpec[productEntity]{})
}
