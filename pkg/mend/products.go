package mend

import "context"

// CreateProductRequest is the createProduct request.
type CreateProductRequest struct {
	OrgToken    string `json:"orgToken"`
	ProductName string `json:"productName"`
}

// CreateProductResponse is the answer of createProduct.
type CreateProductResponse struct {
	ProductToken string `json:"productToken"`
	Message      string `json:"message"`
}

// Create creates a product in an organization (createProduct). A product of
// the same name makes it fail with CodeProductNameTaken; see IsNameTaken.
func (s *ProductsService) Create(ctx context.Context, req *CreateProductRequest) (*CreateProductResponse, *Response, error) {
	return callV1[CreateProductResponse](ctx, s.client, ReqCreateProduct, req)
}

// DeleteProductRequest is the deleteProduct request.
type DeleteProductRequest struct {
	OrgToken     string `json:"orgToken"`
	ProductToken string `json:"productToken"`
}

// Delete deletes a product with its projects (deleteProduct). Like
// ProjectsService.Delete, an attempt gets the long timeout, and one that
// timed out is followed by a look (getProductTags) before the request is
// sent again.
func (s *ProductsService) Delete(ctx context.Context, req *DeleteProductRequest) (*MessageResponse, *Response, error) {
	return checkedV1[MessageResponse](ctx, s.client, ReqDeleteProduct, req, gone(func(ctx context.Context) error {
		_, _, err := s.GetTags(ctx, &GetProductTagsRequest{ProductToken: req.ProductToken})
		return err
	}))
}

// GetAllProductsRequest is the getAllProducts request.
type GetAllProductsRequest struct {
	OrgToken string `json:"orgToken"`
}

// ProductRef names a product.
type ProductRef struct {
	ProductName  string `json:"productName"`
	ProductToken string `json:"productToken"`
}

// GetAllProductsResponse is the answer of getAllProducts.
type GetAllProductsResponse struct {
	Products []ProductRef `json:"products"`
	Message  string       `json:"message"`
}

// List returns the name and token of every product of an organization
// (getAllProducts).
func (s *ProductsService) List(ctx context.Context, req *GetAllProductsRequest) (*GetAllProductsResponse, *Response, error) {
	return callV1[GetAllProductsResponse](ctx, s.client, ReqGetAllProducts, req)
}

// GetProductTagsRequest is the getProductTags request.
type GetProductTagsRequest struct {
	ProductToken string `json:"productToken"`
}

// ProductTagsResponse is the answer of getProductTags and
// getOrganizationProductTags.
type ProductTagsResponse struct {
	ProductTags []TagsInfo `json:"productTags"`
}

// GetTags returns the tags of one product (getProductTags), as a list of
// one.
func (s *ProductsService) GetTags(ctx context.Context, req *GetProductTagsRequest) (*ProductTagsResponse, *Response, error) {
	return callV1[ProductTagsResponse](ctx, s.client, ReqGetProductTags, req)
}

// GetOrganizationProductTagsRequest is the getOrganizationProductTags
// request.
type GetOrganizationProductTagsRequest struct {
	OrgToken string `json:"orgToken"`
}

// GetOrganizationTags returns the tags of every product of an organization,
// products without tags included (getOrganizationProductTags).
func (s *ProductsService) GetOrganizationTags(ctx context.Context, req *GetOrganizationProductTagsRequest) (*ProductTagsResponse, *Response, error) {
	return callV1[ProductTagsResponse](ctx, s.client, ReqGetOrganizationProductTags, req)
}

// ProductTagRequest is the saveProductTag and removeProductTag request: one
// value of one key.
type ProductTagRequest struct {
	ProductToken string `json:"productToken"`
	TagKey       string `json:"tagKey"`
	TagValue     string `json:"tagValue"`
}

// SaveProductTagResponse is the answer of saveProductTag: the product with
// its tags.
type SaveProductTagResponse struct {
	ProductTagsInfo TagsInfo `json:"productTagsInfo"`
}

// SaveTag adds a value to a tag key of a product (saveProductTag). Values
// the key already holds stay; saving one of them again changes nothing.
func (s *ProductsService) SaveTag(ctx context.Context, req *ProductTagRequest) (*SaveProductTagResponse, *Response, error) {
	return callV1[SaveProductTagResponse](ctx, s.client, ReqSaveProductTag, req)
}

// RemoveTag removes one value of a tag key of a product, leaving the key's
// other values (removeProductTag).
func (s *ProductsService) RemoveTag(ctx context.Context, req *ProductTagRequest) (*MessageResponse, *Response, error) {
	return callV1[MessageResponse](ctx, s.client, ReqRemoveProductTag, req)
}

// GetOrganizationProductVitalsRequest is the getOrganizationProductVitals
// request.
type GetOrganizationProductVitalsRequest struct {
	OrgToken string `json:"orgToken"`
}

// ProductVitals is the basic information of a product. Its dates are in
// VitalsTimeLayout.
type ProductVitals struct {
	ID              int    `json:"id"`
	Name            string `json:"name"`
	Token           string `json:"token"`
	CreationDate    string `json:"creationDate"`
	LastUpdatedDate string `json:"lastUpdatedDate"`
}

// ProductVitalsResponse is the answer of getOrganizationProductVitals.
type ProductVitalsResponse struct {
	ProductVitals []ProductVitals `json:"productVitals"`
}

// GetOrganizationVitals returns the vitals of every product of an
// organization (getOrganizationProductVitals).
func (s *ProductsService) GetOrganizationVitals(ctx context.Context, req *GetOrganizationProductVitalsRequest) (*ProductVitalsResponse, *Response, error) {
	return callV1[ProductVitalsResponse](ctx, s.client, ReqGetOrganizationProductVitals, req)
}
