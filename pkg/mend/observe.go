package mend

import (
	"context"
	"errors"
	"time"
)

// Attempted is one attempt of a Mend call once it ended, as the function
// given to ObserveAttempts sees it: what was asked and how Mend answered,
// never what was sent.
type Attempted struct {
	// Operation is the v1.4 request type or the REST operation's name
	// (the rows of the operation table).
	Operation string
	// Attempt counts the attempts of the call, 1 for the first.
	Attempt int
	// Status is the HTTP status of the answer; 0 when none came.
	Status int
	// ErrorCode is the errorCode of a v1.4 error answer; 0 otherwise.
	ErrorCode int
	// Duration is how long the attempt took, the rate limit's wait
	// included.
	Duration time.Duration
	// Err is the attempt's failure, as the client returns it: without the
	// user key, the JWTs and the URLs' credentials.
	Err error
}

type observerKey struct{}

// ObserveAttempts returns a context whose Mend calls tell observe of each
// attempt once it ended, in the goroutine of the call. It lets a caller
// keep what the calls of one piece of work did (the worker records them
// for each delivery of a command) without a client of its own.
func ObserveAttempts(ctx context.Context, observe func(Attempted)) context.Context {
	return context.WithValue(ctx, observerKey{}, observe)
}

// observeAttempt tells the observer in ctx, if any, of an attempt.
func observeAttempt(ctx context.Context, op string, attempt int, resp *Response, err error, took time.Duration) {
	observe, ok := ctx.Value(observerKey{}).(func(Attempted))
	if !ok {
		return
	}
	a := Attempted{Operation: op, Attempt: attempt, Duration: took, Err: err}
	if resp != nil && resp.Response != nil {
		a.Status = resp.StatusCode
	}
	if apiErr := (*APIError)(nil); errors.As(err, &apiErr) {
		a.ErrorCode = apiErr.Code
	}
	observe(a)
}
