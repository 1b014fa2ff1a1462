// Package backoff is mendflow's one way to wait before trying again: the
// quick retries within a Mend call, the delays of handed-back deliveries,
// the set-up of JetStream and the connection to NATS at start, and the
// schedule of the poller's polls. A Policy says how the waits grow; Retry
// runs an operation under one, over github.com/cenkalti/backoff/v4.
package backoff

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Policy is how the waits between attempts grow: the first is Initial,
// each next one Multiplier times longer, up to Max, and each is spread by
// ±Jitter so that what failed together does not come back together.
type Policy struct {
	// Initial is the wait after the first attempt.
	Initial time.Duration
	// Max caps every wait before it is spread; 0 leaves the waits
	// uncapped.
	Max time.Duration
	// Multiplier is how much each wait grows over the one before: 2
	// doubles them, 1 (or less) keeps them at Initial.
	Multiplier float64
	// Jitter, 0 to 1, spreads each wait uniformly over ±Jitter of it.
	Jitter float64
}

// Delay is the wait after attempt (1 for the first) has failed: about
// Initial after the first, Multiplier times longer after each next one, at
// most Max, spread at random by ±Jitter.
func (p Policy) Delay(attempt int) time.Duration {
	return p.spread(p.grown(max(attempt, 1)-1), rand.Float64())
}

// DelayAt is the wait of a schedule that grows with the time elapsed since
// it started rather than with the attempts made, so that an attempt late
// or repeated does not shift it: before Initial it waits for Initial, as
// it is; from then on it waits until about elapsed × Multiplier, that is
// elapsed × (Multiplier - 1), at least Initial and at most Max, spread by
// ±Jitter. r, in [0, 1), places the wait within the spread (0.5 leaves it
// as it is); pass rand.Float64(), or a fixed value in a test.
func (p Policy) DelayAt(elapsed time.Duration, r float64) time.Duration {
	if elapsed < p.Initial {
		return p.Initial - elapsed
	}
	return p.spread(p.clamp(float64(elapsed)*(p.Multiplier-1)), r)
}

// grown is Initial grown by n steps, capped.
func (p Policy) grown(n int) time.Duration {
	return p.clamp(float64(p.Initial) * math.Pow(max(p.Multiplier, 1), float64(n)))
}

// longest is the longest wait of a Policy without Max: some 73 years, far
// from what a Duration holds even once spread.
const longest = time.Duration(math.MaxInt64 / 4)

// clamp bounds d to [Initial, Max], and to longest.
func (p Policy) clamp(d float64) time.Duration {
	d = max(d, float64(p.Initial))
	if p.Max > 0 {
		d = min(d, float64(p.Max))
	}
	if d >= float64(longest) {
		return longest
	}
	return time.Duration(d)
}

// spread moves d by up to ±Jitter of it; r in [0, 1) says where.
func (p Policy) spread(d time.Duration, r float64) time.Duration {
	if p.Jitter <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + p.Jitter*(2*r-1)))
}

// Option bounds or shapes a Retry.
type Option func(*retry)

// MaxAttempts stops Retry after n attempts in all; 0 (the default) sets no
// bound.
func MaxAttempts(n int) Option { return func(r *retry) { r.maxAttempts = n } }

// MaxElapsed stops Retry rather than wait past d since it began; 0 (the
// default) sets no bound.
func MaxElapsed(d time.Duration) Option { return func(r *retry) { r.maxElapsed = d } }

// RetryIf tries again only the failures that may pass: one for which
// mayPass is false (a permanent error) ends Retry at once. Without it,
// every failure is tried again.
func RetryIf(mayPass func(err error) bool) Option { return func(r *retry) { r.mayPass = mayPass } }

// AtLeast makes the wait after a failure at least floor(err): the time a
// server asked for in its Retry-After, say; 0 leaves the policy's wait.
func AtLeast(floor func(err error) time.Duration) Option {
	return func(r *retry) { r.floor = floor }
}

// Notify tells notify of each failure that will be tried again, and of the
// wait before it: a log line, a readiness reason.
func Notify(notify func(err error, wait time.Duration)) Option {
	return func(r *retry) { r.notify = notify }
}

// Retry calls op until it succeeds, fails permanently (RetryIf), fails
// after ctx ended, or the bounds of opts are reached, waiting p.Delay
// between attempts; it returns op's last error. When ctx ends during a
// wait, it returns op's last error too, wrapped so that errors.Is also
// finds ctx's.
func (p Policy) Retry(ctx context.Context, op func() error, opts ...Option) error {
	r := &retry{policy: p}
	for _, o := range opts {
		o(r)
	}
	var last error
	final := false
	err := backoff.RetryNotify(func() error {
		err := op()
		if err == nil {
			return nil
		}
		last = err
		if ctx.Err() != nil || (r.mayPass != nil && !r.mayPass(err)) {
			final = true
			return backoff.Permanent(err)
		}
		if r.floor != nil {
			r.atLeast = r.floor(err)
		}
		return err
	}, backoff.WithContext(r, ctx), r.notify)
	if err != nil && !final && last != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (stopped retrying: %w)", last, ctx.Err())
	}
	return err
}

// retry is the backoff.BackOff of one Retry.
type retry struct {
	policy      Policy
	maxAttempts int
	maxElapsed  time.Duration
	mayPass     func(error) bool
	floor       func(error) time.Duration
	notify      func(error, time.Duration)

	start   time.Time
	failed  int           // attempts failed so far
	atLeast time.Duration // the floor of the next wait, from the last failure
}

// Reset implements backoff.BackOff; Retry calls it before the first
// attempt.
func (r *retry) Reset() { r.start, r.failed, r.atLeast = time.Now(), 0, 0 }

// NextBackOff implements backoff.BackOff: the wait after one more failure,
// or backoff.Stop.
func (r *retry) NextBackOff() time.Duration {
	r.failed++
	if r.maxAttempts > 0 && r.failed >= r.maxAttempts {
		return backoff.Stop
	}
	wait := max(r.policy.Delay(r.failed), r.atLeast)
	r.atLeast = 0
	if r.maxElapsed > 0 && time.Since(r.start)+wait > r.maxElapsed {
		return backoff.Stop
	}
	return wait
}
