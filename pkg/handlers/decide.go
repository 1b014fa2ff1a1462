package handlers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// Verdict is what becomes of a command that did not succeed.
type Verdict int

const (
	// Retry: deliver it again after Decision.Delay (NakWithDelay).
	Retry Verdict = iota + 1
	// GiveUp: stop (TermWithReason), publish io.mendflow.command.failed and
	// keep the command on the dead-letter stream.
	GiveUp
	// HandBack: this worker is stopping; deliver it again at once, to
	// another worker or a later one (Nak).
	HandBack
)

// String names the verdict, as logs show it.
func (v Verdict) String() string {
	switch v {
	case Retry:
		return "retry"
	case GiveUp:
		return "give up"
	case HandBack:
		return "hand back"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Decision is the error a handler wrapped by Decide returns: the verdict on
// a failure and why.
type Decision struct {
	Verdict Verdict
	// Delay is how long to wait before the next delivery (Retry).
	Delay time.Duration
	// Reason is one of the events.Fail* reasons for GiveUp; "transient",
	// "not found yet", "busy" or "publish failed" for Retry; "stopping" for
	// HandBack.
	Reason string
	Err    error
}

// Error implements error: the verdict, its reason and the failure.
func (d *Decision) Error() string {
	return fmt.Sprintf("%s (%s): %v", d.Verdict, d.Reason, d.Err)
}

// Unwrap returns the failure decided on.
func (d *Decision) Unwrap() error { return d.Err }

// NotFoundError reports that what a command acts on does not exist, or not
// yet: a tag may arrive before its project. Decide retries it until the
// policy's NotFoundWait has passed since the command was published.
type NotFoundError struct {
	// What names the missing target, such as `project "api" in product "web"`.
	What string
	// Otherwise, when set, is the result once waiting is over. Removals set
	// it: a target that never appears is as removed as can be.
	Otherwise *Result
}

// Error implements error.
func (e *NotFoundError) Error() string { return e.What + " not found" }

// notFound returns a NotFoundError for a target described by format.
func notFound(format string, args ...any) error {
	return &NotFoundError{What: fmt.Sprintf(format, args...)}
}

// absentOr returns a NotFoundError that ends in res once waiting is over.
func absentOr(res Result, format string, args ...any) error {
	return &NotFoundError{What: fmt.Sprintf(format, args...), Otherwise: &res}
}

// ReasonPublishFailed is the reason of a retry because what the worker had
// to store, a result event, a Track item or a dead letter, was not stored.
const ReasonPublishFailed = "publish failed"

// PublishError reports that what a command produced, its result event or
// its Track item, could not be stored: its effect is made, but the command
// is not done until its answer is. The worker returns it for Decide.
type PublishError struct{ Err error }

// Error implements error.
func (e *PublishError) Error() string { return "publishing " + e.Err.Error() }

// Unwrap returns why publishing failed.
func (e *PublishError) Unwrap() error { return e.Err }

// PanicError is a handler's panic, recovered.
type PanicError struct{ Value any }

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// RetryPolicy decides what becomes of a failed delivery. It is the one
// place where mendflow turns an error into a retry or a dead letter; whether
// a Mend failure may pass on its own is mend.Classify's to say, whether
// NATS can ever take a message bus.TooLarge's.
type RetryPolicy struct {
	// MaxAttempts bounds the deliveries of a command failing in ways that
	// may pass.
	MaxAttempts int
	// BaseDelay is the wait before the second delivery; each next one
	// doubles, up to MaxDelay, and is spread by ±Jitter (0 to 1).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	Jitter    float64
	// NotFoundWait is how long after its publication a command keeps
	// waiting for its target to appear.
	NotFoundWait time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (p RetryPolicy) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

// Backoff is the wait before the delivery after attempt: exponential with
// jitter, so that commands failing together do not come back together.
func (p RetryPolicy) Backoff(attempt int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	if p.Jitter > 0 {
		d = time.Duration(float64(d) * (1 + p.Jitter*(2*rand.Float64()-1)))
	}
	return max(d, time.Millisecond)
}

// Decide returns the verdict on err, the failure of cmd's delivery whose
// handler ran under ctx, or a result when err is a NotFoundError whose wait
// is over and that says what it then means.
func (p RetryPolicy) Decide(ctx context.Context, cmd *Delivery, err error) (*Result, *Decision) {
	var (
		nf       *NotFoundError
		verr     *events.ValidationError
		panicErr *PanicError
		pubErr   *PublishError
		busy     BusyError
	)
	switch {
	case errors.As(err, &pubErr):
		// The handler is done; only its answer is not stored. Publishing
		// outlives a worker stopping, so ctx has no say here.
		if bus.TooLarge(err) {
			return nil, &Decision{Verdict: GiveUp, Reason: events.FailTooLarge, Err: err}
		}
		return nil, p.retry(cmd, err, ReasonPublishFailed, p.Backoff(cmd.Attempt))
	case ctx.Err() != nil:
		// The handler was cut short because this worker is stopping: no
		// verdict on the command itself.
		return nil, &Decision{Verdict: HandBack, Reason: "stopping", Err: err}
	case errors.As(err, &verr), errors.Is(err, events.ErrUnknownCommand):
		return nil, &Decision{Verdict: GiveUp, Reason: events.FailInvalid, Err: err}
	case errors.As(err, &panicErr):
		return nil, &Decision{Verdict: GiveUp, Reason: events.FailPanic, Err: err}
	case errors.As(err, &busy):
		if busy.Err != nil {
			// The lock could not be had: a failure like any other.
			return nil, p.retry(cmd, err, "busy", p.Backoff(1))
		}
		// The other copy will be done soon; this one then finds its work
		// done. MaxAttempts does not end this wait, but each busy retry is
		// a delivery, and Attempt counts deliveries: a copy that waited
		// has fewer attempts left should it then fail.
		return nil, &Decision{Verdict: Retry, Delay: p.Backoff(1), Reason: "busy", Err: err}
	case errors.As(err, &nf):
		left := cmd.Published.Add(p.NotFoundWait).Sub(p.now())
		if left > 0 {
			return nil, &Decision{Verdict: Retry, Delay: min(p.Backoff(cmd.Attempt), left), Reason: "not found yet", Err: err}
		}
		if nf.Otherwise != nil {
			return nf.Otherwise, nil
		}
		return nil, &Decision{Verdict: GiveUp, Reason: events.FailNotFound, Err: err}
	case mend.IsTransient(err):
		delay := p.Backoff(cmd.Attempt)
		if wait, ok := mend.RetryAfter(err); ok && wait > delay {
			delay = wait
		}
		return nil, p.retry(cmd, err, "transient", delay)
	default:
		return nil, &Decision{Verdict: GiveUp, Reason: events.FailPermanent, Err: err}
	}
}

// retry is the verdict on a failure that may pass: deliver cmd again after
// delay, unless it has had MaxAttempts deliveries.
func (p RetryPolicy) retry(cmd *Delivery, err error, reason string, delay time.Duration) *Decision {
	if cmd.Attempt >= p.MaxAttempts {
		return &Decision{Verdict: GiveUp, Reason: events.FailAttemptsSpent, Err: err}
	}
	return &Decision{Verdict: Retry, Delay: delay, Reason: reason, Err: err}
}

// Decide is the middleware that turns every failure into a *Decision by
// policy p.
func Decide(p RetryPolicy) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, cmd *Delivery) (Result, error) {
			res, err := next(ctx, cmd)
			if err == nil {
				return res, nil
			}
			instead, d := p.Decide(ctx, cmd, err)
			if d != nil {
				return Result{}, d
			}
			return *instead, nil
		}
	}
}

// Recover is the middleware that turns a handler's panic into a
// *PanicError, so that one bad command cannot take the worker down.
func Recover() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, cmd *Delivery) (res Result, err error) {
			defer func() {
				if v := recover(); v != nil {
					res, err = Result{}, &PanicError{Value: v}
				}
			}()
			return next(ctx, cmd)
		}
	}
}
