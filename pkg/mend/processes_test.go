package mend_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// clock is a simulator clock that a test moves by hand. It starts at the
// real time, so that the JWTs it dates look valid to the client.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// gmt is a time as Mend writes it: UTC, to the second.
func gmt(t time.Time) mend.Time { return mend.Time{Time: t.UTC().Truncate(time.Second)} }

// applyScope is one level that policies are applied at.
type applyScope struct {
	name  string
	op    string
	token func(mendsim.Snapshot) string
	apply func(ctx context.Context, c *mend.Client, token string) (*mend.AsyncProcess, *mend.Response, error)
	path  func(token string) string
	ctx   string // contextType of the process
}

func applyScopes() []applyScope {
	return []applyScope{
		{
			name: "organization", op: "applyOrganizationPolicies", ctx: "DOMAIN",
			token: func(mendsim.Snapshot) string { return orgToken },
			apply: func(ctx context.Context, c *mend.Client, _ string) (*mend.AsyncProcess, *mend.Response, error) {
				return c.Policies.ApplyOrganization(ctx, orgToken)
			},
			path: func(string) string { return "/api/v2.0/orgs/" + orgToken + "/policies/apply" },
		},
		{
			name: "product", op: "applyProductPolicies", ctx: "PRODUCT",
			token: func(s mendsim.Snapshot) string { return s.Organizations[0].Products[0].Token },
			apply: func(ctx context.Context, c *mend.Client, token string) (*mend.AsyncProcess, *mend.Response, error) {
				return c.Policies.ApplyProduct(ctx, orgToken, token)
			},
			path: func(token string) string { return "/api/v2.0/products/" + token + "/policies/apply" },
		},
		{
			name: "project", op: "applyProjectPolicies", ctx: "PROJECT",
			token: func(s mendsim.Snapshot) string { return s.Organizations[0].Products[0].Projects[0].Token },
			apply: func(ctx context.Context, c *mend.Client, token string) (*mend.AsyncProcess, *mend.Response, error) {
				return c.Policies.ApplyProject(ctx, orgToken, token)
			},
			path: func(token string) string { return "/api/v2.0/projects/" + token + "/policies/apply" },
		},
	}
}

func TestApplyPoliciesProcessOverTime(t *testing.T) {
	t.Parallel()
	for _, scope := range applyScopes() {
		for _, outcome := range []mend.ProcessStatus{mend.ProcessSuccess, mend.ProcessFailed, mend.ProcessFailure} {
			t.Run(scope.name+" "+string(outcome), func(t *testing.T) {
				t.Parallel()
				clk := newClock()
				c, sim := setupWith(t, mendsim.Config{Now: clk.Now, ProcessDuration: 10 * time.Second})
				ctx := context.Background()
				token := scope.token(sim.Snapshot())
				if err := sim.SetProcessOutcome(mendsim.ProcessOutcome{Token: token, Status: string(outcome)}); err != nil {
					t.Fatalf("SetProcessOutcome: %v", err)
				}
				start := gmt(clk.Now())

				p, _, err := scope.apply(ctx, c, token)
				if err != nil {
					t.Fatalf("apply: %v", err)
				}
				wantSent(t, sim, scope.op, http.MethodPost, scope.path(token), nil)
				want := mend.AsyncProcess{
					UUID: p.UUID, Status: mend.ProcessPending, ProcessType: mend.ProcessTypeApplyPolicies,
					ContextUUID: p.ContextUUID, ContextType: scope.ctx, Created: start, Modified: start,
					MessageContentSha1: p.MessageContentSha1, RequestToken: p.RequestToken, UserEmail: mendsim.DefaultUserEmail,
				}
				if diff := cmp.Diff(want, *p); diff != "" {
					t.Errorf("started process (-want, +got):\n%s", diff)
				}
				if p.UUID == "" || p.ContextUUID == "" || len(p.MessageContentSha1) != 40 || p.RequestToken == "" {
					t.Errorf("process lacks identifiers: %+v", p)
				}
				if scope.ctx != "DOMAIN" && p.ContextUUID != token {
					t.Errorf("contextUuid %q, want the token %q", p.ContextUUID, token)
				}

				steps := []struct {
					after  time.Duration
					status mend.ProcessStatus
					since  time.Duration
				}{
					{0, mend.ProcessPending, 0},
					{4 * time.Second, mend.ProcessPending, 0},
					{time.Second, mend.ProcessInProgress, 5 * time.Second},
					{4 * time.Second, mend.ProcessInProgress, 5 * time.Second},
					{time.Second, outcome, 10 * time.Second},
					{time.Minute, outcome, 10 * time.Second},
				}
				for _, step := range steps {
					clk.Add(step.after)
					got, _, err := c.Organizations.ProcessStatus(ctx, orgToken, p.UUID)
					if err != nil {
						t.Fatalf("ProcessStatus: %v", err)
					}
					want.Status, want.Modified = step.status, mend.Time{Time: start.Add(step.since)}
					if diff := cmp.Diff(want, *got); diff != "" {
						t.Errorf("%v in (-want, +got):\n%s", gmt(clk.Now()).Sub(start.Time), diff)
					}
					final := step.status == outcome
					if got.Done() != final || got.Failed() != (final && outcome != mend.ProcessSuccess) {
						t.Errorf("%s: Done %v, Failed %v", got.Status, got.Done(), got.Failed())
					}
				}
				wantSent(t, sim, "asyncProcessStatus", http.MethodGet, "/api/v2.0/orgs/"+orgToken+"/asyncProcessStatus/"+p.UUID, nil)
			})
		}
	}
}

