package mend_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// envelope is a v2.0 answer as the pages show it, for decoding their
// examples strictly.
type envelope[T any] struct {
	SupportToken   string `json:"supportToken"`
	RetVal         T      `json:"retVal"`
	AdditionalData *struct {
		TotalItems string `json:"totalItems"`
		IsLastPage string `json:"isLastPage"`
	} `json:"additionalData"`
}

// wantStatus fails unless err is a permanent HTTP error with status whose
// text holds each of the given words.
func wantStatus(t *testing.T, err error, status int, words ...string) {
	t.Helper()
	var httpErr *mend.HTTPError
	if !errors.As(err, &httpErr) || httpErr.StatusCode != status {
		t.Fatalf("got error %v, want HTTP %d", err, status)
	}
	if mend.IsTransient(err) {
		t.Errorf("%v: classified transient, want permanent", err)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%v: does not say %q", err, w)
		}
	}
}

// groupNames collects the names of every group that the iterator yields.
func groupNames(t *testing.T, c *mend.Client, opts *mend.ListOptions) []string {
	t.Helper()
	var names []string
	for g, err := range c.Groups.All(context.Background(), orgToken, opts) {
		if err != nil {
			t.Fatalf("All: %v", err)
		}
		names = append(names, g.Name)
	}
	return names
}

func TestPagingIteratesOverEveryPage(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()
	seeded := groupNames(t, c, nil)

	want := slices.Clone(seeded)
	for i := range 25 {
		name := fmt.Sprintf("team-%02d", i)
		if _, _, err := c.Groups.Create(ctx, orgToken, &mend.GroupRequest{Name: name}); err != nil {
			t.Fatalf("Create %s: %v", name, err)
		}
		want = append(want, name)
	}
	sim.ResetCalls()

	got := groupNames(t, c, &mend.ListOptions{PageSize: 10})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("groups seen (-want, +got):\n%s", diff)
	}
	if n, wantN := len(sim.CallsOf("listGroups")), (len(want)+9)/10; n != wantN {
		t.Errorf("%d list requests for %d groups in pages of 10, want %d", n, len(want), wantN)
	}

	// A single page says where it stands in the whole list.
	page, resp, err := c.Groups.List(ctx, orgToken, &mend.ListOptions{Page: 1, PageSize: 10})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(page) != 10 || resp.TotalItems != len(want) || resp.IsLastPage {
		t.Errorf("page 1: %d items, totalItems %d, isLastPage %v; want 10, %d, false", len(page), resp.TotalItems, resp.IsLastPage, len(want))
	}
	last, resp, err := c.Groups.List(ctx, orgToken, &mend.ListOptions{Page: 2, PageSize: 10})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(last) != len(want)-20 || !resp.IsLastPage {
		t.Errorf("page 2: %d items, isLastPage %v; want %d, true", len(last), resp.IsLastPage, len(want)-20)
	}
	beyond, resp, err := c.Groups.List(ctx, orgToken, &mend.ListOptions{Page: 9, PageSize: 10})
	if err != nil || len(beyond) != 0 || !resp.IsLastPage {
		t.Errorf("page 9: %d items, isLastPage %v, error %v; want none, true, nil", len(beyond), resp.IsLastPage, err)
	}
}

func TestPagingStartsAtPageAndStopsOnBreak(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()
	all := groupNames(t, c, &mend.ListOptions{PageSize: 1})

	if got := groupNames(t, c, &mend.ListOptions{Page: 1, PageSize: 1}); !slices.Equal(got, all[1:]) {
		t.Errorf("from page 1: got %v, want %v", got, all[1:])
	}

	sim.ResetCalls()
	for range c.Groups.All(ctx, orgToken, &mend.ListOptions{PageSize: 1}) {
		break
	}
	if n := len(sim.CallsOf("listGroups")); n != 1 {
		t.Errorf("%d requests after breaking out of the first item, want 1", n)
	}
}

func TestPagingYieldsErrorOnce(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	var errs []error
	for _, err := range c.Groups.All(context.Background(), orgToken, &mend.ListOptions{PageSize: mend.MaxPageSize + 1}) {
		errs = append(errs, err)
	}
	if len(errs) != 1 {
		t.Fatalf("got %d yields, want a single error", len(errs))
	}
	wantStatus(t, errs[0], http.StatusBadRequest, "pageSize")
	if n := len(sim.CallsOf("listGroups")); n != 1 {
		t.Errorf("%d requests, want 1: a 400 is not retried", n)
	}
}

