package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/handlers"
	"github.com/mendflow/mendflow/pkg/mend"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func policy() handlers.RetryPolicy {
	return handlers.RetryPolicy{
		MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: 30 * time.Second, NotFoundWait: time.Minute,
		Now: func() time.Time { return t0 },
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	otherwise := handlers.Result{Type: "io.mendflow.thing.deleted"}
	tests := []struct {
		name      string
		err       error
		attempt   int
		published time.Time
		stopping  bool
		want      *handlers.Decision // Err not compared
		wantRes   *handlers.Result
	}{
		{
			name: "429 waits its Retry-After", attempt: 1,
			err:  &mend.HTTPError{StatusCode: http.StatusTooManyRequests, RetryAfter: 7 * time.Second},
			want: &handlers.Decision{Verdict: handlers.Retry, Delay: 7 * time.Second, Reason: "transient"},
		},
		{
			name: "503 backs off exponentially", attempt: 3,
			err:  fmt.Errorf("wrapped: %w", &mend.HTTPError{StatusCode: http.StatusServiceUnavailable}),
			want: &handlers.Decision{Verdict: handlers.Retry, Delay: 4 * time.Second, Reason: "transient"},
		},
		{
			name: "3000 backs off too", attempt: 4, err: &mend.APIError{Code: mend.CodeInvalidParameters},
			want: &handlers.Decision{Verdict: handlers.Retry, Delay: 8 * time.Second, Reason: "transient"},
		},
		{
			name: "a dropped connection is transient", attempt: 1, err: io.ErrUnexpectedEOF,
			want: &handlers.Decision{Verdict: handlers.Retry, Delay: time.Second, Reason: "transient"},
		},
		{
			name: "attempts spent", attempt: 5, err: &mend.APIError{Code: mend.CodeInvalidParameters},
			want: &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailAttemptsSpent},
		},
		{
			name: "5001 is permanent at once", attempt: 1, err: &mend.APIError{Code: mend.CodeNotAllowed},
			want: &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailPermanent},
		},
		{
			name: "an unknown error is permanent", attempt: 1, err: errors.New("surprise"),
			want: &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailPermanent},
		},
		{
			name: "invalid data", attempt: 1, err: &events.ValidationError{Command: "x", Reason: "y"},
			want: &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailInvalid},
		},
		{
			name: "unknown command", attempt: 1, err: fmt.Errorf("%w %q", events.ErrUnknownCommand, "x.y"),
			want: &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailInvalid},
		},
		{
			name: "a panic", attempt: 1, err: &handlers.PanicError{Value: "boom"},
			want: &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailPanic},
		},
		{
			name: "not found within the wait", attempt: 2, published: t0.Add(-10 * time.Second),
			err:  &handlers.NotFoundError{What: "project"},
			want: &handlers.Decision{Verdict: handlers.Retry, Delay: 2 * time.Second, Reason: "not found yet"},
		},
		{
			name: "not found: the delay ends with the wait", attempt: 9, published: t0.Add(-59 * time.Second),
			err:  &handlers.NotFoundError{What: "project"},
			want: &handlers.Decision{Verdict: handlers.Retry, Delay: time.Second, Reason: "not found yet"},
		},
		{
			name: "not found after the wait", attempt: 7, published: t0.Add(-time.Minute),
			err:  &handlers.NotFoundError{What: "project"},
			want: &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailNotFound},
		},
		{
			name: "a removal's target never came", attempt: 7, published: t0.Add(-2 * time.Minute),
			err: &handlers.NotFoundError{What: "project", Otherwise: &otherwise}, wantRes: &otherwise,
		},
		{
			name: "another copy running", attempt: 40, err: handlers.BusyError{},
			want: &handlers.Decision{Verdict: handlers.Retry, Delay: time.Second, Reason: "busy"},
		},
		{
			name: "the lock store unavailable", attempt: 1, err: handlers.BusyError{Err: errors.New("nats: timeout")},
			want: &handlers.Decision{Verdict: handlers.Retry, Delay: time.Second, Reason: "busy"},
		},
		{
			name: "the lock store unavailable, attempts spent", attempt: 5, err: handlers.BusyError{Err: errors.New("nats: timeout")},
			want: &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailAttemptsSpent},
		},
		{
			name: "a result not stored is retried", attempt: 2, err: &handlers.PublishError{Err: nats.ErrTimeout},
			want: &handlers.Decision{Verdict: handlers.Retry, Delay: 2 * time.Second, Reason: handlers.ReasonPublishFailed},
		},
		{
			name: "a result not stored counts toward the attempts", attempt: 5, err: &handlers.PublishError{Err: jetstream.ErrNoStreamResponse},
			want: &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailAttemptsSpent},
		},
		{
			name: "a result not stored by a worker stopping still counts", attempt: 5, stopping: true, err: &handlers.PublishError{Err: nats.ErrTimeout},
			want: &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailAttemptsSpent},
		},
		{
			name: "a result over max_payload is given up at once", attempt: 1, err: &handlers.PublishError{Err: nats.ErrMaxPayload},
			want: &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailTooLarge},
		},
		{
			name: "a result with headers over 64 KiB is given up at once", attempt: 1,
			err:  &handlers.PublishError{Err: fmt.Errorf("result: %w", &jetstream.APIError{Code: 400, ErrorCode: 10097, Description: "header size exceeds maximum allowed of 64k"})},
			want: &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailTooLarge},
		},
		{
			name: "stopping hands back whatever the error", attempt: 1, stopping: true,
			err:  &mend.APIError{Code: mend.CodeNotAllowed},
			want: &handlers.Decision{Verdict: handlers.HandBack, Reason: "stopping"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			if tt.stopping {
				cancel()
			} else {
				defer cancel()
			}
			published := tt.published
			if published.IsZero() {
				published = t0
			}
			res, got := policy().Decide(ctx, &handlers.Delivery{Attempt: tt.attempt, Published: published}, tt.err)
			if diff := cmp.Diff(tt.wantRes, res); diff != "" {
				t.Errorf("result (-want, +got):\n%s", diff)
			}
			if tt.want == nil {
				if got != nil {
					t.Errorf("decision %v, want none", got)
				}
				return
			}
			if got == nil {
				t.Fatal("no decision")
			}
			if !errors.Is(got, tt.err) && !errors.Is(got.Err, tt.err) {
				t.Errorf("decision does not wrap the error: %v", got)
			}
			got.Err = nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decision (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		attempt int
		want    time.Duration
	}{
		{"first", 1, time.Second},
		{"second", 2, 2 * time.Second},
		{"capped", 6, 30 * time.Second},
		{"far out", 1000, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := policy().Backoff(tt.attempt); got != tt.want {
				t.Errorf("Backoff(%d) = %v, want %v", tt.attempt, got, tt.want)
			}
		})
	}
}

