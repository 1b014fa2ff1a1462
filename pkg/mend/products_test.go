package mend_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
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
		{"getProductTags.json", new(mend.ProductTagsResponse)},
		{"getOrganizationProductTags.json", new(mend.ProductTagsResponse)},
		{"saveProductTag.json", new(mend.SaveProductTagResponse)},
		{"removeProductTag.json", new(mend.MessageResponse)},
		{"getOrganizationProductVitals.json", new(mend.ProductVitalsResponse)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			decodeGolden(t, tt.file, tt.v)
		})
	}
}

// demo holds the tokens of the simulator's demo organization: the product
// "demo-product" and its projects "demo-api" and "demo-web".
type demo struct{ product, api, web string }

func demoOf(t *testing.T, c *mend.Client) demo {
	t.Helper()
	ctx := context.Background()
	products, _, err := c.Products.List(ctx, &mend.GetAllProductsRequest{OrgToken: orgToken})
	if err != nil || len(products.Products) == 0 {
		t.Fatalf("List products: %v, %v", products, err)
	}
	d := demo{product: products.Products[0].ProductToken}
	projects, _, err := c.Projects.List(ctx, &mend.GetAllProjectsRequest{ProductToken: d.product})
	if err != nil {
		t.Fatalf("List projects: %v", err)
	}
	for _, p := range projects.Projects {
		switch p.ProjectName {
		case "demo-api":
			d.api = p.ProjectToken
		case "demo-web":
			d.web = p.ProjectToken
		}
	}
	if d.api == "" || d.web == "" {
		t.Fatalf("demo projects missing from %v", projects.Projects)
	}
	return d
}

// simNow is the simulator's clock in the tests that read dates: 15:28:38
// UTC, given in another zone to show that Mend's dates are in UTC.
var simNow = time.Date(2020, 3, 9, 17, 28, 38, 0, time.FixedZone("CEST", 2*60*60))

// setupDemo starts a simulator on simNow and returns a client of it with
// the demo organization's tokens.
func setupDemo(t *testing.T) (*mend.Client, *mendsim.Server, demo) {
	t.Helper()
	c, sim := setupWith(t, mendsim.Config{Now: func() time.Time { return simNow }})
	return c, sim, demoOf(t, c)
}

// wireTest is a call whose request body must be what the page documents.
type wireTest struct {
	op   string // the request type
	call func(ctx context.Context, c *mend.Client, d demo) error
	want func(d demo) map[string]any // the body without requestType and userKey
}

func testWire(t *testing.T, tests []wireTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			t.Parallel()
			c, sim, d := setupDemo(t)
			if err := tt.call(context.Background(), c, d); err != nil {
				t.Fatalf("%s: %v", tt.op, err)
			}
			want := tt.want(d)
			want["requestType"] = tt.op
			if diff := cmp.Diff(want, sentBody(t, sim, tt.op)); diff != "" {
				t.Errorf("request body (-want, +got):\n%s", diff)
			}
		})
	}
}

// errorTest is a call that must fail with a permanent errorCode.
type errorTest struct {
	name string
	call func(ctx context.Context, c *mend.Client, d demo) error
	code int
}

func testErrors(t *testing.T, tests []errorTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _, d := setupDemo(t)
			wantCode(t, tt.call(context.Background(), c, d), tt.code)
		})
	}
}

// unknownToken is a well-formed token that no product or project has.
const unknownToken = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

func TestProductsWire(t *testing.T) {
	t.Parallel()
	testWire(t, []wireTest{
		{
			op: mend.ReqGetProductTags,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Products.GetTags(ctx, &mend.GetProductTagsRequest{ProductToken: d.product})
				return err
			},
			want: func(d demo) map[string]any { return map[string]any{"productToken": d.product} },
		},
		{
			op: mend.ReqGetOrganizationProductTags,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Products.GetOrganizationTags(ctx, &mend.GetOrganizationProductTagsRequest{OrgToken: orgToken})
				return err
			},
			want: func(d demo) map[string]any { return map[string]any{"orgToken": orgToken} },
		},
		{
			op: mend.ReqSaveProductTag,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Products.SaveTag(ctx, &mend.ProductTagRequest{ProductToken: d.product, TagKey: "newKey", TagValue: "newValue"})
				return err
			},
			want: func(d demo) map[string]any {
				return map[string]any{"productToken": d.product, "tagKey": "newKey", "tagValue": "newValue"}
			},
		},
		{
			op: mend.ReqRemoveProductTag,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Products.RemoveTag(ctx, &mend.ProductTagRequest{ProductToken: d.product, TagKey: "team", TagValue: "platform"})
				return err
			},
			want: func(d demo) map[string]any {
				return map[string]any{"productToken": d.product, "tagKey": "team", "tagValue": "platform"}
			},
		},
		{
			op: mend.ReqGetOrganizationProductVitals,
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Products.GetOrganizationVitals(ctx, &mend.GetOrganizationProductVitalsRequest{OrgToken: orgToken})
				return err
			},
			want: func(d demo) map[string]any { return map[string]any{"orgToken": orgToken} },
		},
	})
}

