package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/telemetry"
	"github.com/mendflow/mendflow/pkg/events"
)

// commandSource is the source of the commands ingest makes from events.
const commandSource = "urn:mendflow:ingest"

var commandSourceRef = *types.ParseURIRef(commandSource)

// publisher is what ingest needs of a jetstream.JetStream.
type publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// command is one command of a request on its way to JetStream.
type command struct {
	msgID string
	msg   *nats.Msg
	view  commandView
}

// commandView is a command as the answer shows it.
type commandView struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Subject   string          `json:"subject"`
	Data      json.RawMessage `json:"data"`
	Duplicate bool            `json:"duplicate,omitempty"`
}

// msgID is the Nats-Msg-Id of the index-th command of the event with this
// source and id: the first 128 bits of SHA-256(source NUL id NUL index), in
// hex. The same delivery yields the same ids, so JetStream drops a repeated
// one within the stream's duplicate window; NUL cannot occur in either
// attribute, so no two (source, id) pairs share an input.
func msgID(source, id string, index int) string {
	h := sha256.New()
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write(strconv.AppendInt(nil, int64(index), 10))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// buildCommands turns the commands routed from in into messages. A command
// posted directly (its type is the command's) is queued as is, keeping its
// id; any other becomes a new event whose id is its Nats-Msg-Id, carrying
// the extensions that tie it to in. Each carries the trace context of the
// span in ctx, in's span, which the worker continues. delivery is what
// names in's delivery in the Nats-Msg-Ids: its id, or what stays the same
// when its sender repeats it (a GitLab hook's Idempotency-Key, the digest
// of a GitHub delivery's signed body).
func buildCommands(ctx context.Context, in event.Event, delivery string, cmds []events.Command, now time.Time) ([]command, error) {
	out := make([]command, 0, len(cmds))
	source := in.Source() // formatted anew by each call
	for i, c := range cmds {
		id := msgID(source, delivery, i)
		var e event.Event
		if in.Type() == events.CommandType(c.Name) {
			e = in.Clone()
			if events.Extension(e, events.ExtCorrelationID) == "" {
				e.SetExtension(events.ExtCorrelationID, e.ID())
			}
		} else {
			data := c.JSON
			if data == nil {
				var err error
				if data, err = json.Marshal(c.Data); err != nil {
					return nil, fmt.Errorf("%s: %w", c.Name, err)
				}
			}
			// The context is filled in directly: the setters would parse the
			// constant source again for every command.
			contentType := event.ApplicationJSON
			e = event.Event{Context: &event.EventContextV1{
				ID:              id,
				Source:          commandSourceRef,
				Type:            events.CommandType(c.Name),
				Time:            &types.Timestamp{Time: now},
				DataContentType: &contentType,
			}, DataEncoded: data}
			events.Propagate(&e, in)
		}
		telemetry.SetTrace(&e, ctx)
		subject := events.CommandSubject(c.Name)
		msg, err := bus.ToMsg(subject, e)
		if err != nil {
			return nil, err
		}
		out = append(out, command{msgID: id, msg: msg, view: commandView{
			ID: e.ID(), Type: e.Type(), Subject: subject, Data: e.Data(),
		}})
	}
	return out, nil
}

// maxConcurrentPublishes bounds the goroutines one request publishes with.
const maxConcurrentPublishes = 64

// publishAll publishes the commands concurrently and waits for JetStream to
// acknowledge each, marking those it already had. The first failure cancels
// the rest and is returned: the request is then not acknowledged, and a
// retry finds the commands already stored to be duplicates.
func publishAll(ctx context.Context, js publisher, cmds []*command) error {
	if len(cmds) == 1 { // the common case: no goroutine
		return publishOne(ctx, js, cmds[0])
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, maxConcurrentPublishes)
	var wg sync.WaitGroup
	for _, c := range cmds {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := publishOne(ctx, js, c); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// errHeadersTooLarge is checkSizes' refusal of a command whose headers
// pass maxCommandHeaderBytes.
var errHeadersTooLarge = errors.New("the event's attributes and extensions are too long together")

// checkSizes refuses, before anything is published, a command whose
// header block passes maxCommandHeaderBytes, and, when a request has
// several commands, one that NATS would refuse as over its max_payload
// (maxPayload; zero: unknown, no check): publishing the others first would
// store part of a request that is answered 413. A lone command over
// max_payload is refused by the NATS client before it sends it.
func checkSizes(cmds []*command, maxPayload int64) error {
	for _, c := range cmds {
		headers := headerSize(c)
		if headers > maxCommandHeaderBytes {
			return fmt.Errorf("publish %s: the command's header block %s: %w",
				c.msg.Subject, overLimit(headers, maxCommandHeaderBytes), errHeadersTooLarge)
		}
		if n := headers + len(c.msg.Data); maxPayload > 0 && len(cmds) > 1 && int64(n) > maxPayload {
			return fmt.Errorf("publish %s: the command is %d bytes, over the NATS max_payload of %d: %w",
				c.msg.Subject, n, maxPayload, nats.ErrMaxPayload)
		}
	}
	return nil
}

// headerSize is the size of a command's header block as NATS encodes it
// (counted against max_payload and JetStream's header limit), with the
// Nats-Msg-Id that publishOne adds.
func headerSize(c *command) int {
	n := c.msg.Size() - len(c.msg.Subject) - len(c.msg.Reply) - len(c.msg.Data)
	if c.msg.Header.Get(jetstream.MsgIDHeader) == "" {
		n += len(jetstream.MsgIDHeader) + len(": \r\n") + len(c.msgID)
	}
	return n
}

func publishOne(ctx context.Context, js publisher, c *command) error {
	ack, err := js.PublishMsg(ctx, c.msg, jetstream.WithMsgID(c.msgID))
	if err != nil {
		return fmt.Errorf("publish %s: %w", c.msg.Subject, err)
	}
	c.view.Duplicate = ack.Duplicate
	return nil
}

// JetStream's error codes that the jetstream package does not name.
const (
	jsErrCodeAccountResourcesExceeded jetstream.ErrorCode = 10002
	jsErrCodeClusterNoPeers           jetstream.ErrorCode = 10005
	jsErrCodeHeaderExceedsMaximum     jetstream.ErrorCode = 10097
)

// tooLarge reports whether a publish failed because the message is larger
// than ingest, NATS or the stream accepts: sending it again cannot help.
func tooLarge(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, errHeadersTooLarge) ||
		(errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum ||
			apiErr.ErrorCode == jsErrCodeHeaderExceedsMaximum))
}

// refusedForGood reports whether JetStream refused a publish in a way
// that does not pass with time, such as a sealed stream: its code 400
// says the request is wrong for the stream as it is, except where the
// account's storage (freed as the worker consumes) or the cluster's peers
// are short. Its 5xx, 404 (stream not found) and 409 (the same id in
// flight) do pass.
func refusedForGood(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 400 &&
		apiErr.ErrorCode != jsErrCodeAccountResourcesExceeded && apiErr.ErrorCode != jsErrCodeClusterNoPeers
}

// publishProblem is the answer to a request whose commands JetStream did
// not all acknowledge, for the reason err: 413 when a command is too large
// (tooLarge), 409 when JetStream refuses it for good (refusedForGood),
// both stating what sending again would meet; otherwise 503, asking to
// send again after retryAfter.
func publishProblem(err error, retryAfter time.Duration) *problem {
	switch {
	case tooLarge(err):
		return newProblem(http.StatusRequestEntityTooLarge, "body-too-large", "Event too large to store",
			fmt.Sprintf("a command is too large to store (%v); nothing of the request was stored", err))
	case refusedForGood(err):
		return newProblem(http.StatusConflict, "refused-by-stream", "JetStream refuses the commands",
			fmt.Sprintf("JetStream refused a command (%v), as it will until its stream %s is changed; nothing of the request was stored",
				err, events.StreamCommands))
	default:
		return errUnavailable(fmt.Sprintf("JetStream did not acknowledge the commands (%s); nothing was acknowledged to you: send again after Retry-After",
			failureReason(err)), retryAfter)
	}
}

// failureReasons are the values of failureReason, and reasonStarting.
var failureReasons = []string{"no_responders", "timeout", "disconnected", "too_large", "refused", "jetstream", "other", reasonStarting}

// reasonStarting counts the requests answered 503 before ingest's JetStream
// set-up is done.
const reasonStarting = "starting"

// failureReason is the metrics label of a publish failure.
func failureReason(err error) string {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders):
		return "no_responders"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return "timeout"
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected), errors.Is(err, nats.ErrReconnectBufExceeded), errors.Is(err, nats.ErrConnectionDraining):
		return "disconnected"
	case tooLarge(err):
		return "too_large"
	case refusedForGood(err):
		return "refused"
	case errors.As(err, &apiErr):
		return "jetstream"
	default:
		return "other"
	}
}
