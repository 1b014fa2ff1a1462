package mend

import (
	"context"
	"time"

	"github.com/mendflow/mendflow/internal/backoff"
)

// RetryPolicy bounds the retries of transient failures within one call.
// These are short retries: a caller with its own redelivery (a queue) should
// keep them small and reschedule what still fails.
type RetryPolicy struct {
	// MaxAttempts is how many times a request is sent at most; 1 disables
	// retries.
	MaxAttempts int
	// InitialInterval is the first wait; each next wait is Multiplier times
	// longer, up to MaxInterval, each randomised by ±Jitter (0 to 1).
	InitialInterval time.Duration
	MaxInterval     time.Duration
	Multiplier      float64
	Jitter          float64
	// MaxElapsed bounds the time spent on one call, waits included.
	MaxElapsed time.Duration
	// MaxRetryAfter is the longest Retry-After the call waits out itself; a
	// longer one ends the call with the error, whose RetryAfter tells the
	// caller when to come back.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy returns four attempts within 30 seconds, starting at
// 250 ms.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:     4,
		InitialInterval: 250 * time.Millisecond,
		MaxInterval:     5 * time.Second,
		Multiplier:      2,
		Jitter:          0.5,
		MaxElapsed:      30 * time.Second,
		MaxRetryAfter:   10 * time.Second,
	}
}

// NoRetry sends each request once.
func NoRetry() RetryPolicy { return RetryPolicy{MaxAttempts: 1} }

// run calls op until it succeeds, fails permanently, or the policy's
// attempts or time run out. It waits at least as long as the server last
// asked (Retry-After), and hands back at once a failure whose Retry-After
// is longer than MaxRetryAfter.
func (p RetryPolicy) run(ctx context.Context, op func() error) error {
	waits := backoff.Policy{Initial: p.InitialInterval, Max: p.MaxInterval, Multiplier: p.Multiplier, Jitter: p.Jitter}
	return waits.Retry(ctx, op,
		backoff.MaxAttempts(max(p.MaxAttempts, 1)),
		backoff.MaxElapsed(p.MaxElapsed),
		backoff.RetryIf(func(err error) bool {
			wait, _ := RetryAfter(err)
			return IsTransient(err) && wait <= p.MaxRetryAfter
		}),
		backoff.AtLeast(func(err error) time.Duration {
			wait, _ := RetryAfter(err)
			return wait
		}),
	)
}