func TestApplyPoliciesProcessOverPolls(t *testing.T) {
	t.Parallel()
	// Polls end the process long before its time would.
	c, _ := setupWith(t, mendsim.Config{ProcessPolls: 3, ProcessDuration: time.Hour})
	ctx := context.Background()
	p, _, err := c.Policies.ApplyOrganization(ctx, orgToken)
	if err != nil {
		t.Fatalf("ApplyOrganization: %v", err)
	}
	var got []mend.ProcessStatus
	for range 4 {
		s, _, err := c.Organizations.ProcessStatus(ctx, orgToken, p.UUID)
		if err != nil {
			t.Fatalf("ProcessStatus: %v", err)
		}
		got = append(got, s.Status)
	}
	want := []mend.ProcessStatus{mend.ProcessPending, mend.ProcessInProgress, mend.ProcessSuccess, mend.ProcessSuccess}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want, +got):\n%s", diff)
	}
}

func TestApplyPoliciesErrors(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()

	// The OpenAPI document lists no 404: what the path names and Mend
	// does not know is a bad request, which IsNotFound reads as such.
	_, _, err := c.Policies.ApplyProduct(ctx, orgToken, "no-such-product")
	wantStatus(t, err, http.StatusBadRequest, "no-such-product")
	if !mend.IsNotFound(err) {
		t.Errorf("IsNotFound(%v) = false", err)
	}
	_, _, err = c.Policies.ApplyProject(ctx, orgToken, "no-such-project")
	wantStatus(t, err, http.StatusBadRequest, "no-such-project")
	_, _, err = c.Organizations.ProcessStatus(ctx, orgToken, "no-such-process")
	wantStatus(t, err, http.StatusBadRequest, "no-such-process")
	if !mend.IsNotFound(err) {
		t.Errorf("IsNotFound(%v) = false", err)
	}

	for _, o := range []mendsim.ProcessOutcome{
		{Token: orgToken, Status: "DONE"},
		{Token: "no-such-scope", Status: "FAILED"},
	} {
		if err := sim.SetProcessOutcome(o); err == nil {
			t.Errorf("SetProcessOutcome(%+v): no error", o)
		}
	}
}

