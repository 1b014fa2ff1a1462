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
	c, sim := setupWith(t, mendsim.Config{JWTLifetime: 2 * time.Second})
	listTwice(t, c, func() { time.Sleep(1700 * time.Millisecond) })
	logins, unauthorized := countCalls(sim, "login", http.StatusUnauthorized)
	if logins != 2 || unauthorized != 0 {
		t.Errorf("%d logins and %d answers 401, want 2 logins and no 401", logins, unauthorized)
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

func TestJWTRenewedOnceOn401(t *testing.T) {
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
			logins, unauthorized := countCalls(sim, tt.login, http.StatusUnauthorized)
			if logins != 2 || unauthorized != 1 {
				t.Errorf("%d logins and %d answers 401, want 2 and 1", logins, unauthorized)
			}
			if n, _ := countCalls(sim, "loginV3", 0); n > 1 {
				t.Errorf("%d v3.0 logins: the refresh token should have been reused", n)
			}
		})
	}
}

func TestJWTRenewalStopsAfterOneRetry(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	if err := sim.SetFault(mendsim.Fault{Op: "listGroups", Status: http.StatusUnauthorized}); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Groups.List(context.Background(), orgToken, nil)
	wantStatus(t, err, http.StatusUnauthorized)
	lists, _ := countCalls(sim, "listGroups", 0)
	logins, _ := countCalls(sim, "login", 0)
	if lists != 2 || logins != 2 {
		t.Errorf("%d requests and %d logins, want 2 of each", lists, logins)
	}
}

func TestLoginV3TwoSteps(t *testing.T) {
	t.Parallel()
	c, sim := setup(t, mend.WithLoginV3())
	listTwice(t, c, func() {})
	var ops []string
	for _, call := range sim.Calls() {
		ops = append(ops, call.Op)
	}
	if diff := cmp.Diff([]string{"loginV3", "accessToken", "listGroups", "listGroups"}, ops); diff != "" {
		t.Errorf("calls (-want, +got):\n%s", diff)
	}
	wantSent(t, sim, "loginV3", http.MethodPost, "/api/v3.0/login", map[string]any{"email": mendsim.DefaultUserEmail})
	wantSent(t, sim, "accessToken", http.MethodPost, "/api/v3.0/login/accessToken", map[string]any{"orgUuid": orgToken})
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
		{name: "v3.0 wrong user key", key: strings.Repeat("0", 64), email: mendsim.DefaultUserEmail, opts: []mend.Option{mend.WithLoginV3()}, login: "loginV3"},
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
			wantStatus(t, err, http.StatusUnauthorized)
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
