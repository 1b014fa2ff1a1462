package mend_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// TestRetryFaults injects each of Mend's failure modes into createProduct
// and checks that the client retries what is transient, stops at once on
// what is not, and sends the request as often as it says it did.
func TestRetryFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		fault        mendsim.Fault
		opts         []mend.Option
		wantAttempts int
		wantErr      bool
		wantCode     int // APIError code, when wantErr
		wantStatus   int // HTTPError status, when wantErr
	}{
		{name: "429 twice", fault: mendsim.Fault{Status: 429, Count: 2}, wantAttempts: 3},
		{name: "500 once", fault: mendsim.Fault{Status: 500, Count: 1}, wantAttempts: 2},
		{name: "502 once", fault: mendsim.Fault{Status: 502, Count: 1}, wantAttempts: 2},
		{name: "503 three times", fault: mendsim.Fault{Status: 503, Count: 3}, wantAttempts: 4},
		{name: "dropped connection", fault: mendsim.Fault{Drop: true, Count: 1}, wantAttempts: 2},
		{name: "sporadic 3000", fault: mendsim.Fault{ErrorCode: mend.CodeInvalidParameters, Count: 2}, wantAttempts: 3},
		{
			name: "5001 is permanent", fault: mendsim.Fault{ErrorCode: mend.CodeNotAllowed},
			wantAttempts: 1, wantErr: true, wantCode: mend.CodeNotAllowed,
		},
		{
			// No public client retries Mend's "unexpected error".
			name: "4000 is permanent", fault: mendsim.Fault{ErrorCode: mend.CodeUnexpected},
			wantAttempts: 1, wantErr: true, wantCode: mend.CodeUnexpected,
		},
		{
			name: "503 outlasting the attempts", fault: mendsim.Fault{Status: 503},
			wantAttempts: 4, wantErr: true, wantStatus: 503,
		},
		{
			name: "Retry-After beyond the policy's bound is handed back", fault: mendsim.Fault{Status: 429, RetryAfter: time.Minute},
			wantAttempts: 1, wantErr: true, wantStatus: 429,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, sim := setup(t, tt.opts...)
			tt.fault.Op = mend.ReqCreateProduct
			if err := sim.SetFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			res, resp, err := c.Products.Create(context.Background(), &mend.CreateProductRequest{OrgToken: orgToken, ProductName: "retried"})
			if got := len(sim.CallsOf(mend.ReqCreateProduct)); got != tt.wantAttempts {
				t.Errorf("simulator saw %d requests, want %d", got, tt.wantAttempts)
			}
			if resp == nil || resp.Attempts != tt.wantAttempts {
				t.Errorf("Response.Attempts = %v, want %d", resp, tt.wantAttempts)
			}
			if !tt.wantErr {
				if err != nil || res.ProductToken == "" {
					t.Fatalf("Create = %v, %v; want success", res, err)
				}
				return
			}
			var apiErr *mend.APIError
			var httpErr *mend.HTTPError
			switch {
			case err == nil:
				t.Fatal("Create succeeded, want an error")
			case tt.wantCode != 0 && (!errors.As(err, &apiErr) || apiErr.Code != tt.wantCode):
				t.Fatalf("Create error = %v, want errorCode %d", err, tt.wantCode)
			case tt.wantStatus != 0 && (!errors.As(err, &httpErr) || httpErr.StatusCode != tt.wantStatus):
				t.Fatalf("Create error = %v, want HTTP %d", err, tt.wantStatus)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	if err := sim.SetFault(mendsim.Fault{Op: mend.ReqGetAllProducts, Status: http.StatusTooManyRequests, RetryAfter: time.Second, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Products.List(context.Background(), &mend.GetAllProductsRequest{OrgToken: orgToken}); err != nil {
		t.Fatal(err)
	}
	calls := sim.CallsOf(mend.ReqGetAllProducts)
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2", len(calls))
	}
	// The fast test policy would retry within milliseconds; the gap shows
	// that the server's Retry-After set the wait instead.
	if gap := calls[1].Time.Sub(calls[0].Time); gap < time.Second {
		t.Errorf("retried after %v, want at least the 1s Retry-After", gap)
	}
}

func TestCancelStopsRetries(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	if err := sim.SetFault(mendsim.Fault{Op: mend.ReqGetAllProducts, Latency: time.Minute}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, resp, err := c.Products.List(ctx, &mend.GetAllProductsRequest{OrgToken: orgToken})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("List error = %v, want context.Canceled", err)
	}
	if mend.IsTransient(err) {
		t.Error("a cancelled call is classified transient; it would be retried against the caller's wish")
	}
	if resp != nil && resp.Attempts > 1 {
		t.Errorf("%d attempts after cancellation, want 1", resp.Attempts)
	}
}

// TestRateLimitWaitPastDeadlineIsTransient: a rate-limit wait that would end
// past the call's deadline fails at once with a plain error from the
// limiter. It must read as the deadline it is (transient), not as a
// permanent failure that ends the caller's work on the item for good.
func TestRateLimitWaitPastDeadlineIsTransient(t *testing.T) {
	t.Parallel()
	limiter := mend.NewLocalLimiter(1.0/3600, 1)
	if _, err := limiter.Acquire(context.Background(), mend.Call{}); err != nil { // the one token is gone; the next comes in an hour
		t.Fatal(err)
	}
	c, sim := setup(t, mend.WithLimiter(limiter))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, _, err := c.Products.List(ctx, &mend.GetAllProductsRequest{OrgToken: orgToken})
	if err == nil {
		t.Fatal("List passed a saturated rate limiter")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("List error = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if !mend.IsTransient(err) {
		t.Errorf("List error %v is classified %v, want transient", err, mend.Classify(err))
	}
	if n := len(sim.CallsOf(mend.ReqGetAllProducts)); n != 0 {
		t.Errorf("simulator saw %d requests past the rate limiter, want 0", n)
	}
}

// TestRateLimitWithoutBurstIsPermanent: a limiter that can never grant a
// request (burst 0) is a configuration fault; it is not dressed as a
// deadline.
func TestRateLimitWithoutBurstIsPermanent(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, mend.WithLimiter(mend.NewLocalLimiter(1, 0)))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _, err := c.Products.List(ctx, &mend.GetAllProductsRequest{OrgToken: orgToken})
	if err == nil || errors.Is(err, context.DeadlineExceeded) || mend.IsTransient(err) {
		t.Errorf("List with a burst-0 limiter: %v, want a permanent error that is no deadline", err)
	}
}

// TestTimedOutReadIsSentAgain: a read whose answer is late is asked again.
func TestTimedOutReadIsSentAgain(t *testing.T) {
	t.Parallel()
	c, sim := setup(t, mend.WithTimeout(100*time.Millisecond))
	if err := sim.SetFault(mendsim.Fault{Op: mend.ReqGetAllProducts, Latency: 2 * time.Second, Count: 1}); err != nil {
		t.Fatal(err)
	}
	_, resp, err := c.Products.List(context.Background(), &mend.GetAllProductsRequest{OrgToken: orgToken})
	if err != nil || resp.Attempts != 2 {
		t.Fatalf("List = %v after %v attempts, want success at the second", err, resp)
	}
}

// TestDeleteGetsTheLongTimeout: a delete longer than the ordinary timeout
// is waited for, and sent once.
func TestDeleteGetsTheLongTimeout(t *testing.T) {
	t.Parallel()
	c, sim := setup(t, mend.WithTimeout(100*time.Millisecond), mend.WithLongTimeout(5*time.Second))
	product, web := demoWeb(t, sim)
	if err := sim.SetFault(mendsim.Fault{Op: mend.ReqDeleteProject, Latency: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	_, resp, err := c.Projects.Delete(context.Background(), &mend.DeleteProjectRequest{ProductToken: product, ProjectToken: web})
	if err != nil || resp.Attempts != 1 || resp.Confirmed {
		t.Fatalf("Delete = %v, %+v; want one attempt, answered", err, resp)
	}
	if n := len(sim.CallsOf(mend.ReqDeleteProject)); n != 1 {
		t.Errorf("%d deleteProject calls, want 1", n)
	}
}

// TestTimedOutDeleteIsLookedUpFirst: a delete whose attempt timed out is
// not sent again when a look finds the project gone (Mend finished it
// after the client stopped waiting).
func TestTimedOutDeleteIsLookedUpFirst(t *testing.T) {
	t.Parallel()
	c, sim := setup(t, mend.WithTimeout(2*time.Second), mend.WithLongTimeout(100*time.Millisecond))
	product, web := demoWeb(t, sim)
	// The delete takes 300 ms; the look, 400 ms, sees what Mend holds
	// once it is done.
	for _, f := range []mendsim.Fault{
		{Op: mend.ReqDeleteProject, Latency: 300 * time.Millisecond, Count: 1},
		{Op: mend.ReqGetProjectVitals, Latency: 400 * time.Millisecond, Count: 1},
	} {
		if err := sim.SetFault(f); err != nil {
			t.Fatal(err)
		}
	}
	_, resp, err := c.Projects.Delete(context.Background(), &mend.DeleteProjectRequest{ProductToken: product, ProjectToken: web})
	if err != nil || resp.Attempts != 1 || !resp.Confirmed {
		t.Fatalf("Delete = %v, %+v; want one attempt, confirmed by the look", err, resp)
	}
	if n := len(sim.CallsOf(mend.ReqDeleteProject)); n != 1 {
		t.Errorf("%d deleteProject calls, want 1", n)
	}
	if n := len(sim.CallsOf(mend.ReqGetProjectVitals)); n != 1 {
		t.Errorf("%d looks, want 1", n)
	}
}

// demoWeb returns the tokens of the demo product and of its project
// demo-web, read from the simulator without a call.
func demoWeb(t *testing.T, sim *mendsim.Server) (product, project string) {
	t.Helper()
	p := sim.Snapshot().Organizations[0].Products[0]
	for _, j := range p.Projects {
		if j.Name == "demo-web" {
			return p.Token, j.Token
		}
	}
	t.Fatal("no demo-web project in the simulator")
	return "", ""
}
