package mend_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// quotingMend is a Mend, or a proxy before it, that quotes the request it
// refuses: its credential headers and its body, the user key, JWT or
// refresh token among them. Its logins succeed unless refused, handing out
// JWTs and refresh tokens that it keeps in issued.
type quotingMend struct {
	// refuse says how the request to each path is refused; a path not
	// listed is answered as Mend would (the logins, the v2.0 group list).
	refuse map[string]refusal
	// quoteIssued adds every token issued so far to the quote, as a server
	// mixing up its sessions might.
	quoteIssued bool
	// expired makes the JWTs it issues expired already, so that the client
	// renews a JWT at its next call.
	expired bool

	mu     sync.Mutex
	issued []string
}

// refusal writes a refusal quoting quote.
type refusal func(w http.ResponseWriter, quote string)

// plain answers status with the quote as plain text, as a proxy would.
func plain(status int) refusal {
	return func(w http.ResponseWriter, quote string) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, quote)
	}
}

// padded answers status with plain text in which the quote starts at byte
// 512-at: a secret at offset at of the quote straddles the 512-byte mark
// where the client cuts its excerpt of a body.
func padded(status int, at func(quote string) int) refusal {
	return func(w http.ResponseWriter, quote string) {
		plain(status)(w, strings.Repeat("x", 512-at(quote))+quote)
	}
}

// jsonMessage answers status with the quote as a v2.0 errorMessage.
func jsonMessage(status int) refusal {
	return func(w http.ResponseWriter, quote string) {
		writeJSONBody(w, status, map[string]any{"supportToken": "s", "retVal": map[string]string{"errorMessage": quote}})
	}
}

// errorCode answers a v1.4 errorCode with the quote as its message.
func errorCode(code int) refusal {
	return func(w http.ResponseWriter, quote string) {
		writeJSONBody(w, http.StatusOK, map[string]any{"errorCode": code, "errorMessage": quote})
	}
}

func writeJSONBody(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// issue returns a new JWT (kind "jwt") or refresh token.
func (m *quotingMend) issue(kind string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	tok := fmt.Sprintf("%s-%d-of-the-quoting-mend", kind, len(m.issued)+1)
	if kind == "jwt" {
		claims := map[string]any{"jti": tok}
		if m.expired {
			claims["exp"] = 1
		}
		enc := func(v any) string {
			b, _ := json.Marshal(v)
			return base64.RawURLEncoding.EncodeToString(b)
		}
		tok = enc(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + enc(claims) + ".c2lnbmF0dXJl"
	}
	m.issued = append(m.issued, tok)
	return tok
}

// tokens returns the JWTs and refresh tokens issued so far.
func (m *quotingMend) tokens() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.issued...)
}

