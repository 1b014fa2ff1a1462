package mendsim

import (
	"time"

	"github.com/mendflow/mendflow/pkg/mend"
)

func (s *Simulator) productHandlers() map[string]v1Handler {
	return map[string]v1Handler{
		mend.ReqCreateProduct:                s.createProduct,
		mend.ReqDeleteProduct:                s.deleteProduct,
		mend.ReqGetAllProducts:               s.getAllProducts,
		mend.ReqGetProductTags:               s.getProductTags,
		mend.ReqGetOrganizationProductTags:   s.getOrganizationProductTags,
		mend.ReqSaveProductTag:               s.saveProductTag,
		mend.ReqRemoveProductTag:             s.removeProductTag,
		mend.ReqGetOrganizationProductVitals: s.getOrganizationProductVitals,
	}
}

func (s *Simulator) createProduct(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.CreateProductRequest](c, "orgToken", "productName")
	if err != nil {
		return nil, err
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, err
	}
	if s.productNamed(o, req.ProductName) != nil {
		return nil, apiError(mend.CodeProductNameTaken, "Product name %s already taken", req.ProductName)
	}
	p := s.st.addProduct(o, req.ProductName, s.now())
	return mend.CreateProductResponse{ProductToken: p.token, Message: "Successfully created product " + p.name}, nil
}

func (s *Simulator) deleteProduct(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.DeleteProductRequest](c, "orgToken", "productToken")
	if err != nil {
		return nil, err
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, err
	}
	p, err := s.productOf(req.ProductToken)
	if err != nil || p.org != o.token {
		return nil, apiError(mend.CodeInvalidProductToken, "Invalid product token: %s", req.ProductToken)
	}
	for _, t := range p.projects {
		s.st.removeProject(o, p, s.st.projects[t])
	}
	delete(s.st.products, p.token)
	o.products = removeString(o.products, p.token)
	return mend.MessageResponse{Message: "Successfully deleted product " + p.name}, nil
}

func (s *Simulator) getAllProducts(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetAllProductsRequest](c, "orgToken")
	if err != nil {
		return nil, err
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, err
	}
	out := mend.GetAllProductsResponse{Products: []mend.ProductRef{}, Message: "Success"}
	for _, p := range s.productsOf(o) {
		out.Products = append(out.Products, mend.ProductRef{ProductName: p.name, ProductToken: p.token})
	}
	return out, nil
}

func (s *Simulator) getProductTags(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetProductTagsRequest](c, "productToken")
	if err != nil {
		return nil, err
	}
	p, err := s.productOf(req.ProductToken)
	if err != nil {
		return nil, err
	}
	return productTags(p), nil
}

func (s *Simulator) getOrganizationProductTags(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetOrganizationProductTagsRequest](c, "orgToken")
	if err != nil {
		return nil, err
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, err
	}
	return productTags(s.productsOf(o)...), nil
}

func productTags(products ...*product) mend.ProductTagsResponse {
	out := mend.ProductTagsResponse{ProductTags: []mend.TagsInfo{}}
	for _, p := range products {
		out.ProductTags = append(out.ProductTags, tagsInfo(p.name, p.token, p.tags))
	}
	return out
}

// tagsInfo answers a product's or project's tags, always in the
// {"key": ["value", ...]} form.
func tagsInfo(name, token string, tags tagSet) mend.TagsInfo {
	return mend.TagsInfo{Name: name, Token: token, Tags: tags.clone()}
}

func (s *Simulator) saveProductTag(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.ProductTagRequest](c, "productToken", "tagKey", "tagValue")
	if err != nil {
		return nil, err
	}
	p, err := s.productOf(req.ProductToken)
	if err != nil {
		return nil, err
	}
	p.tags.add(req.TagKey, req.TagValue)
	return mend.SaveProductTagResponse{ProductTagsInfo: tagsInfo(p.name, p.token, p.tags)}, nil
}

func (s *Simulator) removeProductTag(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.ProductTagRequest](c, "productToken", "tagKey", "tagValue")
	if err != nil {
		return nil, err
	}
	p, err := s.productOf(req.ProductToken)
	if err != nil {
		return nil, err
	}
	// Removing a value the key does not hold succeeds too: the tag is gone
	// either way, so a retried removal is not an error.
	p.tags.remove(req.TagKey, req.TagValue)
	return message("Successfully removed product tag"), nil
}

func (s *Simulator) getOrganizationProductVitals(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetOrganizationProductVitalsRequest](c, "orgToken")
	if err != nil {
		return nil, err
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, err
	}
	out := mend.ProductVitalsResponse{ProductVitals: []mend.ProductVitals{}}
	for _, p := range s.productsOf(o) {
		out.ProductVitals = append(out.ProductVitals, mend.ProductVitals{
			ID: p.id, Name: p.name, Token: p.token,
			CreationDate: vitalsTime(p.created), LastUpdatedDate: vitalsTime(p.updated),
		})
	}
	return out, nil
}

// vitalsTime formats a date of the vitals lists.
func vitalsTime(t time.Time) string { return t.UTC().Format(mend.VitalsTimeLayout) }

// productsOf returns the products of o in creation order.
func (s *Simulator) productsOf(o *org) []*product {
	out := make([]*product, 0, len(o.products))
	for _, t := range o.products {
		out = append(out, s.st.products[t])
	}
	return out
}
