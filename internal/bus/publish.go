package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/telemetry"
	"github.com/mendflow/mendflow/pkg/events"
)

// JetStreamPublisher is what a Publisher needs of a jetstream.JetStream.
type JetStreamPublisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// Publisher is how mendflow stores what it publishes in JetStream:
// ingest's commands, the worker's result events, Track items, failed
// events and dead letters, the poller's completion events. Every message
// carries a Nats-Msg-Id, so that the stream drops a second copy published
// after a crash or a retry; a message the limits in force would refuse is
// refused before it is sent; each publish is bounded in time; and its
// failure is a *PublishError.
type Publisher struct {
	js         JetStreamPublisher
	maxPayload int64
	maxHeaders int
	timeout    time.Duration
}

// PublisherOption configures a Publisher.
type PublisherOption func(*Publisher)

// WithMaxPayload sets the server's max_payload (nats.Conn.MaxPayload), the
// most a message may hold, headers and data together; 0, the default,
// leaves the check to the NATS client.
func WithMaxPayload(n int64) PublisherOption { return func(p *Publisher) { p.maxPayload = n } }

// WithMaxHeaderBytes lowers the most a message's headers may take below
// MaxHeaderBytes, what JetStream stores: ingest keeps room in a command's
// headers for what the messages derived from it add.
func WithMaxHeaderBytes(n int) PublisherOption {
	return func(p *Publisher) { p.maxHeaders = min(n, MaxHeaderBytes) }
}

// WithPublishTimeout bounds how long a publish waits for JetStream's
// acknowledgement (default 10s).
func WithPublishTimeout(d time.Duration) PublisherOption { return func(p *Publisher) { p.timeout = d } }

