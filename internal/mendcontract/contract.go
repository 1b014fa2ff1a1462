// Package mendcontract checks HTTP exchanges with Mend's v2.0 and v3.0
// REST API against Mend's published OpenAPI documents, copied in openapi/
// from ../shared/mend-api/openapi: the requests a client sends and the
// answers a server gives, each failure naming the method, the path and
// the field. Tests put it at the HTTP layer, so that it covers every call
// without code of their own: Transport wraps the transport of a client of
// the API, Handler wraps a server of it (the simulator).
//
// The documents are taken as they are published, with these relaxations,
// each for a quirk of theirs rather than a looser reading of the API:
//
//   - Their servers (https://api-saas.mend.io, https://baseUrl) are
//     ignored: a request is matched by its path alone, whatever its host.
//   - Their examples are not validated: some do not match their own
//     schemas ("{excluded: true}" for an object, an enum value missing).
//   - Two paths of the v3.0 document differ in the name of their last
//     parameter only (.../code/findings/{findingUuid} for GET and
//     .../code/findings/{findingSnapshotId} for PATCH), which no router
//     tells apart: the second is left out; mendflow calls neither.
//   - A parameter they give neither a schema nor a content (search and
//     sort of most lists, the v2.0 wss-refresh-token header) is a string,
//     as every other query and header parameter of theirs is.
//   - The document-wide bearer requirement is checked as "an Authorization
//     header of the Bearer scheme", and not for the logins, which inherit
//     it though they are how a client gets its token.
//   - Statuses the documents do not list fail, but 429, 500, 502, 503 and
//     504, which the infrastructure in front of Mend answers (a gateway, a
//     rate limiter) and no document of Mend's lists; their bodies are not
//     checked.
package mendcontract

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

//go:embed openapi/mend-sca-api-2.0.json openapi/mend-platform-api-3.0.json
var documents embed.FS

// Checker checks exchanges against the two documents.
type Checker struct {
	v2, v3 routers.Router
}

// Load returns the checker of the two documents, read once per process:
// parsing them takes about a second.
var Load = sync.OnceValues(func() (*Checker, error) {
	v2, err := router("openapi/mend-sca-api-2.0.json")
	if err != nil {
		return nil, err
	}
	v3, err := router("openapi/mend-platform-api-3.0.json")
	if err != nil {
		return nil, err
	}
	return &Checker{v2: v2, v3: v3}, nil
})

func router(name string) (routers.Router, error) {
	data, err := documents.ReadFile(name)
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	doc.Servers = nil
	doc.Paths.Delete("/api/v3.0/projects/{projectUuid}/code/findings/{findingSnapshotId}")
	for _, item := range doc.Paths.Map() {
		typeless(item.Parameters)
		for _, op := range item.Operations() {
			typeless(op.Parameters)
		}
	}
	r, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// typeless makes a string of each parameter of ps that has neither a
// schema nor a content.
func typeless(ps openapi3.Parameters) {
	for _, p := range ps {
		if p.Value != nil && p.Value.Schema == nil && len(p.Value.Content) == 0 {
			p.Value.Schema = openapi3.NewStringSchema().NewRef()
		}
	}
}

// infrastructure are the statuses answered in front of Mend rather than
// by it, which no document lists.
var infrastructure = map[int]bool{
	http.StatusTooManyRequests: true, http.StatusInternalServerError: true, http.StatusBadGateway: true,
	http.StatusServiceUnavailable: true, http.StatusGatewayTimeout: true,
}

// logins are the operations that give the bearer token, which the
// document-wide security requirement would otherwise demand of them.
var logins = map[string]bool{
	"/api/v2.0/login": true, "/api/v2.0/login/accessToken": true,
	"/api/v3.0/login": true, "/api/v3.0/login/accessToken": true,
}

// REST reports whether a request is one of the REST API's, which the
// documents cover; the v1.4 API is not.
func REST(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/v2.0/") || strings.HasPrefix(r.URL.Path, "/api/v3.0/")
}

// HasOperation reports whether the documents have an operation of method
// at path, a path template of theirs such as /api/v2.0/projects/{projectToken}.
func (c *Checker) HasOperation(method, path string) bool {
	rt := c.v2
	if strings.HasPrefix(path, "/api/v3.0/") {
		rt = c.v3
	}
	r, err := http.NewRequest(method, "http://mend"+path, nil)
	if err != nil {
		return false
	}
	route, _, err := rt.FindRoute(r)
	return err == nil && route.Path == path
}

// input finds the operation of r and makes the validation input for it.
func (c *Checker) input(r *http.Request, body []byte) (*openapi3filter.RequestValidationInput, error) {
	rt := c.v2
	if strings.HasPrefix(r.URL.Path, "/api/v3.0/") {
		rt = c.v3
	}
	route, params, err := rt.FindRoute(r)
	if err != nil {
		return nil, fmt.Errorf("no operation of the OpenAPI documents: %w", err)
	}
	clone := r.Clone(context.Background())
	clone.Body = io.NopCloser(bytes.NewReader(body))
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
			if logins[route.Path] {
				return nil
			}
			scheme, token, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
			if !strings.EqualFold(scheme, "Bearer") || token == "" {
				return errors.New("no Authorization: Bearer header")
			}
			return nil
		},
	}
	// One line naming the field, rather than the schema's dump.
	opts.WithCustomSchemaErrorFunc(func(e *openapi3.SchemaError) string {
		return fmt.Sprintf("field %q: %s", "/"+strings.Join(e.JSONPointer(), "/"), e.Reason)
	})
	return &openapi3filter.RequestValidationInput{Request: clone, PathParams: params, Route: route, Options: opts}, nil
}