func (m *quotingMend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if refuse, ok := m.refuse[r.URL.Path]; ok {
		quote := fmt.Sprintf("refused %s %s; authorization: %s; wss-refresh-token: %s; body: %s",
			r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Wss-Refresh-Token"), body)
		if m.quoteIssued {
			quote += "; sessions: " + strings.Join(m.tokens(), ", ")
		}
		refuse(w, quote)
		return
	}
	switch r.URL.Path {
	case "/api/v2.0/login":
		writeJSONBody(w, http.StatusOK, map[string]any{"retVal": map[string]any{"jwtToken": m.issue("jwt"), "orgUuid": "org-uuid"}})
	case "/api/v3.0/login":
		writeJSONBody(w, http.StatusOK, map[string]any{"response": map[string]any{"refreshToken": m.issue("refresh")}})
	case "/api/v3.0/login/accessToken":
		writeJSONBody(w, http.StatusOK, map[string]any{"response": map[string]any{"jwtToken": m.issue("jwt"), "orgUuid": r.URL.Query().Get("orgUuid")}})
	default:
		writeJSONBody(w, http.StatusOK, map[string]any{"retVal": []any{}})
	}
}

// wantRedacted fails the test if err shows one of secrets, as it is or
// escaped in a JSON string: in its text, in the text of any error in its
// chain, or in a field of the client's error types. It fails it too if
// err does not say [redacted]: the secret must have been there to hide,
// or the test proves nothing.
func wantRedacted(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("error %q says no [redacted]: no secret was quoted, or it was cut", err)
	}
	shown := []string{fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		shown = append(shown, e.Error())
		switch x := e.(type) {
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	var httpErr *mend.HTTPError
	if errors.As(err, &httpErr) {
		shown = append(shown, httpErr.URL, httpErr.Message)
	}
	var apiErr *mend.APIError
	if errors.As(err, &apiErr) {
		shown = append(shown, apiErr.Message)
	}
	for _, secret := range secrets {
		escaped, _ := json.Marshal(secret)
		for _, s := range shown {
			if strings.Contains(s, secret) || strings.Contains(s, string(escaped[1:len(escaped)-1])) {
				t.Errorf("%q shows the secret %q", s, secret)
			}
		}
	}
}

// TestErrorsHideSecrets: whatever an answer quotes of the request, the
// error the client returns shows none of its secrets, on v1.4, on v2.0
// with its JWT and on v3.0 with its refresh token.
func TestErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	const key = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
	v1 := func(ctx context.Context, c *mend.Client) error {
		_, _, err := c.Products.List(ctx, &mend.GetAllProductsRequest{OrgToken: "org"})
		return err
	}
	groups := func(ctx context.Context, c *mend.Client) error {
		_, _, err := c.Groups.List(ctx, "org", nil)
		return err
	}
	tests := []struct {
		name        string
		key         string
		v3          bool
		refuse      map[string]refusal
		quoteIssued bool
		call        func(context.Context, *mend.Client) error
		wantTokens  int // JWTs and refresh tokens issued before the failure
		wantStatus  int // of the HTTPError, if one
		wantCode    int // of the APIError, if one
	}{
		{
			name: "v1.4, a proxy's page", refuse: map[string]refusal{"/api/v1.4": plain(http.StatusBadGateway)},
			call: v1, wantStatus: http.StatusBadGateway,
		},
		{
			name: "v1.4, an errorMessage", refuse: map[string]refusal{"/api/v1.4": jsonMessage(http.StatusBadRequest)},
			call: v1, wantStatus: http.StatusBadRequest,
		},
		{
			name: "v1.4, an errorCode answer", refuse: map[string]refusal{"/api/v1.4": errorCode(mend.CodeNotAllowed)},
			call: v1, wantCode: mend.CodeNotAllowed,
		},
		{
			name: "v1.4, the key across the excerpt's end",
			refuse: map[string]refusal{"/api/v1.4": padded(http.StatusBadGateway, func(quote string) int {
				return strings.Index(quote, key) + len(key)/2
			})},
			call: v1, wantStatus: http.StatusBadGateway,
		},
		{
			name: "v1.4, a key that JSON escapes", key: `k3y"with<odd>&chars\` + key,
			refuse: map[string]refusal{"/api/v1.4": plain(http.StatusBadGateway)}, call: v1, wantStatus: http.StatusBadGateway,
		},
		{
			name: "v2.0 login", refuse: map[string]refusal{"/api/v2.0/login": jsonMessage(http.StatusUnauthorized)},
			call: groups, wantStatus: http.StatusUnauthorized,
		},
		{
			name: "v2.0 call, its JWT", refuse: map[string]refusal{"/api/v2.0/orgs/org/groups": plain(http.StatusBadRequest)},
			call: groups, wantTokens: 1, wantStatus: http.StatusBadRequest,
		},
		// The v3.0 login starts with a v2.0 login, whose answer maps the
		// organization's token to the UUID the access token needs: its
		// JWT is one more the client must hide.
		{
			name: "v3.0 login", v3: true, refuse: map[string]refusal{"/api/v3.0/login": jsonMessage(http.StatusBadRequest)},
			call: groups, wantTokens: 1, wantStatus: http.StatusBadRequest,
		},
		{
			name: "v3.0 access token, its refresh token", v3: true,
			refuse: map[string]refusal{"/api/v3.0/login/accessToken": jsonMessage(http.StatusBadRequest)},
			call:   groups, wantTokens: 2, wantStatus: http.StatusBadRequest,
		},
		{
			// A 403 renews the JWT once, so two access tokens.
			name: "v3.0 call, its JWT", v3: true, refuse: map[string]refusal{"/api/v2.0/orgs/org/groups": jsonMessage(http.StatusForbidden)},
			call: groups, wantTokens: 4, wantStatus: http.StatusForbidden,
		},
		{
			// The v1.4 request carries no JWT: the client must know the
			// ones it holds, not only what it sent.
			name: "JWTs held, quoted in a v1.4 answer", v3: true, quoteIssued: true,
			refuse: map[string]refusal{"/api/v1.4": plain(http.StatusBadGateway)},
			call: func(ctx context.Context, c *mend.Client) error {
				if err := groups(ctx, c); err != nil {
					return fmt.Errorf("the v2.0 call before: %w", err)
				}
				return v1(ctx, c)
			},
			wantTokens: 3, wantStatus: http.StatusBadGateway,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := &quotingMend{refuse: tt.refuse, quoteIssued: tt.quoteIssued}
			srv := httptest.NewServer(m)
			t.Cleanup(srv.Close)
			k := tt.key
			if k == "" {
				k = key
			}
			opts := []mend.Option{mend.WithUserEmail("admin@example.com"), mend.WithRetry(mend.NoRetry())}
			if tt.v3 {
				opts = append(opts, mend.WithLoginV3())
			}
			c, err := mend.NewClient(srv.URL, mend.Secret(k), opts...)
			if err != nil {
				t.Fatal(err)
			}
			err = tt.call(context.Background(), c)
			tokens := m.tokens()
			if len(tokens) != tt.wantTokens {
				t.Fatalf("tokens issued %q, want %d", tokens, tt.wantTokens)
			}
			wantRedacted(t, err, append(tokens, k)...)
			// Redacting must leave what the caller decides on.
			switch {
			case tt.wantStatus != 0 && !mend.IsStatus(err, tt.wantStatus):
				t.Errorf("error %v, want HTTP %d", err, tt.wantStatus)
			case tt.wantCode != 0 && !mend.IsCode(err, tt.wantCode):
				t.Errorf("error %v, want errorCode %d", err, tt.wantCode)
			}
		})
	}
}

// quotingTransport fails every request with an error that quotes its body,
// wrapping cause.
type quotingTransport struct {
	cause func(quote string) error
	mu    sync.Mutex
	sent  int
}

func (q *quotingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	q.mu.Lock()
	q.sent++
	q.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	return nil, q.cause(string(body))
}

// TestTransportErrorsHideSecrets: an error of the HTTP client's own that
// quotes the request loses the secrets too, and keeps what decides on a
// retry: errors.Is finds its cause, and Classify its class.
func TestTransportErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	const key = "f9e8d7c6b5a4f9e8d7c6b5a4f9e8d7c6b5a4f9e8d7c6b5a4f9e8d7c6b5a4f9e8"
	tests := []struct {
		name      string
		cause     func(quote string) error
		wantIs    error
		wantClass mend.Class
		wantSent  int
	}{
		{
			name:   "connection reset",
			cause:  func(q string) error { return fmt.Errorf("proxy dropped %s: %w", q, syscall.ECONNRESET) },
			wantIs: syscall.ECONNRESET, wantClass: mend.Transient, wantSent: 2,
		},
		{
			// net.Error is found by errors.As, which the redacted error
			// does not answer: its class must be kept another way.
			name: "a net.Error",
			cause: func(q string) error {
				return &net.OpError{Op: "write", Net: "tcp", Err: errors.New("proxy refused " + q)}
			},
			wantClass: mend.Transient, wantSent: 2,
		},
		{
			name:      "a permanent failure",
			cause:     func(q string) error { return errors.New("policy forbids " + q) },
			wantClass: mend.Permanent, wantSent: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := &quotingTransport{cause: tt.cause}
			retry := fastRetry
			retry.MaxAttempts = 2
			c, err := mend.NewClient("http://mend.invalid", key, mend.WithHTTPClient(&http.Client{Transport: tr}), mend.WithRetry(retry))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.Products.List(context.Background(), &mend.GetAllProductsRequest{OrgToken: "org"})
			wantRedacted(t, err, key)
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			if got := mend.Classify(err); got != tt.wantClass {
				t.Errorf("Classify(%v) = %v, want %v", err, got, tt.wantClass)
			}
			if tr.sent != tt.wantSent {
				t.Errorf("sent %d times, want %d", tr.sent, tt.wantSent)
			}
		})
	}
}

// TestErrorsHideAJWTRenewedMeanwhile: a call's JWT may be replaced while
// the call is under way, renewed by another call; the answer that then
// quotes it must still lose it, though the client holds it no longer.
func TestErrorsHideAJWTRenewedMeanwhile(t *testing.T) {
	t.Parallel()
	const key = "5e4d3c2b1a095e4d3c2b1a095e4d3c2b1a095e4d3c2b1a095e4d3c2b1a095e4d"
	m := &quotingMend{expired: true}
	arrived, release := make(chan struct{}), make(chan struct{})
	var first sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/v2.0/login":
			writeJSONBody(w, http.StatusOK, map[string]any{"retVal": map[string]any{"jwtToken": m.issue("jwt")}})
		case r.Header.Get("Authorization") == "Bearer "+m.tokens()[0]:
			first.Do(func() { close(arrived) })
			<-release
			jsonMessage(http.StatusBadRequest)(w, "refused "+r.Header.Get("Authorization"))
		default:
			writeJSONBody(w, http.StatusOK, map[string]any{"retVal": []any{}})
		}
	}))
	t.Cleanup(srv.Close)
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free) // before srv.Close, which waits for the handlers
	c, err := mend.NewClient(srv.URL, key, mend.WithUserEmail("admin@example.com"), mend.WithRetry(mend.NoRetry()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.Groups.List(ctx, "org", nil)
		errc <- err
	}()
	<-arrived
	if _, _, err := c.Groups.List(ctx, "org", nil); err != nil {
		t.Fatalf("the call that renews: %v", err)
	}
	free()
	err = <-errc
	if tokens := m.tokens(); len(tokens) != 2 {
		t.Fatalf("JWTs issued %q, want the first and its renewal", tokens)
	}
	wantRedacted(t, err, append(m.tokens(), key)...)
}

// TestSimulatorEchoHidesSecrets: the simulator's echo fault quotes the
// request it refuses, on v1.4, on the logins and on a v2.0 call with its
// JWT; the client's error shows none of what it quotes.
func TestSimulatorEchoHidesSecrets(t *testing.T) {
	t.Parallel()
	v1 := func(ctx context.Context, c *mend.Client) error {
		_, _, err := c.Products.List(ctx, &mend.GetAllProductsRequest{OrgToken: orgToken})
		return err
	}
	groups := func(ctx context.Context, c *mend.Client) error {
		_, _, err := c.Groups.List(ctx, orgToken, nil)
		return err
	}
	tests := []struct {
		name       string
		fault      mendsim.Fault
		v3         bool
		call       func(context.Context, *mend.Client) error
		wantTokens int // JWTs and refresh tokens sent
	}{
		{name: "v1.4 status", fault: mendsim.Fault{Op: mend.ReqGetAllProducts, Status: http.StatusBadGateway, Echo: true}, call: v1},
		{name: "v1.4 errorCode", fault: mendsim.Fault{Op: mend.ReqGetAllProducts, ErrorCode: mend.CodeNotAllowed, Echo: true}, call: v1},
		{name: "v2.0 login", fault: mendsim.Fault{Op: "login", Status: http.StatusUnauthorized, Echo: true}, call: groups},
		{name: "v2.0 call", fault: mendsim.Fault{Op: "listGroups", Status: http.StatusBadRequest, Echo: true}, call: groups, wantTokens: 1},
		{name: "v3.0 login", fault: mendsim.Fault{Op: "loginV3", Status: http.StatusBadRequest, Echo: true}, v3: true, call: groups},
		{name: "v3.0 access token", fault: mendsim.Fault{Op: "accessToken", Status: http.StatusBadRequest, Echo: true}, v3: true, call: groups, wantTokens: 1},
		{name: "v3.0 call", fault: mendsim.Fault{Op: "listGroups", Status: http.StatusBadRequest, Echo: true}, v3: true, call: groups, wantTokens: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &secretRecorder{}
			opts := []mend.Option{mend.WithRetry(mend.NoRetry()), mend.WithHTTPClient(&http.Client{Transport: rec})}
			if tt.v3 {
				opts = append(opts, mend.WithLoginV3())
			}
			c, sim := setup(t, opts...)
			if err := sim.SetFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			err := tt.call(context.Background(), c)
			rec.mu.Lock()
			tokens := rec.secrets
			rec.mu.Unlock()
			if len(tokens) != tt.wantTokens {
				t.Fatalf("sent %d JWTs and refresh tokens, want %d", len(tokens), tt.wantTokens)
			}
			wantRedacted(t, err, append(tokens, mendsim.DefaultUserKey)...)
		})
	}
}
