package bus

import (
	"errors"
	"time"

	"github.com/mendflow/mendflow/pkg/events"
)

// Outcomes of a delivery, as a Runner logs and counts them: how it really
// ended, once what it produced is stored and JetStream is told, not what
// its handler returned.
const (
	// OutcomeSuccess: done, and acknowledged (DoubleAck).
	OutcomeSuccess = "success"
	// OutcomeRetry: to be delivered again later (NakWithDelay).
	OutcomeRetry = "retry"
	// OutcomeFailed: given up, kept as a dead letter where the runner
	// keeps them, and terminated (TermWithReason).
	OutcomeFailed = "failed"
	// OutcomeHandedBack: handed back by a runner stopping (NakWithDelay,
	// see Runner.Run).
	OutcomeHandedBack = "handed_back"
)

// Reasons of the runner's own.
const (
	// ReasonPublishFailed: what the delivery had to store (a result, a
	// Track item, a completion, a dead letter) was not stored.
	ReasonPublishFailed = "publish failed"
	// ReasonStopping: the runner is stopping.
	ReasonStopping = "stopping"
	// ReasonTransient: a failure that may pass, as its handler says.
	ReasonTransient = "transient"
)

// LaterError asks for the delivery again after Delay: nothing failed for
// good, it is too early (an item not ended yet, a target not there yet,
// another copy running). It does not count toward Attempts.Max where the
// runner has Laters (RunnerConfig.Laters).
type LaterError struct {
	Delay  time.Duration
	Reason string
	// Err is what made it too early; nil when nothing failed.
	Err error
}

// Later returns a *LaterError.
func Later(delay time.Duration, reason string, err error) error {
	return &LaterError{Delay: delay, Reason: reason, Err: err}
}

// Error implements error.
func (e *LaterError) Error() string {
	if e.Err == nil {
		return "later: " + e.Reason
	}
	return e.Err.Error()
}

// Unwrap returns what made it too early.
func (e *LaterError) Unwrap() error { return e.Err }

// TransientError is a failure that may pass: the delivery comes back
// after the backoff, but not sooner than AtLeast (a Retry-After), until
// Attempts.Max deliveries; then it gives up, reason attempts spent.
type TransientError struct {
	Reason  string
	AtLeast time.Duration
	Err     error
}

// Transient returns a *TransientError without a least delay.
func Transient(reason string, err error) error { return &TransientError{Reason: reason, Err: err} }

// Error implements error.
func (e *TransientError) Error() string { return e.Err.Error() }

// Unwrap returns the failure.
func (e *TransientError) Unwrap() error { return e.Err }

// PermanentError is a failure no delivery can cure: the delivery gives up
// at once with Reason (one of the events.Fail* reasons).
type PermanentError struct {
	Reason string
	Err    error
}

// Permanent returns a *PermanentError.
func Permanent(reason string, err error) error { return &PermanentError{Reason: reason, Err: err} }

// Error implements error.
func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the failure.
func (e *PermanentError) Unwrap() error { return e.Err }

// Attempts is the one retry decision of a Runner: how a delivery ends,
// given what its handler returned.
type Attempts struct {
	// Max bounds the deliveries of a message failing transiently; 0: no
	// bound (the poller's deliveries are polls, not attempts).
	Max int
	// Backoff is the wait before the delivery after attempt (1 for the
	// first), so that messages failing together do not come back
	// together.
	Backoff func(attempt int) time.Duration
}

// Ending is how a delivery ends.
type Ending struct {
	// Outcome is one of the Outcome constants.
	Outcome string
	// Reason is why it was retried, handed back or given up.
	Reason string
	// Delay is the wait before the next delivery, for OutcomeRetry.
	Delay time.Duration
	// Err is what failed; nil for a success, and for a delivery asked for
	// later with nothing failed.
	Err error
	// Later is set for a delivery asked for later (a *LaterError): it
	// does not count toward Attempts.Max, where the runner has Laters.
	Later bool
}

// Decide returns how the delivery whose handler returned err ends, at its
// attempt-th delivery, stopping when the runner cut its handler short:
//
//   - nil: success.
//   - a *PublishError: its work is done, only its answer is not stored.
//     Too large to store ever (TooLarge): given up at once, reason too
//     large; otherwise retried as transient, reason publish failed,
//     whether the runner stops or not.
//   - anything else from a handler cut short: handed back, no verdict on
//     the message itself.
//   - a *LaterError: delivered again after its delay.
//   - a *PermanentError: given up with its reason.
//   - a *TransientError: delivered again after the backoff, at least its
//     AtLeast, until Max deliveries; then given up, reason attempts spent.
//   - any other error: given up, reason permanent: an error that does not
//     say it may pass will not.
func (a Attempts) Decide(err error, attempt int, stopping bool) Ending {
	var (
		pub       *PublishError
		later     *LaterError
		permanent *PermanentError
		transient *TransientError
	)
	switch {
	case err == nil:
		return Ending{Outcome: OutcomeSuccess}
	case errors.As(err, &pub):
		if TooLarge(err) {
			return Ending{Outcome: OutcomeFailed, Reason: events.FailTooLarge, Err: err}
		}
		return a.retry(attempt, ReasonPublishFailed, 0, err)
	case stopping:
		return Ending{Outcome: OutcomeHandedBack, Reason: ReasonStopping, Err: err}
	case errors.As(err, &later):
		return Ending{Outcome: OutcomeRetry, Reason: later.Reason, Delay: later.Delay, Err: later.Err, Later: true}
	case errors.As(err, &permanent):
		return Ending{Outcome: OutcomeFailed, Reason: permanent.Reason, Err: permanent.Err}
	case errors.As(err, &transient):
		return a.retry(attempt, transient.Reason, transient.AtLeast, transient.Err)
	default:
		return Ending{Outcome: OutcomeFailed, Reason: events.FailPermanent, Err: err}
	}
}

// retry is the ending of a failure that may pass: delivered again after
// the backoff, at least atLeast, unless it has had Max deliveries.
func (a Attempts) retry(attempt int, reason string, atLeast time.Duration, err error) Ending {
	if a.Max > 0 && attempt >= a.Max {
		return Ending{Outcome: OutcomeFailed, Reason: events.FailAttemptsSpent, Err: err}
	}
	return Ending{Outcome: OutcomeRetry, Reason: reason, Delay: max(a.Backoff(attempt), atLeast), Err: err}
}