func TestPagingParameters(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	tests := []struct {
		name string
		opts mend.ListOptions
		want int // HTTP status of the error, 0 for none
	}{
		{name: "largest page", opts: mend.ListOptions{PageSize: mend.MaxPageSize}},
		{name: "page size over the limit", opts: mend.ListOptions{PageSize: mend.MaxPageSize + 1}, want: http.StatusBadRequest},
		{name: "page size left to Mend", opts: mend.ListOptions{PageSize: -1}},
		{name: "negative page", opts: mend.ListOptions{Page: -1}, want: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := c.Groups.List(context.Background(), orgToken, &tt.opts)
			if tt.want == 0 {
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				return
			}
			wantStatus(t, err, tt.want)
		})
	}
}

func TestPagingUsersAndRoles(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()
	everyone := groupNamed(t, c, "users").UUID

	var emails []string
	for u, err := range c.Groups.AllUsers(ctx, orgToken, everyone, &mend.ListOptions{PageSize: 2, Sort: "-name"}) {
		if err != nil {
			t.Fatalf("AllUsers: %v", err)
		}
		emails = append(emails, u.Email)
	}
	want := []string{"admin@example.com", "ci-bot@example.com", "carol@example.com", "bob@example.com", "appsec.lead@example.com", "alice@example.com"}
	if diff := cmp.Diff(want, emails); diff != "" {
		t.Errorf("users (-want, +got):\n%s", diff)
	}
	calls := sim.CallsOf("listGroupUsers")
	for i, call := range calls {
		q, err := url.ParseQuery(call.Query)
		if err != nil || q.Get("page") != strconv.Itoa(i) || q.Get("pageSize") != "2" || q.Get("sort") != "-name" {
			t.Errorf("request %d asked for %q, want page=%d&pageSize=2&sort=-name", i, call.Query, i)
		}
	}
	if n := len(calls); n != 3 {
		t.Errorf("%d requests for 6 users in pages of 2, want 3", n)
	}

	approvers := groupNamed(t, c, "demo-product approvers").UUID
	other, _, err := c.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: orgToken, ProductName: "another-product"})
	if err != nil {
		t.Fatalf("Products.Create: %v", err)
	}
	for _, r := range []mend.RoleAssignment{
		{ContextToken: orgToken, ContextType: mend.ContextOrgs, Role: "AUDITOR"},
		{ContextToken: other.ProductToken, ContextType: mend.ContextProducts, Role: "USER"},
	} {
		if _, _, err := c.Groups.AddRole(ctx, orgToken, approvers, r); err != nil {
			t.Fatalf("AddRole: %v", err)
		}
	}
	var contexts []string
	for r, err := range c.Groups.AllRoles(ctx, orgToken, approvers, &mend.ListOptions{PageSize: 1}) {
		if err != nil {
			t.Fatalf("AllRoles: %v", err)
		}
		contexts = append(contexts, r.ContextType)
	}
	if diff := cmp.Diff([]string{"products", "orgs", "products"}, contexts); diff != "" {
		t.Errorf("role contexts (-want, +got):\n%s", diff)
	}
	if n := len(sim.CallsOf("listGroupRoles")); n != 3 {
		t.Errorf("%d requests for 3 contexts in pages of 1, want 3", n)
	}
}

// TestSearchOverRawHTTP lists groups as curl would: a raw ";" between
// filters, and the JWT of a login made by hand.
func TestSearchOverRawHTTP(t *testing.T) {
	t.Parallel()
	_, sim := setup(t)
	login, err := http.Post(sim.URL+"/api/v2.0/login", "application/json", strings.NewReader(
		`{"email": "`+mendsim.DefaultUserEmail+`", "userKey": "`+mendsim.DefaultUserKey+`", "orgToken": "`+orgToken+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var session envelope[struct {
		JWTToken string `json:"jwtToken"`
	}]
	decodeAdmin(t, login, http.StatusOK, &session)

	req, err := http.NewRequest(http.MethodGet, sim.URL+"/api/v2.0/orgs/"+orgToken+"/groups?search=name:like:s;roles:in:USER,ADMIN&sort=-name", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+session.RetVal.JWTToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var page envelope[[]mend.GroupSummary]
	decodeAdmin(t, resp, http.StatusOK, &page)
	var got []string
	for _, g := range page.RetVal {
		got = append(got, g.Name)
	}
	if diff := cmp.Diff([]string{"users", "admins"}, got); diff != "" {
		t.Errorf("groups (-want, +got):\n%s", diff)
	}
	if ad := page.AdditionalData; ad == nil || ad.TotalItems != "2" || ad.IsLastPage != "true" {
		t.Errorf("additionalData %+v, want totalItems \"2\" and isLastPage \"true\" as strings", ad)
	}
}
