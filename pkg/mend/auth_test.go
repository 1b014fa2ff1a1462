package mend_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// countCalls counts the simulator's calls of op, and those of any
// operation answered with status.
func countCalls(sim *mendsim.Server, op string, status int) (ofOp, withStatus int) {
	for _, c := range sim.Calls() {
		if c.Op == op {
			ofOp++
		}
		if c.Status == status {
			withStatus++
		}
	}
	return ofOp, withStatus
}

// listTwice lists the groups, lets between run, and lists them again.
func listTwice(t *testing.T, c *mend.Client, between func()) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := c.Groups.List(ctx, orgToken, nil); err != nil {
		t.Fatalf("first List: %v", err)
	}
	between()
	if _, _, err := c.Groups.List(ctx, orgToken, nil); err != nil {
		t.Fatalf("second List: %v", err)
	}
}

func TestJWTRenewedBeforeExpiry(t *testing.T) {
	t.Parallel()
	// The client renews a JWT after four fifths of its life: by 1.6 s of a
	// 2 s lifetime (JWT expiries are whole seconds, so a little sooner).
	// Its clock moves on by 1.7 s; Mend's, the real one, does not, so a JWT
	// used past its renewal would still be taken.
	var ahead atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	c, sim := setupWith(t, mendsim.Config{JWTLifetime: 2 * time.Second}, mend.WithClock(clock))
	listTwice(t, c, func() { ahead.Store(int64(1700 * time.Millisecond)) })
	logins, refused := countCalls(sim, "login", http.StatusForbidden)
	if logins != 2 || refused != 0 {
		t.Errorf("%d logins and %d answers 403, want 2 logins and no 403", logins, refused)
	}
}

func TestJWTKeptWhileValid(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	listTwice(t, c, func() {})
	if logins, _ := countCalls(sim, "login", 0); logins != 1 {
		t.Errorf("%d logins, want 1", logins)
	}
}

// TestJWTRenewedOnceOnRefusal: a JWT Mend has expired early is refused
// with 403, the one refusal the OpenAPI documents list; the client renews
// it and sends the request once more.
func TestJWTRenewedOnceOnRefusal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  []mend.Option
		login string // the operation that issues a JWT
	}{
		{name: "v2.0 login", login: "login"},
		{name: "v3.0 login", opts: []mend.Option{mend.WithLoginV3()}, login: "accessToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Only the simulator's clock moves: the client still holds its
			// JWT for valid when Mend has expired it.
			clk := newClock()
			c, sim := setupWith(t, mendsim.Config{Now: clk.Now}, tt.opts...)
			listTwice(t, c, func() { clk.Add(31 * time.Minute) })
			logins, refused := countCalls(sim, tt.login, http.StatusForbidden)
			if logins != 2 || refused != 1 {
				t.Errorf("%d logins and %d answers 403, want 2 and 1", logins, refused)
			}
			if n, _ := countCalls(sim, "loginV3", 0); n > 1 {
				t.Errorf("%d v3.0 logins: the refresh token should have been reused", n)
			}
		})
	}
}

// TestJWTRenewalStopsAfterOneRetry: a refusal that a new JWT does not cure
// is the caller's, after one renewal: a 403, and a 401, which Mend's
// documents do not list but a gateway before it may answer.
func TestJWTRenewalStopsAfterOneRetry(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusForbidden, http.StatusUnauthorized} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			_, sim := setup(t)
			c := uncheckedClient(t, sim)
			if err := sim.SetFault(mendsim.Fault{Op: "listGroups", Status: status}); err != nil {
				t.Fatal(err)
			}
			_, _, err := c.Groups.List(context.Background(), orgToken, nil)
			wantStatus(t, err, status)
			lists, _ := countCalls(sim, "listGroups", 0)
			logins, _ := countCalls(sim, "login", 0)
			if lists != 2 || logins != 2 {
				t.Errorf("%d requests and %d logins, want 2 of each", lists, logins)
			}
		})
	}
}

// TestLoginV3TwoSteps: the v3.0 access token names the organization by its
// UUID in the query, as the OpenAPI document has it; the client learns the
// UUID from the v2.0 login, the one answer that maps the organization's
// token to it.
func TestLoginV3TwoSteps(t *testing.T) {
	t.Parallel()
	c, sim := setup(t, mend.WithLoginV3())
	listTwice(t, c, func() {})
	var ops []string
	for _, call := range sim.Calls() {
		ops = append(ops, call.Op)
	}
	if diff := cmp.Diff([]string{"login", "loginV3", "accessToken", "listGroups", "listGroups"}, ops); diff != "" {
		t.Errorf("calls (-want, +got):\n%s", diff)
	}
	wantSent(t, sim, "loginV3", http.MethodPost, "/api/v3.0/login", map[string]any{"email": mendsim.DefaultUserEmail})
	wantSent(t, sim, "accessToken", http.MethodPost, "/api/v3.0/login/accessToken", map[string]any{})
	if q := lastCall(t, sim, "accessToken").Query; q != "orgUuid="+sim.OrgUUID() {
		t.Errorf("accessToken query %q, want orgUuid=%s", q, sim.OrgUUID())
	}
}

