package mendsim

import (
	"github.com/mendflow/mendflow/pkg/mend"
)

func (s *Simulator) productHandlers() map[string]v1Handler {
	return map[string]v1Handler{
		mend.ReqCreateProduct:  s.createProduct,
		mend.ReqDeleteProduct:  s.deleteProduct,
		mend.ReqGetAllProducts: s.getAllProducts,
	}
}

func (s *Simulator) createProduct(c *v1Call) (any, error) {
	var req mend.CreateProductRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := c.require("orgToken", "productName"); err != nil {
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
	var req mend.DeleteProductRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := c.require("orgToken", "productToken"); err != nil {
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
		delete(s.st.projects, t)
	}
	delete(s.st.products, p.token)
	o.products = removeString(o.products, p.token)
	return mend.MessageResponse{Message: "Successfully deleted product " + p.name}, nil
}

func (s *Simulator) getAllProducts(c *v1Call) (any, error) {
	var req mend.GetAllProductsRequest
	if err := c.decode(&req); err != nil {
		return nil, err
	}
	if err := c.require("orgToken"); err != nil {
		return nil, err
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, err
	}
	out := mend.GetAllProductsResponse{Products: []mend.ProductRef{}, Message: "Success"}
	for _, t := range o.products {
		p := s.st.products[t]
		out.Products = append(out.Products, mend.ProductRef{ProductName: p.name, ProductToken: p.token})
	}
	return out, nil
}
