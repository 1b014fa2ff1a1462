package mend

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v4"
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
// attempts or time run out.
func (p RetryPolicy) run(ctx context.Context, op func() error) error {
	exp := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.InitialInterval),
		backoff.WithMaxInterval(p.MaxInterval),
		backoff.WithMultiplier(p.Multiplier),
		backoff.WithRandomizationFactor(p.Jitter),
		backoff.WithMaxElapsedTime(p.MaxElapsed),
	)
	ra := &retryAfterBackOff{BackOff: exp}
	retries := 0
	if p.MaxAttempts > 1 {
		retries = p.MaxAttempts - 1
	}
	b := backoff.WithContext(backoff.WithMaxRetries(ra, uint64(retries)), ctx)

	return backoff.Retry(func() error {
		err := op()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !IsTransient(err) {
			return backoff.Permanent(err)
		}
		if wait, ok := RetryAfter(err); ok {
			if wait > p.MaxRetryAfter {
				return backoff.Permanent(err)
			}
			ra.atLeast = wait
		}
		return err
	}, b)
}

// retryAfterBackOff waits at least as long as the server last asked.
type retryAfterBackOff struct {
	backoff.BackOff
	atLeast time.Duration
}

func (b *retryAfterBackOff) NextBackOff() time.Duration {
	d := b.BackOff.NextBackOff()
	if d != backoff.Stop && d < b.atLeast {
		d = b.atLeast
	}
	b.atLeast = 0
	return d
}
