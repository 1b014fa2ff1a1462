package poller

import (
	"fmt"
	"time"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// Reasons a followed item failed, as the reason field of its failed event.
const (
	// ReasonFailed: Mend reported the failure; the status (or
	// requestState) field says which.
	ReasonFailed = "failed"
	// ReasonTimeout: the item had not ended by the deadline.
	ReasonTimeout = "timeout"
	// ReasonUnknown: Mend still did not know the request token when the
	// grace period for UNKNOWN ran out.
	ReasonUnknown = "unknown"
	// ReasonError: Mend refused the status call for good (say, 404 for a
	// process uuid it does not know); detail holds its answer.
	ReasonError = "error"
)

// verdict is what one poll decided about an item.
type verdict struct {
	// end says the item is over: its completion event goes out and it
	// leaves the stream. Otherwise it is polled again after wait.
	end  bool
	wait time.Duration
	// reason is set when the item failed (one of the Reason constants),
	// with a sentence for people in detail.
	reason string
	detail string
}

func ended() verdict { return verdict{end: true} }

func failed(reason, detail string) verdict {
	return verdict{end: true, reason: reason, detail: detail}
}

// judge decides about an item of the given kind and age from what Mend
// answered: status, or err when the call failed. Statuses that are not
// final, and any that Mend may add, keep the item waiting until the
// deadline rather than ending it on a guess.
func (c Config) judge(kind, status string, err error, age time.Duration, rnd float64) verdict {
	if err != nil {
		if !mend.IsTransient(err) {
			return failed(ReasonError, err.Error())
		}
		// The wait Mend asks for wins over the schedule, so that a rate
		// limit is not hammered, but never over the deadline.
		retryAfter, _ := mend.RetryAfter(err)
		return c.running(age, max(retryAfter, c.wait(age, rnd)), c.Deadline,
			fmt.Sprintf("no answer from Mend within %v: %v", c.Deadline, err))
	}
	// The statuses and what they mean are mend's: a process is done in
	// SUCCESS, FAILED or FAILURE; a plugin request in FINISHED, SKIPPED
	// (another scan covers the project) or FAILED.
	process, request := mend.ProcessStatus(status), mend.RequestState(status)
	switch {
	case kind == events.TrackProcess && process.Failed():
		return failed(ReasonFailed, "Mend reports the process "+status)
	case kind == events.TrackProcess && process.Done():
		return ended()
	case kind == events.TrackRequest && request.Failed():
		return failed(ReasonFailed, "Mend reports the plugin request "+status)
	case kind == events.TrackRequest && request.Done():
		return ended()
	case kind == events.TrackRequest && request == mend.RequestUpdated && c.UpdatedIsDone:
		return ended()
	case kind == events.TrackRequest && request == mend.RequestUnknown:
		if age >= c.UnknownGrace {
			return failed(ReasonUnknown, fmt.Sprintf("Mend did not know the request token %v after the request started", c.UnknownGrace))
		}
		return c.running(age, c.wait(age, rnd), min(c.UnknownGrace, c.Deadline),
			fmt.Sprintf("still %s %v after the request started", status, c.Deadline))
	}
	return c.running(age, c.wait(age, rnd), c.Deadline,
		fmt.Sprintf("still %s %v after it started", status, c.Deadline))
}

// running keeps an item that has not ended waiting for wait, but not past
// the age until, when something must be decided; past the deadline, it ends
// the item with reason timeout and the given detail.
func (c Config) running(age, wait, until time.Duration, detail string) verdict {
	if age >= c.Deadline {
		return failed(ReasonTimeout, detail)
	}
	return verdict{wait: min(wait, until-age)}
}
