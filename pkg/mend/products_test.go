package mend_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mendflow/mendflow/pkg/mend"
)

func TestProductsCreateListDelete(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()

	created, _, err := c.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: orgToken, ProductName: "payments"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if len(created.ProductToken) != 64 {
		t.Errorf("product token %q: want 64 characters", created.ProductToken)
	}
	// The request on the wire is what the pages document.
	var sent map[string]any
	if err := json.Unmarshal(lastCall(t, sim, mend.ReqCreateProduct).Request, &sent); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"requestType": "createProduct", "orgToken": orgToken, "productName": "payments"}
	if diff := cmp.Diff(want, sent); diff != "" {
		t.Errorf("request body (-want, +got):\n%s", diff)
	}

	_, _, err = c.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: orgToken, ProductName: "payments"})
	if !mend.IsNameTaken(err) || mend.IsTransient(err) {
		t.Fatalf("second Create: got %v, want a permanent name-taken error", err)
	}

	list, _, err := c.Products.List(ctx, &mend.GetAllProductsRequest{OrgToken: orgToken})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if !containsProduct(list.Products, "payments", created.ProductToken) {
		t.Fatalf("List %v does not hold the new product", list.Products)
	}

	if _, _, err := c.Products.Delete(ctx, &mend.DeleteProductRequest{OrgToken: orgToken, ProductToken: created.ProductToken}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	list, _, err = c.Products.List(ctx, &mend.GetAllProductsRequest{OrgToken: orgToken})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if containsProduct(list.Products, "payments", created.ProductToken) {
		t.Fatalf("List %v still holds the deleted product", list.Products)
	}
	_, _, err = c.Products.Delete(ctx, &mend.DeleteProductRequest{OrgToken: orgToken, ProductToken: created.ProductToken})
	if !mend.IsCode(err, mend.CodeInvalidProductToken) {
		t.Fatalf("Delete again: got %v, want error %d", err, mend.CodeInvalidProductToken)
	}
}

func containsProduct(list []mend.ProductRef, name, token string) bool {
	for _, p := range list {
		if p.ProductName == name && p.ProductToken == token {
			return true
		}
	}
	return false
}

func TestProductsGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		v    any
	}{
		{"createProduct.json", new(mend.CreateProductResponse)},
		{"deleteProduct.json", new(mend.MessageResponse)},
		{"getAllProducts.json", new(mend.GetAllProductsResponse)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			decodeGolden(t, tt.file, tt.v)
		})
	}
}