// CheckRequest checks a request, whose body is body, against the
// documents.
func (c *Checker) CheckRequest(r *http.Request, body []byte) error {
	in, err := c.input(r, body)
	if err == nil {
		err = openapi3filter.ValidateRequest(context.Background(), in)
	}
	if err != nil {
		return fmt.Errorf("contract: request %s %s: %w", r.Method, r.URL.Path, err)
	}
	return nil
}

// CheckResponse checks the answer (status, header, body) to a request,
// whose body was reqBody, against the documents.
func (c *Checker) CheckResponse(r *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	if infrastructure[status] {
		return nil
	}
	in, err := c.input(r, reqBody)
	if err == nil {
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: in.Options}
		err = openapi3filter.ValidateResponse(context.Background(), out.SetBodyBytes(body))
	}
	if err != nil {
		return fmt.Errorf("contract: answer %d to %s %s: %w", status, r.Method, r.URL.Path, err)
	}
	return nil
}

// Transport returns a transport that sends through next and checks every
// REST request it sends and every answer it gets; report receives each
// failure.
func Transport(report func(error), next http.RoundTripper) http.RoundTripper {
	return roundTripper{report: report, next: next}
}

type roundTripper struct {
	report func(error)
	next   http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	if !REST(r) {
		return t.next.RoundTrip(r)
	}
	c, err := Load()
	if err != nil {
		t.report(err)
		return t.next.RoundTrip(r)
	}
	var body []byte
	if r.Body != nil {
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if err := c.CheckRequest(r, body); err != nil {
		t.report(err)
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	data, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if rerr == nil {
		if err := c.CheckResponse(r, body, resp.StatusCode, resp.Header, data); err != nil {
			t.report(err)
		}
	}
	return resp, nil
}

// Handler returns h checked: every REST answer it gives to a request the
// documents allow must be one they document; a request they refuse must
// be refused with a status they document (400 or 403) and its body.
// report receives each failure.
func Handler(report func(error), h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !REST(r) {
			h.ServeHTTP(w, r)
			return
		}
		c, err := Load()
		if err != nil {
			report(err)
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		reqErr := c.CheckRequest(r, body)
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if rec.hijacked {
			return
		}
		if reqErr != nil && rec.status != http.StatusBadRequest && rec.status != http.StatusForbidden {
			report(fmt.Errorf("answered %d, not a documented refusal (400, 403), to a request the documents do not allow: %w", rec.status, reqErr))
		}
		if err := c.CheckResponse(r, body, rec.status, rec.Header(), rec.body.Bytes()); err != nil {
			report(err)
		}
	})
}

// recorder keeps a copy of what a handler answers.
type recorder struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// Hijack lets the handler take the connection, as the simulator does to
// drop one; nothing is checked then.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("mendcontract: the ResponseWriter cannot be hijacked")
	}
	r.hijacked = true
	return hj.Hijack()
}