// NewPublisher returns a publisher through js.
func NewPublisher(js JetStreamPublisher, opts ...PublisherOption) *Publisher {
	p := &Publisher{js: js, maxHeaders: MaxHeaderBytes, timeout: 10 * time.Second}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Oversize says why the publisher would refuse m as too large, its
// Nats-Msg-Id counted; nil when m fits. See Oversize (the function).
func (p *Publisher) Oversize(m *nats.Msg) error { return oversize(m, p.maxHeaders, p.maxPayload) }

// PublishError reports that a message was not stored.
type PublishError struct {
	// What names the message: an event's type, or its subject.
	What string
	Err  error
}

// Error implements error.
func (e *PublishError) Error() string { return "publishing " + e.What + ": " + e.Err.Error() }

// Unwrap returns why the message was not stored.
func (e *PublishError) Unwrap() error { return e.Err }

// Publish stores m, whose Nats-Msg-Id header is set, and returns
// JetStream's acknowledgement.
func (p *Publisher) Publish(ctx context.Context, m *nats.Msg) (*jetstream.PubAck, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	return p.publish(ctx, m, m.Subject)
}

// publish is Publish within ctx, its failure naming the message what.
func (p *Publisher) publish(ctx context.Context, m *nats.Msg, what string) (*jetstream.PubAck, error) {
	if err := p.Oversize(m); err != nil {
		return nil, &PublishError{What: what, Err: err}
	}
	return p.send(ctx, m, what)
}

// send publishes m, found to fit, within ctx.
func (p *Publisher) send(ctx context.Context, m *nats.Msg, what string) (*jetstream.PubAck, error) {
	ack, err := p.js.PublishMsg(ctx, m)
	if err != nil {
		return nil, &PublishError{What: what, Err: serverError(err)}
	}
	if observe, ok := ctx.Value(storedKey{}).(func(*nats.Msg, *jetstream.PubAck)); ok {
		observe(m, ack)
	}
	return ack, nil
}

type storedKey struct{}

// ObserveStored returns a context whose publishes tell observe of each
// message stored, with its acknowledgement: a Recorder finds there what a
// delivery published (its result events, Track items, dead letters).
func ObserveStored(ctx context.Context, observe func(m *nats.Msg, ack *jetstream.PubAck)) context.Context {
	return context.WithValue(ctx, storedKey{}, observe)
}

// serverError is err without the prefix jetstream adds twice: PublishMsg
// wraps JetStream's refusal, a *jetstream.APIError whose text begins
// "nats: ", as "nats: %w", which would read "nats: nats: API error" in
// every log line, dead letter and readiness answer.
func serverError(err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && err.Error() == "nats: "+apiErr.Error() {
		return apiErr
	}
	return err
}

// Outgoing is a message on its way to JetStream and, once stored, its
// acknowledgement.
type Outgoing struct {
	Msg *nats.Msg
	Ack *jetstream.PubAck
}

// maxConcurrentPublishes bounds the goroutines of one PublishAll.
const maxConcurrentPublishes = 64

// PublishAll stores the messages of out, all or none as far as it can
// tell: it refuses the lot before publishing any when one is too large,
// then publishes them concurrently within one publish timeout and waits for
// each acknowledgement. The first failure cancels the rest and is
// returned; a caller that publishes the same messages again finds those
// already stored acknowledged as duplicates.
func (p *Publisher) PublishAll(ctx context.Context, out []*Outgoing) error {
	for _, o := range out {
		if err := p.Oversize(o.Msg); err != nil {
			return &PublishError{What: o.Msg.Subject, Err: err}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if len(out) == 1 { // the common case: no goroutine
		var err error
		out[0].Ack, err = p.send(ctx, out[0].Msg, out[0].Msg.Subject)
		return err
	}
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	sem := make(chan struct{}, maxConcurrentPublishes)
	var wg sync.WaitGroup
	for _, o := range out {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var err error
			if o.Ack, err = p.send(ctx, o.Msg, o.Msg.Subject); err != nil {
				fail(err)
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// Link ties an event to the chain of events it belongs to: its
// correlationid and causationid. The zero Link starts a chain, or keeps
// the one an event already carries.
type Link struct {
	from      event.Event
	continues bool
}

// Answering links an event to cause, the event it answers (see
// events.Propagate): a command to its incoming event, a result to its
// command.
func Answering(cause event.Event) Link { return Link{from: cause} }

// Continuing links an event to the chain of from as it is (see
// events.Continue): a completion to the Track item it ends.
func Continuing(from event.Event) Link { return Link{from: from, continues: true} }

// tie sets e's chain, and its trace context to the span in ctx, so that
// whoever handles e continues from that span.
func (l Link) tie(ctx context.Context, e *event.Event) {
	switch {
	case l.from.Context == nil:
		if events.Extension(*e, events.ExtCorrelationID) == "" {
			e.SetExtension(events.ExtCorrelationID, e.ID())
		}
	case l.continues:
		events.Continue(e, l.from)
	default:
		events.Propagate(e, l.from)
	}
	telemetry.SetTrace(e, ctx)
}

// NewEvent returns an event of type typ from source with the id id, made
// now, its data the JSON of data.
func NewEvent(id, source, typ string, data any) (event.Event, error) {
	e := event.New()
	e.SetID(id)
	e.SetSource(source)
	e.SetType(typ)
	e.SetTime(time.Now().UTC())
	if err := e.SetData(event.ApplicationJSON, data); err != nil {
		return event.Event{}, err
	}
	return e, nil
}

// EventMsg is e as a message on subject (binary content mode), ready to
// publish: e tied to link's chain, carrying the trace context of the span
// in ctx (so that whoever handles it continues from that span), with the
// Nats-Msg-Id msgID, or e's id when msgID is empty.
func EventMsg(ctx context.Context, subject string, e event.Event, link Link, msgID string) (*nats.Msg, error) {
	link.tie(ctx, &e)
	if msgID == "" {
		msgID = e.ID()
	}
	return toMsg(subject, e, msgID)
}

// PublishEvent publishes e on subject as EventMsg makes it, with e's id
// as Nats-Msg-Id; its failure names e's type.
func (p *Publisher) PublishEvent(ctx context.Context, subject string, e event.Event, link Link) (*jetstream.PubAck, error) {
	m, err := EventMsg(ctx, subject, e, link, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.Type(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	return p.publish(ctx, m, e.Type())
}
