package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"github.com/mendflow/mendflow/pkg/mend"
)

// Claims remember which commands have begun an effect that cannot be
// looked up afterwards, across deliveries, copies and workers.
type Claims interface {
	// Claim claims key, empty, and reports whether it was free.
	Claim(ctx context.Context, key string) (bool, error)
	// Put records in key's claim what its effect made, for a later
	// delivery to find.
	Put(ctx context.Context, key string, value []byte) error
	// Get returns what key's claim holds: nil for an empty claim.
	Get(ctx context.Context, key string) ([]byte, error)
	// Release frees key again.
	Release(ctx context.Context, key string) error
}

// ClaimKey identifies a command for Claims: its id, and the dead letter it
// was replayed from, if any, so that a replay an operator asked for runs
// while copies of the original do not. The key is a hash, usable as a
// key-value store key whatever the id holds.
func (c *Delivery) ClaimKey() string {
	sum := sha256.Sum256([]byte(c.ID() + "\x00" + c.Replay))
	return hex.EncodeToString(sum[:])
}

// nothingDone reports whether a failed Mend call surely changed nothing:
// Mend answered with an error of its own, or refused the request before
// handling it. Server errors and lost answers leave it in doubt.
func nothingDone(err error) bool {
	var apiErr *mend.APIError
	var httpErr *mend.HTTPError
	switch {
	case errors.As(err, &apiErr):
		return true
	case errors.As(err, &httpErr):
		return httpErr.StatusCode < http.StatusInternalServerError || httpErr.StatusCode == http.StatusServiceUnavailable
	}
	return false
}

// Locks keep two copies of one command from running at once, in any
// worker: each looks before it changes, which guards against a copy run
// after another, not beside it.
type Locks interface {
	// Lock takes key, reporting false when another holds it; unlock gives
	// it back.
	Lock(ctx context.Context, key string) (unlock func(), ok bool, err error)
}

// BusyError reports that another copy of the command is running, or, when
// Err is set, that the key-value store of the locks, the claims or the
// repositories could not be reached: either way, later.
type BusyError struct{ Err error }

// Error implements error.
func (e BusyError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return "another copy of this command is running"
}

// Unwrap returns why the store could not be reached.
func (e BusyError) Unwrap() error { return e.Err }

// Serialize is the middleware that runs a command only while it holds the
// command's lock; a copy finding it taken is retried shortly.
func Serialize(locks Locks) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, cmd *Delivery) (Result, error) {
			unlock, ok, err := locks.Lock(ctx, cmd.ClaimKey())
			if err != nil {
				// NATS is briefly unavailable: try again, as when busy.
				return Result{}, BusyError{Err: fmt.Errorf("command lock: %w", err)}
			}
			if !ok {
				return Result{}, BusyError{}
			}
			defer unlock()
			return next(ctx, cmd)
		}
	}
}
