package handlers

import (
	"context"
	"fmt"
)

// The errors below say what a handler met, for its caller to decide what
// becomes of the delivery: mendflow's worker retries a NotFoundError for a
// while, gives up on a PanicError, and retries a BusyError (see claims.go)
// shortly. Whether a Mend error may pass is mend.IsTransient's to say.

// NotFoundError reports that what a command acts on does not exist, or not
// yet: a tag may arrive before its project. The worker delivers the
// command again until WORKER_NOT_FOUND_WAIT has passed since it was
// published.
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

// PanicError is a handler's panic, recovered.
type PanicError struct{ Value any }

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Recover is the middleware that turns a handler's panic into a
// *PanicError, so that one bad command cannot take its consumer down.
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