func TestProcessOutcomeIsPerScope(t *testing.T) {
	t.Parallel()
	c, sim := setupWith(t, mendsim.Config{ProcessPolls: 1})
	ctx := context.Background()
	product := sim.Snapshot().Organizations[0].Products[0].Token

	// Through the admin endpoint, as a black-box test would.
	resp, err := http.Post(sim.URL+"/_mendsim/outcomes", "application/json",
		strings.NewReader(`{"token": "`+product+`", "status": "FAILURE"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /_mendsim/outcomes: %s", resp.Status)
	}

	final := func(p *mend.AsyncProcess, _ *mend.Response, err error) mend.ProcessStatus {
		t.Helper()
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		s, _, err := c.Organizations.ProcessStatus(ctx, orgToken, p.UUID)
		if err != nil {
			t.Fatalf("ProcessStatus: %v", err)
		}
		return s.Status
	}
	if got := final(c.Policies.ApplyProduct(ctx, orgToken, product)); got != mend.ProcessFailure {
		t.Errorf("product: %s, want FAILURE", got)
	}
	if got := final(c.Policies.ApplyOrganization(ctx, orgToken)); got != mend.ProcessSuccess {
		t.Errorf("organization: %s, want SUCCESS", got)
	}
	if err := sim.SetProcessOutcome(mendsim.ProcessOutcome{Token: product, Status: "SUCCESS"}); err != nil {
		t.Fatal(err)
	}
	if got := final(c.Policies.ApplyProduct(ctx, orgToken, product)); got != mend.ProcessSuccess {
		t.Errorf("product after reset: %s, want SUCCESS", got)
	}
}

func TestRequestStateOverTime(t *testing.T) {
	t.Parallel()
	for _, outcome := range []mend.RequestState{mend.RequestFinished, mend.RequestFailed, mend.RequestSkipped} {
		t.Run(string(outcome), func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			c, sim := setupWith(t, mendsim.Config{Now: clk.Now, RequestDuration: 10 * time.Second})
			ctx := context.Background()
			start := gmt(clk.Now())
			token, err := sim.RegisterRequest(mendsim.PluginRequest{Outcome: string(outcome)})
			if err != nil {
				t.Fatalf("RegisterRequest: %v", err)
			}
			steps := []struct {
				after time.Duration
				state mend.RequestState
				since time.Duration
			}{
				{0, mend.RequestInProgress, 0},
				{5 * time.Second, mend.RequestUpdated, 5 * time.Second},
				{4 * time.Second, mend.RequestUpdated, 5 * time.Second},
				{time.Second, outcome, 10 * time.Second},
				{time.Hour, outcome, 10 * time.Second},
			}
			for _, step := range steps {
				clk.Add(step.after)
				got, _, err := c.Organizations.RequestState(ctx, &mend.GetRequestStateRequest{OrgToken: orgToken, RequestToken: token})
				if err != nil {
					t.Fatalf("RequestState: %v", err)
				}
				want := mend.GetRequestStateResponse{RequestState: step.state, Timestamp: mend.Time{Time: start.Add(step.since)}}
				if diff := cmp.Diff(want, *got); diff != "" {
					t.Errorf("after %v (-want, +got):\n%s", clk.Now().Sub(start.Time).Round(time.Second), diff)
				}
				final := step.state == outcome
				if got.RequestState.Done() != final || got.RequestState.Failed() != (final && outcome == mend.RequestFailed) {
					t.Errorf("%s: Done %v, Failed %v", got.RequestState, got.RequestState.Done(), got.RequestState.Failed())
				}
			}
			want := map[string]any{"requestType": "getRequestState", "orgToken": orgToken, "requestToken": token}
			if diff := cmp.Diff(want, sentBody(t, sim, mend.ReqGetRequestState)); diff != "" {
				t.Errorf("request body (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestRequestStateOverPolls(t *testing.T) {
	t.Parallel()
	c, sim := setupWith(t, mendsim.Config{RequestPolls: 3, RequestDuration: time.Hour})
	ctx := context.Background()

	// Registered through the admin endpoint, as a black-box test would.
	resp, err := http.Post(sim.URL+"/_mendsim/requests", "application/json", strings.NewReader(`{"outcome": "SKIPPED"}`))
	if err != nil {
		t.Fatal(err)
	}
	var reg struct {
		RequestToken string `json:"requestToken"`
	}
	decodeAdmin(t, resp, http.StatusCreated, &reg)

	var got []mend.RequestState
	for range 4 {
		s, _, err := c.Organizations.RequestState(ctx, &mend.GetRequestStateRequest{OrgToken: orgToken, RequestToken: reg.RequestToken})
		if err != nil {
			t.Fatalf("RequestState: %v", err)
		}
		got = append(got, s.RequestState)
	}
	want := []mend.RequestState{mend.RequestInProgress, mend.RequestUpdated, mend.RequestSkipped, mend.RequestSkipped}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("states (-want, +got):\n%s", diff)
	}
}

func TestRequestStateUnknownAndErrors(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c, sim := setupWith(t, mendsim.Config{Now: clk.Now})
	ctx := context.Background()
	token, err := sim.RegisterRequest(mendsim.PluginRequest{RequestToken: "scan-1"})
	if err != nil || token != "scan-1" {
		t.Fatalf("RegisterRequest: %q, %v", token, err)
	}

	tests := []struct {
		name string
		req  mend.GetRequestStateRequest
		want mend.RequestState
		code int // errorCode, 0 for none
	}{
		{name: "request never seen", req: mend.GetRequestStateRequest{OrgToken: orgToken, RequestToken: "scan-2"}, want: mend.RequestUnknown},
		{name: "request of another organization", req: mend.GetRequestStateRequest{OrgToken: "another-org", RequestToken: "scan-1"}, want: mend.RequestUnknown},
		{name: "registered request", req: mend.GetRequestStateRequest{OrgToken: orgToken, RequestToken: "scan-1"}, want: mend.RequestInProgress},
		{name: "missing request token", req: mend.GetRequestStateRequest{OrgToken: orgToken}, code: mend.CodeMissingFields},
		{name: "missing organization", req: mend.GetRequestStateRequest{RequestToken: "scan-1"}, code: mend.CodeMissingFields},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := c.Organizations.RequestState(ctx, &tt.req)
			if tt.code != 0 {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatalf("RequestState: %v", err)
			}
			if got.RequestState != tt.want || !got.Timestamp.Equal(gmt(clk.Now()).Time) {
				t.Errorf("got %+v, want %s at %v", got, tt.want, gmt(clk.Now()))
			}
			if got.RequestState.Done() {
				t.Errorf("%s counts as final", got.RequestState)
			}
		})
	}

	for _, r := range []mendsim.PluginRequest{
		{RequestToken: "scan-1"},
		{Outcome: "DONE"},
		{OrgToken: "no-such-org"},
	} {
		if _, err := sim.RegisterRequest(r); err == nil {
			t.Errorf("RegisterRequest(%+v): no error", r)
		}
	}
}

func TestProcessesGolden(t *testing.T) {
	t.Parallel()
	var p envelope[mend.AsyncProcess]
	decodeGolden(t, "asyncProcessStatus.json", &p)
	created := time.Date(2019, 8, 24, 14, 15, 22, 0, time.UTC)
	want := mend.AsyncProcess{
		UUID: "caf69794-9882-4b55-82db-6b6da4fe2a92", Status: mend.ProcessPending, ProcessType: mend.ProcessTypeApplyPolicies,
		ContextUUID: "caf69794-9882-4b55-82db-6b6da4fe2a26", ContextType: "DOMAIN", Created: mend.Time{Time: created}, Modified: mend.Time{Time: created},
		MessageContentSha1: "fb4016165697cc32d0b90ccc82e3c2c846eb01b7", RequestToken: "2cd6a43b", UserEmail: "sample@mail.com",
	}
	if diff := cmp.Diff(want, p.RetVal); diff != "" {
		t.Errorf("asyncProcessStatus.json (-want, +got):\n%s", diff)
	}

	var s mend.GetRequestStateResponse
	decodeGolden(t, "getRequestState.json", &s)
	wantState := mend.GetRequestStateResponse{RequestState: mend.RequestFinished, Timestamp: mend.Time{Time: time.Date(2018, 2, 28, 17, 48, 19, 0, time.UTC)}}
	if diff := cmp.Diff(wantState, s); diff != "" {
		t.Errorf("getRequestState.json (-want, +got):\n%s", diff)
	}
}

// decodeAdmin checks the status of an answer read without the client, and
// decodes its body into v.
func decodeAdmin(t *testing.T, resp *http.Response, status int, v any) {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %s, want %d", resp.Request.Method, resp.Request.URL.Path, resp.Status, status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
