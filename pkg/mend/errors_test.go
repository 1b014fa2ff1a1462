package mend_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mendflow/mendflow/pkg/mend"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	api := func(code int) error { return &mend.APIError{RequestType: "createProject", Code: code, Message: "x"} }
	status := func(code int) error { return &mend.HTTPError{Method: "GET", URL: "http://mend/x", StatusCode: code} }
	tests := []struct {
		name string
		err  error
		want mend.Class
	}{
		{"sporadic 3000", api(mend.CodeInvalidParameters), mend.Transient},
		{"unexpected 4000", api(mend.CodeUnexpected), mend.Permanent},
		{"invalid product token", api(mend.CodeInvalidProductToken), mend.Permanent},
		{"invalid project token", api(mend.CodeInvalidProjectToken), mend.Permanent},
		{"product name taken", api(mend.CodeProductNameTaken), mend.Permanent},
		{"project name taken", api(mend.CodeProjectNameTaken), mend.Permanent},
		{"not allowed 5001", api(mend.CodeNotAllowed), mend.Permanent},
		{"missing fields", api(mend.CodeMissingFields), mend.Permanent},
		{"invalid key uuid", api(mend.CodeInvalidKeyUUID), mend.Permanent},
		{"inactive organization", api(mend.CodeInactiveOrganization), mend.Permanent},
		{"HTTP 429", status(http.StatusTooManyRequests), mend.Transient},
		{"HTTP 408", status(http.StatusRequestTimeout), mend.Transient},
		{"HTTP 500", status(http.StatusInternalServerError), mend.Transient},
		{"HTTP 502", status(http.StatusBadGateway), mend.Transient},
		{"HTTP 503", status(http.StatusServiceUnavailable), mend.Transient},
		{"HTTP 504", status(http.StatusGatewayTimeout), mend.Transient},
		{"HTTP 400", status(http.StatusBadRequest), mend.Permanent},
		{"HTTP 401", status(http.StatusUnauthorized), mend.Permanent},
		{"HTTP 403", status(http.StatusForbidden), mend.Permanent},
		{"HTTP 404", status(http.StatusNotFound), mend.Permanent},
		{"HTTP 409", status(http.StatusConflict), mend.Permanent},
		{"timeout", context.DeadlineExceeded, mend.Transient},
		{"cancelled", context.Canceled, mend.Permanent},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, mend.Transient},
		{"connection refused", syscall.ECONNREFUSED, mend.Transient},
		{"truncated body", io.ErrUnexpectedEOF, mend.Transient},
		{"garbled body", &mend.DecodeError{Operation: "getProjectInventory", Err: errors.New("bad")}, mend.Transient},
		{"wrapped transient", fmt.Errorf("project.create: %w", api(mend.CodeInvalidParameters)), mend.Transient},
		{"wrapped permanent", fmt.Errorf("project.create: %w", api(mend.CodeNotAllowed)), mend.Permanent},
		{"unknown error", errors.New("something else"), mend.Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := mend.Classify(tt.err); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorPredicates(t *testing.T) {
	t.Parallel()
	taken := fmt.Errorf("wrapped: %w", &mend.APIError{Code: mend.CodeProjectNameTaken})
	if !mend.IsNameTaken(taken) {
		t.Error("IsNameTaken(2010) = false")
	}
	if mend.IsNameTaken(&mend.APIError{Code: mend.CodeInvalidParameters}) {
		t.Error("IsNameTaken(3000) = true")
	}
	if !mend.IsNotFound(&mend.APIError{Code: mend.CodeInvalidProjectToken}) || !mend.IsNotFound(&mend.HTTPError{StatusCode: 404}) {
		t.Error("IsNotFound misses an invalid token or a 404")
	}
	if !mend.IsStatus(fmt.Errorf("x: %w", &mend.HTTPError{StatusCode: 409}), http.StatusConflict) ||
		mend.IsStatus(&mend.HTTPError{StatusCode: 404}, http.StatusConflict) ||
		mend.IsStatus(&mend.APIError{Code: 409}, http.StatusConflict) {
		t.Error("IsStatus does not tell a wrapped 409 from a 404 or an API error")
	}
	wait, ok := mend.RetryAfter(fmt.Errorf("x: %w", &mend.HTTPError{StatusCode: 429, RetryAfter: 3 * time.Second}))
	if !ok || wait != 3*time.Second {
		t.Errorf("RetryAfter = %v, %v; want 3s, true", wait, ok)
	}
}

// TestIsNotFound: what says that the entity a request names is not there,
// or is out of the key's sight, which for a caller comes to the same.
func TestIsNotFound(t *testing.T) {
	t.Parallel()
	api := func(requestType string, code int) error { return &mend.APIError{RequestType: requestType, Code: code} }
	v2 := func(op string, status int) error {
		return &mend.HTTPError{Operation: op, Method: http.MethodGet, URL: "https://api-saas.mend.io/api/v2.0/x", StatusCode: status}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"1003", api(mend.ReqGetAllProjects, mend.CodeInvalidProductToken), true},
		{"1004", api(mend.ReqDeleteProject, mend.CodeInvalidProjectToken), true},
		{"2008", api(mend.ReqGetAllProjects, mend.CodeGroupNotFound), true},
		{"5001 to a request naming a product", api(mend.ReqGetAllProjects, mend.CodeNotAllowed), true},
		{"5001 to a request naming a project", api(mend.ReqSaveProjectTag, mend.CodeNotAllowed), true},
		{"5001 to an organization's request", api(mend.ReqCreateProduct, mend.CodeNotAllowed), false},
		{"5001 to a policy change: no admin role", api(mend.ReqAddProductPolicy, mend.CodeNotAllowed), false},
		{"2010", api(mend.ReqCreateProject, mend.CodeProjectNameTaken), false},
		{"v2.0 400 to a lookup by path", v2("getProject", http.StatusBadRequest), true},
		{"v2.0 403 to a lookup by path", v2("asyncProcessStatus", http.StatusForbidden), true},
		{"v2.0 400 to a call with a body", v2("renameProject", http.StatusBadRequest), false},
		{"v2.0 404", v2("renameProject", http.StatusNotFound), true},
		{"v2.0 500", v2("getProject", http.StatusInternalServerError), false},
	}
	for _, tt := range tests {
		if got := mend.IsNotFound(tt.err); got != tt.want {
			t.Errorf("%s: IsNotFound(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
	if !mend.IsNameTaken(v2("createGroup", http.StatusBadRequest)) || mend.IsNameTaken(v2("updateGroup", http.StatusBadRequest)) {
		t.Error("IsNameTaken: a createGroup refused with 400 is a name taken, another 400 is not")
	}
}

// TestV1NotFoundStatusIsNoAbsence: Mend answers unknown tokens on v1.4 with
// errorCode 1003/1004 in HTTP 200. A 404 from the v1.4 URL says that the
// Mend URL is wrong (or a proxy is in the way), not that the project is
// gone, and must not pass for "not found": a deletion would be reported
// done while nothing was deleted.
func TestV1NotFoundStatusIsNoAbsence(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	c, err := mend.NewClient(srv.URL+"/wrong", "key", mend.WithRetry(mend.NoRetry()))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Projects.Delete(context.Background(), &mend.DeleteProjectRequest{ProductToken: "p", ProjectToken: "x"})
	var httpErr *mend.HTTPError
	if !errors.As(err, &httpErr) || httpErr.StatusCode != http.StatusNotFound {
		t.Fatalf("Delete error = %v, want HTTP 404", err)
	}
	if mend.IsNotFound(err) {
		t.Errorf("IsNotFound(%v) = true for a 404 from the v1.4 URL", err)
	}
	if httpErr.Operation != mend.ReqDeleteProject || !strings.Contains(err.Error(), mend.ReqDeleteProject) {
		t.Errorf("error %v (Operation %q) does not name %s", err, httpErr.Operation, mend.ReqDeleteProject)
	}
	v2 := &mend.HTTPError{Operation: "asyncProcessStatus", Method: http.MethodGet, URL: srv.URL + "/api/v2.0/orgs/o/asyncProcessStatus/x", StatusCode: http.StatusNotFound}
	if !mend.IsNotFound(v2) {
		t.Errorf("IsNotFound(%v) = false for a v2.0 404", v2)
	}
}

// TestErrorExcerptKeepsCharactersWhole: an error body that is no JSON is
// cut short for the message, but not through a multi-byte character.
func TestErrorExcerptKeepsCharactersWhole(t *testing.T) {
	t.Parallel()
	body := "a" + strings.Repeat("é", 400) // the 512-byte mark falls inside an é
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, body, http.StatusBadGateway)
	}))
	t.Cleanup(srv.Close)
	c, err := mend.NewClient(srv.URL, "key", mend.WithRetry(mend.NoRetry()))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Products.List(context.Background(), &mend.GetAllProductsRequest{OrgToken: "o"})
	var httpErr *mend.HTTPError
	if !errors.As(err, &httpErr) {
		t.Fatalf("List error = %v, want an HTTPError", err)
	}
	if !utf8.ValidString(httpErr.Message) {
		t.Errorf("the excerpt %q is not valid UTF-8", httpErr.Message)
	}
	if !strings.HasPrefix(body, strings.TrimSuffix(httpErr.Message, "…")) || len(httpErr.Message) >= len(body) {
		t.Errorf("the excerpt %q is not a shortened start of the body", httpErr.Message)
	}
}