// TestLoginV3RenewalSendsThePreviousToken: renewing an organization's
// access token sends the token it replaces as {"accessToken": ...}.
func TestLoginV3RenewalSendsThePreviousToken(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c, sim := setupWith(t, mendsim.Config{Now: clk.Now}, mend.WithLoginV3())
	listTwice(t, c, func() { clk.Add(31 * time.Minute) })
	calls := sim.CallsOf("accessToken")
	if len(calls) != 2 {
		t.Fatalf("%d access tokens, want 2", len(calls))
	}
	// The simulator's record hides the token itself.
	var body struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal(calls[1].Request, &body); err != nil || body.AccessToken != "[redacted]" {
		t.Errorf("renewal sent %s, want the previous token as accessToken", calls[1].Request)
	}
}

// TestLoginV3RefusesATokenOfAnotherOrganization: Mend answers a token for
// the user's last organization when the one asked for is not named its
// way; the client checks the answer's orgUuid rather than act on the
// wrong organization.
func TestLoginV3RefusesATokenOfAnotherOrganization(t *testing.T) {
	t.Parallel()
	clk := newClock()
	_, sim := setupWith(t, mendsim.Config{Now: clk.Now})
	other, _ := sim.AddOrganization("Other Organization")
	c := uncheckedClient(t, sim, mend.WithLoginV3(), mend.WithHTTPClient(&http.Client{Transport: dropOrgUUID{http.DefaultTransport}}))
	ctx := context.Background()
	// Both organizations' UUIDs learnt, the other signed in to last; then
	// the demo organization's token expires, and is asked for again.
	for _, org := range []string{orgToken, other} {
		if _, _, err := c.Groups.List(ctx, org, nil); err != nil {
			t.Fatalf("List of %s: %v", org, err)
		}
	}
	clk.Add(31 * time.Minute)
	_, _, err := c.Groups.List(ctx, orgToken, nil)
	if err == nil || !strings.Contains(err.Error(), sim.OrgUUID()) {
		t.Fatalf("List of the demo organization = %v, want the token for the other one refused", err)
	}
	if n := len(sim.CallsOf("listGroups")); n != 3 {
		t.Errorf("%d group lists, want 3: none with the token of the wrong organization", n)
	}
}

// dropOrgUUID sends the access token's orgUuid in the body instead of
// the query, as the client did before it followed the OpenAPI document.
type dropOrgUUID struct{ next http.RoundTripper }

func (d dropOrgUUID) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/api/v3.0/login/accessToken" {
		if id := r.URL.Query().Get("orgUuid"); id != "" {
			r = r.Clone(r.Context())
			r.URL.RawQuery = ""
			body, _ := json.Marshal(map[string]string{"orgUuid": id})
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(string(body))), int64(len(body))
		}
	}
	return d.next.RoundTrip(r)
}

func TestWrongCredentialsArePermanent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		key   string
		email string
		opts  []mend.Option
		login string
	}{
		{name: "v2.0 wrong user key", key: strings.Repeat("0", 64), email: mendsim.DefaultUserEmail, login: "login"},
		{name: "v2.0 wrong e-mail", key: mendsim.DefaultUserKey, email: "nobody@example.com", login: "login"},
		// The v3.0 login starts with the v2.0 one, for the organization's UUID.
		{name: "v3.0 wrong user key", key: strings.Repeat("0", 64), email: mendsim.DefaultUserEmail, opts: []mend.Option{mend.WithLoginV3()}, login: "login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := mendsim.NewServer(mendsim.Config{})
			t.Cleanup(sim.Close)
			opts := append([]mend.Option{mend.WithUserEmail(tt.email), mend.WithRetry(fastRetry)}, tt.opts...)
			c, err := mend.NewClient(sim.URL, mend.Secret(tt.key), opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.Groups.List(context.Background(), orgToken, nil)
			wantStatus(t, err, http.StatusForbidden)
			if strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q holds the user key", err)
			}
			if got := len(sim.Calls()); got != 1 || sim.Calls()[0].Op != tt.login {
				t.Errorf("calls %+v, want the one %s that failed", sim.Calls(), tt.login)
			}
		})
	}
}

