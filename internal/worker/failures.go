package worker

import (
	"errors"
	"time"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/handlers"
	"github.com/mendflow/mendflow/pkg/mend"
)

// failures reads what a handler's error says happened, in the runner's
// terms (see bus.Attempts.Decide), which then decides, once, how the
// delivery ends. Whether a Mend failure may pass is mend's to say (its
// retry table); what the handlers met, their typed errors say.
type failures struct {
	// backoff is the runner's.
	backoff func(attempt int) time.Duration
	// notFoundWait is how long after its publication a command keeps
	// waiting for its target to appear.
	notFoundWait time.Duration
	now          func() time.Time
}

// Reasons a command is delivered again, besides the runner's.
const (
	reasonBusy        = "busy"
	reasonNotFoundYet = "not found yet"
	// reasonUnavailable: Mend asked to wait, or is down (the
	// organization's circuit is open): not the command's failure.
	reasonUnavailable = "mend unavailable"
)

// read returns the error of cmd's handler as the runner takes it, or the
// result instead when err is a NotFoundError whose wait is over and that
// says what that means.
func (f failures) read(cmd *handlers.Delivery, err error) (*handlers.Result, error) {
	var (
		nf       *handlers.NotFoundError
		verr     *events.ValidationError
		panicErr *handlers.PanicError
		busy     handlers.BusyError
	)
	switch {
	case errors.As(err, &verr), errors.Is(err, events.ErrUnknownCommand):
		return nil, bus.Permanent(events.FailInvalid, err)
	case errors.As(err, &panicErr):
		return nil, bus.Permanent(events.FailPanic, err)
	case errors.As(err, &busy):
		if busy.Err != nil {
			// The lock could not be had: a failure like any other.
			return nil, bus.Transient(reasonBusy, err)
		}
		// The other copy will be done soon; this one then finds its work
		// done. The wait spends none of its attempts (bus.Laters).
		return nil, bus.Later(f.backoff(1), reasonBusy, err)
	case errors.As(err, &nf):
		left := cmd.Published.Add(f.notFoundWait).Sub(f.now())
		if left > 0 {
			return nil, bus.Later(min(f.backoff(cmd.Attempt), left), reasonNotFoundYet, err)
		}
		if nf.Otherwise != nil {
			return nf.Otherwise, nil
		}
		return nil, bus.Permanent(events.FailNotFound, err)
	case mend.IsUnavailable(err):
		// Waiting for Mend spends none of the command's attempts: it
		// is not dead-lettered because Mend was down. A command set
		// aside for its organization's budget comes back at its place
		// among those set aside, no later: the rate is not left idle.
		wait, _ := mend.RetryAfter(err)
		if u := (*mend.UnavailableError)(nil); !errors.As(err, &u) || u.Reason != mend.ReasonSaturated {
			wait = max(wait, f.backoff(1))
		}
		return nil, bus.Later(wait, reasonUnavailable, err)
	case mend.IsTransient(err):
		wait, _ := mend.RetryAfter(err)
		return nil, &bus.TransientError{Reason: bus.ReasonTransient, AtLeast: wait, Err: err}
	}
	// Anything else gives up, reason permanent.
	return nil, err
}