func TestBackoffJitter(t *testing.T) {
	t.Parallel()
	p := policy()
	p.Jitter = 0.5
	seen := map[time.Duration]bool{}
	for range 200 {
		d := p.Backoff(2)
		if d < time.Second || d > 3*time.Second {
			t.Fatalf("Backoff(2) = %v, want 2s ±50%%", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct delays in 200: no jitter", len(seen))
	}
}

// TestMiddleware runs a handler through the worker's middleware and checks
// what each adds.
func TestMiddleware(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		handler    handlers.Handler
		wantVerd   handlers.Verdict
		wantReason string
	}{
		{
			name:     "a panic becomes a failure",
			handler:  func(context.Context, *handlers.Delivery) (handlers.Result, error) { panic("boom") },
			wantVerd: handlers.GiveUp, wantReason: events.FailPanic,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := handlers.Decide(policy())(handlers.Recover()(tt.handler))
			_, err := h(context.Background(), &handlers.Delivery{Attempt: 1, Published: t0})
			var d *handlers.Decision
			if !errors.As(err, &d) {
				t.Fatalf("error %v is no decision", err)
			}
			if d.Verdict != tt.wantVerd || d.Reason != tt.wantReason {
				t.Errorf("decision %v, want %v (%s)", d, tt.wantVerd, tt.wantReason)
			}
		})
	}
}
