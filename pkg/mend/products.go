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

// Delete deletes a product with its projects (deleteProduct).
func (s *ProductsService) Delete(ctx context.Context, req *DeleteProductRequest) (*MessageResponse, *Response, error) {
	return callV1[MessageResponse](ctx, s.client, ReqDeleteProduct, req)
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