func TestProductsErrors(t *testing.T) {
	t.Parallel()
	testErrors(t, []errorTest{
		{
			name: "getProductTags unknown product",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Products.GetTags(ctx, &mend.GetProductTagsRequest{ProductToken: unknownToken})
				return err
			},
			code: mend.CodeInvalidProductToken,
		},
		{
			name: "getOrganizationProductTags unknown organization",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Products.GetOrganizationTags(ctx, &mend.GetOrganizationProductTagsRequest{OrgToken: unknownToken})
				return err
			},
			code: mend.CodeNotAllowed,
		},
		{
			name: "saveProductTag unknown product",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Products.SaveTag(ctx, &mend.ProductTagRequest{ProductToken: unknownToken, TagKey: "k", TagValue: "v"})
				return err
			},
			code: mend.CodeInvalidProductToken,
		},
		{
			name: "saveProductTag without value",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Products.SaveTag(ctx, &mend.ProductTagRequest{ProductToken: d.product, TagKey: "k"})
				return err
			},
			code: mend.CodeMissingFields,
		},
		{
			name: "removeProductTag without key",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Products.RemoveTag(ctx, &mend.ProductTagRequest{ProductToken: d.product, TagValue: "v"})
				return err
			},
			code: mend.CodeMissingFields,
		},
		{
			name: "removeProductTag unknown product",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Products.RemoveTag(ctx, &mend.ProductTagRequest{ProductToken: unknownToken, TagKey: "k", TagValue: "v"})
				return err
			},
			code: mend.CodeInvalidProductToken,
		},
		{
			name: "getOrganizationProductVitals unknown organization",
			call: func(ctx context.Context, c *mend.Client, d demo) error {
				_, _, err := c.Products.GetOrganizationVitals(ctx, &mend.GetOrganizationProductVitalsRequest{OrgToken: unknownToken})
				return err
			},
			code: mend.CodeNotAllowed,
		},
	})
}

func TestProductTags(t *testing.T) {
	t.Parallel()
	c, _, d := setupDemo(t)
	ctx := context.Background()
	info := func(tags mend.Tags) mend.TagsInfo {
		return mend.TagsInfo{Name: "demo-product", Token: d.product, Tags: tags}
	}
	steps := []struct {
		name   string
		remove bool
		key    string
		value  string
		want   mend.Tags
	}{
		{name: "save a second value", key: "team", value: "payments", want: mend.Tags{"team": {"platform", "payments"}}},
		{name: "save a value again", key: "team", value: "platform", want: mend.Tags{"team": {"platform", "payments"}}},
		{name: "save another key", key: "tier", value: "1", want: mend.Tags{"team": {"platform", "payments"}, "tier": {"1"}}},
		{name: "remove one value", remove: true, key: "team", value: "platform", want: mend.Tags{"team": {"payments"}, "tier": {"1"}}},
		{name: "remove a value the key lacks", remove: true, key: "team", value: "platform", want: mend.Tags{"team": {"payments"}, "tier": {"1"}}},
		{name: "remove the last value", remove: true, key: "tier", value: "1", want: mend.Tags{"team": {"payments"}}},
	}
	// The steps build on each other, so they run in order.
	for _, st := range steps {
		req := &mend.ProductTagRequest{ProductToken: d.product, TagKey: st.key, TagValue: st.value}
		if st.remove {
			if _, _, err := c.Products.RemoveTag(ctx, req); err != nil {
				t.Fatalf("%s: RemoveTag: %v", st.name, err)
			}
		} else {
			saved, _, err := c.Products.SaveTag(ctx, req)
			if err != nil {
				t.Fatalf("%s: SaveTag: %v", st.name, err)
			}
			if diff := cmp.Diff(info(st.want), saved.ProductTagsInfo); diff != "" {
				t.Errorf("%s: SaveTag answer (-want, +got):\n%s", st.name, diff)
			}
		}
		got, _, err := c.Products.GetTags(ctx, &mend.GetProductTagsRequest{ProductToken: d.product})
		if err != nil {
			t.Fatalf("%s: GetTags: %v", st.name, err)
		}
		if diff := cmp.Diff([]mend.TagsInfo{info(st.want)}, got.ProductTags); diff != "" {
			t.Errorf("%s: GetTags (-want, +got):\n%s", st.name, diff)
		}
	}

	// The organization's list holds products without tags too.
	created, _, err := c.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: orgToken, ProductName: "untagged"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	all, _, err := c.Products.GetOrganizationTags(ctx, &mend.GetOrganizationProductTagsRequest{OrgToken: orgToken})
	if err != nil {
		t.Fatalf("GetOrganizationTags: %v", err)
	}
	want := []mend.TagsInfo{
		info(mend.Tags{"team": {"payments"}}),
		{Name: "untagged", Token: created.ProductToken, Tags: mend.Tags{}},
	}
	if diff := cmp.Diff(want, all.ProductTags); diff != "" {
		t.Errorf("GetOrganizationTags (-want, +got):\n%s", diff)
	}
}

func TestProductsVitals(t *testing.T) {
	t.Parallel()
	c, _, d := setupDemo(t)
	got, _, err := c.Products.GetOrganizationVitals(context.Background(), &mend.GetOrganizationProductVitalsRequest{OrgToken: orgToken})
	if err != nil {
		t.Fatalf("GetOrganizationVitals: %v", err)
	}
	if len(got.ProductVitals) != 1 || got.ProductVitals[0].ID == 0 {
		t.Fatalf("GetOrganizationVitals = %+v: want the demo product with its id", got.ProductVitals)
	}
	want := mend.ProductVitals{
		ID: got.ProductVitals[0].ID, Name: "demo-product", Token: d.product,
		CreationDate: "2020-03-09 15:28:38 +0000", LastUpdatedDate: "2020-03-09 15:28:38 +0000",
	}
	if diff := cmp.Diff(want, got.ProductVitals[0]); diff != "" {
		t.Errorf("vitals (-want, +got):\n%s", diff)
	}
	if at, err := time.Parse(mend.VitalsTimeLayout, want.CreationDate); err != nil || !at.Equal(simNow) {
		t.Errorf("creation date parses as %v, %v; want %v", at, err, simNow)
	}
}
