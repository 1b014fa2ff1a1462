package mend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter grants the attempts of Mend calls. The client asks it before it
// sends each attempt, and tells it how the attempt went, so that a limiter
// shared by many processes (mendflow's internal/budget) can hold back every
// process's calls to an organization that Mend asked to wait, or that is
// down. Acquire returns an error when the attempt may not be sent: ctx's,
// or an *UnavailableError. done returns an *UnavailableError when the
// failed attempt leaves the organization held back (its circuit opened):
// the client's error then wraps it, so that the caller waits rather than
// spends its own retries.
type Limiter interface {
	Acquire(ctx context.Context, call Call) (done func(Outcome) *UnavailableError, err error)
}

// Outcome is how an attempt went, as its Limiter hears it.
type Outcome struct {
	// Status is the HTTP status of the answer; 0 when none came.
	Status int
	// RetryAfter is the wait the answer's Retry-After header asked for.
	RetryAfter time.Duration
	// Err is why no answer came (Status 0): a timeout, a connection
	// refused or reset, or the caller's cancellation.
	Err error
}

// Throttled reports whether Mend asked for a pause: a 429, or a 503 with
// Retry-After.
func (o Outcome) Throttled() bool {
	return o.Status == http.StatusTooManyRequests || o.Status == http.StatusServiceUnavailable && o.RetryAfter > 0
}

// Failed reports whether the attempt says that Mend is down: a 5xx
// answer, or no answer for another reason than the caller's cancellation.
func (o Outcome) Failed() bool {
	if o.Status >= 500 {
		return true
	}
	return o.Status == 0 && o.Err != nil && !errors.Is(o.Err, context.Canceled)
}

// ReasonSaturated is the Reason of an *UnavailableError setting aside
// work for an organization whose budget the calls already waiting take
// for a while: the work comes back after Wait, its place among the work
// set aside, leaving its place to other organizations' work meanwhile.
const ReasonSaturated = "saturated"

// UnavailableError says that the Limiter holds back calls to an
// organization for longer than the caller may wait: Mend asked for a pause
// (Retry-After), or the organization's circuit is open after a run of
// failures. It is transient; Wait is when to come back.
type UnavailableError struct {
	// Org is a short label of the organization (never its token).
	Org string
	// Reason is "paused", "circuit open" or ReasonSaturated.
	Reason string
	// Wait is how long until calls may go again, as far as is known.
	Wait time.Duration
	// Err is the failure of the attempt that opened the circuit, if any.
	Err error
}

func (e *UnavailableError) Error() string {
	msg := fmt.Sprintf("mend: organization %s %s for %v", e.Org, e.Reason, e.Wait.Round(time.Millisecond))
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the failure that opened the circuit.
func (e *UnavailableError) Unwrap() error { return e.Err }

// IsUnavailable reports whether err is, or wraps, an *UnavailableError.
func IsUnavailable(err error) bool {
	var u *UnavailableError
	return errors.As(err, &u)
}

// WithLimiter makes every attempt ask l first and tell it how it went. It
// replaces the local limiter NewClientFromConfig sets from MEND_RATE_LIMIT.
func WithLimiter(l Limiter) Option {
	return func(c *Client) error { c.limiter = l; return nil }
}

type orgKey struct{}
type classKey struct{}

// WithOrg tells the client's Limiter which organization the calls made
// with ctx act on, for those whose request does not name it (most v1.4
// requests name a product or project only). The v2.0 calls name theirs.
func WithOrg(ctx context.Context, org string) context.Context {
	return context.WithValue(ctx, orgKey{}, org)
}

// OrgOf is the organization WithOrg set on ctx, or "".
func OrgOf(ctx context.Context) string {
	s, _ := ctx.Value(orgKey{}).(string)
	return s
}

// WithClass tells the client's Limiter what kind of work the calls made
// with ctx serve (a command's name, "poller"), for its fair share.
func WithClass(ctx context.Context, class string) context.Context {
	return context.WithValue(ctx, classKey{}, class)
}

// ClassOf is the class WithClass set on ctx, or "".
func ClassOf(ctx context.Context) string {
	s, _ := ctx.Value(classKey{}).(string)
	return s
}

// LocalLimiter is a Limiter of one process: a token bucket per
// organization, rate per second with burst, over golang.org/x/time/rate.
// It serves a client without NATS (mendflowctl, tests).
type LocalLimiter struct {
	rate  rate.Limit
	burst int

	mu   sync.Mutex
	orgs map[string]*rate.Limiter
}

// NewLocalLimiter returns a LocalLimiter of perSecond calls per second and
// organization, burst at once; perSecond 0 or less lifts the limit.
func NewLocalLimiter(perSecond float64, burst int) *LocalLimiter {
	r := rate.Limit(perSecond)
	if perSecond <= 0 {
		r = rate.Inf
	}
	return &LocalLimiter{rate: r, burst: burst, orgs: make(map[string]*rate.Limiter)}
}

// Acquire waits for a token of call.Org's bucket. A wait that would end
// past ctx's deadline fails at once, wrapping context.DeadlineExceeded so
// that it reads as transient; a bucket that can grant nothing (burst 0)
// fails with a permanent error.
func (l *LocalLimiter) Acquire(ctx context.Context, call Call) (func(Outcome) *UnavailableError, error) {
	l.mu.Lock()
	lim, ok := l.orgs[call.Org]
	if !ok {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.orgs[call.Org] = lim
	}
	l.mu.Unlock()
	if err := lim.Wait(ctx); err != nil {
		if ctx.Err() == nil && (l.burst > 0 || l.rate == rate.Inf) {
			// The wait would end past ctx's deadline. Wait says so in a
			// plain error; as the deadline's own, it must read as one,
			// so that the caller tries again later rather than give up.
			return nil, fmt.Errorf("waiting for the rate limit: %w: %w", context.DeadlineExceeded, err)
		}
		return nil, fmt.Errorf("waiting for the rate limit: %w", err)
	}
	return func(Outcome) *UnavailableError { return nil }, nil
}
