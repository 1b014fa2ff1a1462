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
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/trail"
	"github.com/mendflow/mendflow/pkg/events"
)

// commandSource is the source of the commands ingest makes from events.
const commandSource = "urn:mendflow:ingest"

var commandSourceRef = *types.ParseURIRef(commandSource)

// command is one command of a request on its way to JetStream.
type command struct {
	bus.Outgoing
	view commandView
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
// id and starting its chain; any other becomes a new event whose id is its
// Nats-Msg-Id, answering in. Each carries the trace context of the span in
// ctx, in's span, which the worker continues, and in's type and source
// (trail.MarkIncoming), for mendflowctl trace. delivery is what names in's
// delivery in the Nats-Msg-Ids: its id, or what stays the same when its
// sender repeats it (a GitLab hook's Idempotency-Key, the digest of a
// GitHub delivery's signed body).
func buildCommands(ctx context.Context, in event.Event, delivery string, cmds []events.Command, now time.Time) ([]command, error) {
	out := make([]command, 0, len(cmds))
	source := in.Source() // formatted anew by each call
	for i, c := range cmds {
		id := msgID(source, delivery, i)
		var (
			e    event.Event
			link bus.Link
		)
		if in.Type() == events.CommandType(c.Name) {
			e = in.Clone()
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
			link = bus.Answering(in)
		}
		subject := events.CommandSubject(c.Name)
		msg, err := bus.EventMsg(ctx, subject, e, link, id)
		if err != nil {
			return nil, err
		}
		trail.MarkIncoming(msg.Header, in)
		out = append(out, command{Outgoing: bus.Outgoing{Msg: msg}, view: commandView{
			ID: e.ID(), Type: e.Type(), Subject: subject, Data: e.Data(),
		}})
	}
	return out, nil
}

// JetStream's error codes that the jetstream package does not name.
const (
	jsErrCodeAccountResourcesExceeded jetstream.ErrorCode = 10002
	jsErrCodeClusterNoPeers           jetstream.ErrorCode = 10005
)

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
// (bus.TooLarge), 409 when JetStream refuses it for good (refusedForGood),
// both stating what sending again would meet; otherwise 503, asking to
// send again after retryAfter.
func publishProblem(err error, retryAfter time.Duration) *problem {
	switch {
	case bus.TooLarge(err):
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
	case bus.TooLarge(err):
		return "too_large"
	case refusedForGood(err):
		return "refused"
	case errors.As(err, &apiErr):
		return "jetstream"
	default:
		return "other"
	}
}
