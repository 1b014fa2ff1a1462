package bus

import (
	"errors"
	"fmt"
	"math"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// MaxHeaderBytes is the most JetStream stores in a message's headers,
// encoded as NATS sends them ("NATS/1.0" line included): it keeps their
// length in 16 bits and refuses more with error 10097.
const MaxHeaderBytes = math.MaxUint16

// jsHeaderExceedsMaximum is JetStream's error code for headers over
// MaxHeaderBytes (nats-server's JSStreamHeaderExceedsMaximumErr).
const jsHeaderExceedsMaximum jetstream.ErrorCode = 10097

// ErrTooLarge is matched (errors.Is) by the error of a message that is
// too large ever to be stored, as a Publisher finds before it sends it.
var ErrTooLarge = errors.New("too large to store")

// TooLarge reports whether a publish failed because the message is larger
// than the publisher, NATS or the stream accepts: over a Publisher's
// limits (ErrTooLarge), over the server's max_payload
// (nats.ErrMaxPayload), over the stream's maximum message size (JetStream
// error 10054), or with headers over MaxHeaderBytes (10097). Publishing it
// again cannot help.
func TooLarge(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, ErrTooLarge) || errors.Is(err, nats.ErrMaxPayload) ||
		(errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum ||
			apiErr.ErrorCode == jsHeaderExceedsMaximum))
}

// HeaderBytes is how many bytes m's headers take on the wire, what
// JetStream holds against MaxHeaderBytes.
func HeaderBytes(m *nats.Msg) int {
	return m.Size() - len(m.Subject) - len(m.Reply) - len(m.Data)
}

// Oversize says why NATS would refuse m, published as it is, as too large:
// its headers over MaxHeaderBytes, or its headers and data together over
// maxPayload, the server's max_payload (0: not checked). It is nil when m
// fits. A publisher sets the Nats-Msg-Id header before asking, as it counts.
func Oversize(m *nats.Msg, maxPayload int64) error {
	return oversize(m, MaxHeaderBytes, maxPayload)
}

// oversize is Oversize with a header limit of maxHeaders. Its error
// matches ErrTooLarge, and nats.ErrMaxPayload when m is over maxPayload.
func oversize(m *nats.Msg, maxHeaders int, maxPayload int64) error {
	h := HeaderBytes(m)
	switch {
	case h > maxHeaders && maxHeaders == MaxHeaderBytes:
		return &sizeError{fmt.Errorf("headers of %d bytes, over the %d JetStream stores", h, maxHeaders)}
	case h > maxHeaders:
		return &sizeError{fmt.Errorf("headers of %d bytes, over the limit of %d bytes", h, maxHeaders)}
	}
	if n := int64(h + len(m.Data)); maxPayload > 0 && n > maxPayload {
		return &sizeError{fmt.Errorf("%d bytes, over the NATS max_payload of %d: %w", n, maxPayload, nats.ErrMaxPayload)}
	}
	return nil
}

// sizeError is oversize's error: why, and ErrTooLarge.
type sizeError struct{ why error }

func (e *sizeError) Error() string        { return e.why.Error() }
func (e *sizeError) Unwrap() error        { return e.why }
func (e *sizeError) Is(target error) bool { return target == ErrTooLarge }
