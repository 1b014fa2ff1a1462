package worker

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

	"github.com/mendflow/mendflow/internal/backoff"
	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/handlers"
	"github.com/mendflow/mendflow/pkg/mend"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// testFailures and testAttempts are the worker's reading of failures and
// the runner's decision, at 5 attempts, a backoff from 1s to 30s without
// jitter, and a minute's wait for a target.
func testFailures() failures {
	return failures{backoff: backoff.Policy{Initial: time.Second, Max: 30 * time.Second, Multiplier: 2}.Delay, notFoundWait: time.Minute, now: func() time.Time { return t0 }}
}

func testAttempts() bus.Attempts {
	return bus.Attempts{Max: 5, Backoff: backoff.Policy{Initial: time.Second, Max: 30 * time.Second, Multiplier: 2}.Delay}
}

// decide is what becomes of a delivery of cmd whose handler returned err:
// the worker reads the error, the runner decides.
func decide(cmd *handlers.Delivery, err error, stopping bool) (*handlers.Result, bus.Ending) {
	res, err := testFailures().read(cmd, err)
	if res != nil {
		return res, bus.Ending{}
	}
	return nil, testAttempts().Decide(err, cmd.Attempt, stopping)
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
		want      *bus.Ending // Err not compared
		wantRes   *handlers.Result
	}{
		{
			name: "429 waits its Retry-After", attempt: 1,
			err:  &mend.HTTPError{StatusCode: http.StatusTooManyRequests, RetryAfter: 7 * time.Second},
			want: &bus.Ending{Outcome: bus.OutcomeRetry, Delay: 7 * time.Second, Reason: "transient"},
		},
		{
			name: "503 backs off exponentially", attempt: 3,
			err:  fmt.Errorf("wrapped: %w", &mend.HTTPError{StatusCode: http.StatusServiceUnavailable}),
			want: &bus.Ending{Outcome: bus.OutcomeRetry, Delay: 4 * time.Second, Reason: "transient"},
		},
		{
			name: "3000 backs off too", attempt: 4, err: &mend.APIError{Code: mend.CodeInvalidParameters},
			want: &bus.Ending{Outcome: bus.OutcomeRetry, Delay: 8 * time.Second, Reason: "transient"},
		},
		{
			name: "a dropped connection is transient", attempt: 1, err: io.ErrUnexpectedEOF,
			want: &bus.Ending{Outcome: bus.OutcomeRetry, Delay: time.Second, Reason: "transient"},
		},
		{
			name: "attempts spent", attempt: 5, err: &mend.APIError{Code: mend.CodeInvalidParameters},
			want: &bus.Ending{Outcome: bus.OutcomeFailed, Reason: events.FailAttemptsSpent},
		},
		{
			name: "5001 is permanent at once", attempt: 1, err: &mend.APIError{Code: mend.CodeNotAllowed},
			want: &bus.Ending{Outcome: bus.OutcomeFailed, Reason: events.FailPermanent},
		},
		{
			name: "an unknown error is permanent", attempt: 1, err: errors.New("surprise"),
			want: &bus.Ending{Outcome: bus.OutcomeFailed, Reason: events.FailPermanent},
		},
		{
			name: "invalid data", attempt: 1, err: &events.ValidationError{Command: "x", Reason: "y"},
			want: &bus.Ending{Outcome: bus.OutcomeFailed, Reason: events.FailInvalid},
		},
		{
			name: "unknown command", attempt: 1, err: fmt.Errorf("%w %q", events.ErrUnknownCommand, "x.y"),
			want: &bus.Ending{Outcome: bus.OutcomeFailed, Reason: events.FailInvalid},
		},
		{
			name: "a panic", attempt: 1, err: &handlers.PanicError{Value: "boom"},
			want: &bus.Ending{Outcome: bus.OutcomeFailed, Reason: events.FailPanic},
		},
		{
			name: "not found within the wait", attempt: 2, published: t0.Add(-10 * time.Second),
			err:  &handlers.NotFoundError{What: "project"},
			want: &bus.Ending{Outcome: bus.OutcomeRetry, Delay: 2 * time.Second, Reason: "not found yet", Later: true},
		},
		{
			name: "not found: the delay ends with the wait", attempt: 9, published: t0.Add(-59 * time.Second),
			err:  &handlers.NotFoundError{What: "project"},
			want: &bus.Ending{Outcome: bus.OutcomeRetry, Delay: time.Second, Reason: "not found yet", Later: true},
		},
		{
			name: "not found after the wait", attempt: 7, published: t0.Add(-time.Minute),
			err:  &handlers.NotFoundError{What: "project"},
			want: &bus.Ending{Outcome: bus.OutcomeFailed, Reason: events.FailNotFound},
		},
		{
			name: "a removal's target never came", attempt: 7, published: t0.Add(-2 * time.Minute),
			err: &handlers.NotFoundError{What: "project", Otherwise: &otherwise}, wantRes: &otherwise,
		},
		{
			name: "another copy running", attempt: 40, err: handlers.BusyError{},
			want: &bus.Ending{Outcome: bus.OutcomeRetry, Delay: time.Second, Reason: "busy", Later: true},
		},
		{
			name: "Mend unavailable spends no attempt", attempt: 10, err: &mend.UnavailableError{Reason: "circuit open", Wait: 45 * time.Second},
			want: &bus.Ending{Outcome: bus.OutcomeRetry, Delay: 45 * time.Second, Reason: "mend unavailable", Later: true},
		},
		{
			name: "set aside comes back at its place, sooner than a backoff", attempt: 3, err: &mend.UnavailableError{Reason: mend.ReasonSaturated, Wait: 250 * time.Millisecond},
			want: &bus.Ending{Outcome: bus.OutcomeRetry, Delay: 250 * time.Millisecond, Reason: "mend unavailable", Later: true},
		},
		{
			name: "the lock store unavailable", attempt: 1, err: handlers.BusyError{Err: errors.New("nats: timeout")},
			want: &bus.Ending{Outcome: bus.OutcomeRetry, Delay: time.Second, Reason: "busy"},
		},
		{
			name: "the lock store unavailable, attempts spent", attempt: 5, err: handlers.BusyError{Err: errors.New("nats: timeout")},
			want: &bus.Ending{Outcome: bus.OutcomeFailed, Reason: events.FailAttemptsSpent},
		},
		{
			name: "a result not stored is retried", attempt: 2, err: &bus.PublishError{What: "r", Err: nats.ErrTimeout},
			want: &bus.Ending{Outcome: bus.OutcomeRetry, Delay: 2 * time.Second, Reason: bus.ReasonPublishFailed},
		},
		{
			name: "a result not stored counts toward the attempts", attempt: 5, err: &bus.PublishError{What: "r", Err: jetstream.ErrNoStreamResponse},
			want: &bus.Ending{Outcome: bus.OutcomeFailed, Reason: events.FailAttemptsSpent},
		},
		{
			name: "a result not stored by a worker stopping still counts", attempt: 5, stopping: true, err: &bus.PublishError{What: "r", Err: nats.ErrTimeout},
			want: &bus.Ending{Outcome: bus.OutcomeFailed, Reason: events.FailAttemptsSpent},
		},
		{
			name: "a result over max_payload is given up at once", attempt: 1, err: &bus.PublishError{What: "r", Err: nats.ErrMaxPayload},
			want: &bus.Ending{Outcome: bus.OutcomeFailed, Reason: events.FailTooLarge},
		},
		{
			name: "a result with headers over 64 KiB is given up at once", attempt: 1,
			err:  &bus.PublishError{What: "result", Err: &jetstream.APIError{Code: 400, ErrorCode: 10097, Description: "header size exceeds maximum allowed of 64k"}},
			want: &bus.Ending{Outcome: bus.OutcomeFailed, Reason: events.FailTooLarge},
		},
		{
			name: "stopping hands back whatever the error", attempt: 1, stopping: true,
			err:  &mend.APIError{Code: mend.CodeNotAllowed},
			want: &bus.Ending{Outcome: bus.OutcomeHandedBack, Reason: "stopping"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			published := tt.published
			if published.IsZero() {
				published = t0
			}
			res, got := decide(&handlers.Delivery{Attempt: tt.attempt, Published: published}, tt.err, tt.stopping)
			if diff := cmp.Diff(tt.wantRes, res); diff != "" {
				t.Errorf("result (-want, +got):\n%s", diff)
			}
			if tt.want == nil {
				if got != (bus.Ending{}) {
					t.Errorf("ending %+v, want none", got)
				}
				return
			}
			if !errors.Is(got.Err, tt.err) {
				t.Errorf("ending does not wrap the error: %v", got.Err)
			}
			got.Err = nil
			if diff := cmp.Diff(*tt.want, got); diff != "" {
				t.Errorf("ending (-want, +got):\n%s", diff)
			}
		})
	}
}

// TestMiddleware runs a handler through the worker's middleware, then its
// reading of failures and the runner's decision.
func TestMiddleware(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		handler     handlers.Handler
		wantOutcome string
		wantReason  string
	}{
		{
			name:        "a panic becomes a failure",
			handler:     func(context.Context, *handlers.Delivery) (handlers.Result, error) { panic("boom") },
			wantOutcome: bus.OutcomeFailed, wantReason: events.FailPanic,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmd := &handlers.Delivery{Attempt: 1, Published: t0}
			_, err := handlers.Recover()(tt.handler)(context.Background(), cmd)
			if _, end := decide(cmd, err, false); end.Outcome != tt.wantOutcome || end.Reason != tt.wantReason {
				t.Errorf("ending %+v, want %s (%s)", end, tt.wantOutcome, tt.wantReason)
			}
		})
	}
}