// secretRecorder notes every JWT and refresh token the client sends.
type secretRecorder struct {
	mu      sync.Mutex
	secrets []string
}

func (r *secretRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	if jwt, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		r.secrets = append(r.secrets, jwt)
	}
	if refresh := req.Header.Get("wss-refresh-token"); refresh != "" {
		r.secrets = append(r.secrets, refresh)
	}
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	sim := mendsim.NewServer(mendsim.Config{})
	t.Cleanup(sim.Close)
	rec := &secretRecorder{}
	ctx := context.Background()
	newClient := func(key string, opts ...mend.Option) *mend.Client {
		base := []mend.Option{
			mend.WithUserEmail(mendsim.DefaultUserEmail), mend.WithRetry(fastRetry),
			mend.WithHTTPClient(&http.Client{Transport: rec}),
		}
		c, err := mend.NewClient(sim.URL, mend.Secret(key), append(base, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	wrongKey := strings.Repeat("f", 64)
	v2, v3, wrong := newClient(mendsim.DefaultUserKey), newClient(mendsim.DefaultUserKey, mend.WithLoginV3()), newClient(wrongKey)

	var shown []string
	show := func(v any) {
		// %x and %d skip String; fmt would print a struct's fields by
		// reflection, the secrets among them.
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			shown = append(shown, fmt.Sprintf(verb, v))
		}
	}
	for _, c := range []*mend.Client{v2, v3} {
		if _, _, err := c.Groups.List(ctx, orgToken, nil); err != nil {
			t.Fatalf("List: %v", err)
		}
		_, _, err := c.Groups.Get(ctx, orgToken, "no-such-group")
		if err == nil {
			t.Fatal("Get of an unknown group: no error")
		}
		show(err)
		show(c)
		show(*c)
	}
	_, _, err := wrong.Groups.List(ctx, orgToken, nil)
	if err == nil {
		t.Fatal("List with a wrong key: no error")
	}
	show(err)
	show(wrong)
	// The v1.4 API refuses a wrong key with an errorCode, not a 401.
	_, _, err = wrong.Products.List(ctx, &mend.GetAllProductsRequest{OrgToken: orgToken})
	if !mend.IsCode(err, mend.CodeNotAllowed) {
		t.Fatalf("v1.4 List with a wrong key: %v, want error %d", err, mend.CodeNotAllowed)
	}
	show(err)
	show(mend.Secret(wrongKey))
	show(struct{ K mend.Secret }{mend.Secret(wrongKey)})

	record, err := json.Marshal(sim.Calls())
	if err != nil {
		t.Fatal(err)
	}
	shown = append(shown, string(record))
	resp, err := http.Get(sim.URL + "/_mendsim/calls")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	shown = append(shown, string(body))

	rec.mu.Lock()
	secrets := append([]string{mendsim.DefaultUserKey, wrongKey}, rec.secrets...)
	rec.mu.Unlock()
	if len(secrets) < 5 { // two keys, two JWTs, a refresh token
		t.Fatalf("recorded only %d secrets", len(secrets))
	}
	for _, s := range shown {
		for _, secret := range secrets {
			if strings.Contains(s, secret) || strings.Contains(s, hex.EncodeToString([]byte(secret))) {
				t.Errorf("%.200q shows a secret", s)
			}
		}
	}
}

// TestLoginErrorsCarryMendsMessage: v2.0 keeps an error's message under
// retVal, v3.0 under response; either way the error says what Mend said
// rather than quote the whole answer.
func TestLoginErrorsCarryMendsMessage(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts []mend.Option
	}{
		{"v2.0", nil},
		{"v3.0", []mend.Option{mend.WithLoginV3()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := mendsim.NewServer(mendsim.Config{})
			t.Cleanup(sim.Close)
			opts := append([]mend.Option{mend.WithUserEmail("nobody@example.com"), mend.WithRetry(fastRetry)}, tt.opts...)
			c, err := mend.NewClient(sim.URL, mendsim.DefaultUserKey, opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.Groups.List(context.Background(), orgToken, nil)
			var httpErr *mend.HTTPError
			if !errors.As(err, &httpErr) {
				t.Fatalf("error %v is no *mend.HTTPError", err)
			}
			if httpErr.Message != "invalid credentials" {
				t.Errorf("Message = %q, want Mend's errorMessage %q", httpErr.Message, "invalid credentials")
			}
		})
	}
}
