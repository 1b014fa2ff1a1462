// Package poller follows Mend's asynchronous processes (applying policies)
// and plugin requests (scans) until they end, and emits one completion
// event for each.
//
// The items to follow are Track events on the work-queue stream
// MENDFLOW_TRACKING, which the worker publishes. All poller processes share
// one durable pull consumer on it, and one delivery is one poll of one item:
// an item that has not ended is handed back with NakWithDelay for its next
// poll, so the schedule lives in the server, a restart loses nothing and
// the pollers share the load. An item that ended (or failed, or ran past its
// deadline) gets its completion event, published with a Nats-Msg-Id derived
// from the item so that a poller dying before its acknowledgement cannot
// cause a second event, and is then acknowledged, which removes it.
package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/telemetry"
	"github.com/mendflow/mendflow/pkg/events"
)

// handBackDelay is how long an item handed back at shutdown waits, so that
// the poller shutting down does not get it straight back before it stops
// pulling; another poller takes it then.
const handBackDelay = time.Second

// StatusSource is what the poller asks Mend: the status of an asynchronous
// process and the state of a plugin request, in Mend's words.
type StatusSource interface {
	ProcessStatus(ctx context.Context, orgToken, processUUID string) (string, error)
	RequestState(ctx context.Context, orgToken, requestToken string) (string, error)
}

// Poller follows the items on MENDFLOW_TRACKING until they end.
type Poller struct {
	js       jetstream.JetStream
	mend     StatusSource
	cfg      Config
	orgToken string
	log      *slog.Logger
	metrics  *Metrics
	tracer   trace.Tracer
	rnd      func() float64
}

// New returns a poller that reads items through js, asks src about them,
// and publishes their completion events through js. orgToken is the
// organization of items that name none. Each poll is a span of tp that
// continues the trace of its item (nil: the item's trace context is passed
// on to the completion event as it is).
func New(js jetstream.JetStream, src StatusSource, cfg Config, orgToken string, log *slog.Logger, m *Metrics, tp trace.TracerProvider) (*Poller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return &Poller{
		js: js, mend: src, cfg: cfg, orgToken: orgToken, log: log, metrics: m,
		tracer: tp.Tracer("github.com/mendflow/mendflow/internal/poller"), rnd: rand.Float64,
	}, nil
}

// Run follows items until ctx ends. It then stops pulling, hands back the
// items it holds but has not started, lets the polls under way finish
// within ShutdownGrace (abandoning and handing back the rest), and returns
// nil. It returns an error when it cannot start, unless ctx ended first
// (it then holds nothing to hand back), or when consuming stops before ctx
// ends (the connection was closed).
func (p *Poller) Run(ctx context.Context) error {
	// Set up again until a NATS cluster still forming can serve it.
	var cons jetstream.Consumer
	err := bus.RetrySetup(ctx, bus.LogRetry(p.log), func(ctx context.Context) (err error) {
		cons, err = p.js.CreateOrUpdateConsumer(ctx, events.StreamTracking, p.cfg.consumer())
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("consumer %s on %s: %w", ConsumerName, events.StreamTracking, err)
	}
	// A small buffer: a buffered delivery's AckWait is already running,
	// and what is not buffered here is free for another poller.
	msgs, err := cons.Messages(jetstream.PullMaxMessages(p.cfg.Concurrency))
	if err != nil {
		return fmt.Errorf("consuming %s: %w", events.StreamTracking, err)
	}

	// Polls run on their own context, so that SIGTERM does not cut short a
	// poll that is about to publish; it is cancelled ShutdownGrace later.
	work, abandon := context.WithCancel(context.WithoutCancel(ctx))
	defer abandon()
	stop := context.AfterFunc(ctx, func() {
		msgs.Drain()
		time.AfterFunc(p.cfg.ShutdownGrace, abandon)
	})
	defer stop()

	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		consumed error
	)
	for range p.cfg.Concurrency {
		wg.Go(func() {
			if err := p.consume(ctx, work, msgs); err != nil {
				errOnce.Do(func() { consumed = err })
			}
		})
	}
	wg.Wait()
	if ctx.Err() == nil {
		msgs.Stop()
		return fmt.Errorf("consuming %s stopped: %w", events.StreamTracking, consumed)
	}
	return nil
}

// consume takes deliveries until the iterator closes: it polls them while
// ctx lasts, and hands them back once it has ended. It returns why the
// iterator closed.
func (p *Poller) consume(ctx, work context.Context, msgs jetstream.MessagesContext) error {
	var last error
	for {
		msg, err := msgs.Next()
		switch {
		case errors.Is(err, jetstream.ErrMsgIteratorClosed):
			return errors.Join(err, last)
		case err != nil:
			// Missed heartbeats and the like, after which the iterator
			// carries on, or the reason it is about to close (the
			// consumer was deleted).
			last = err
			p.log.Warn("poller: waiting for items", "error", err)
			continue
		case ctx.Err() != nil:
			p.handBack(msg)
			continue
		}
		p.handle(work, msg)
	}
}

// handle makes one poll of the item msg carries and answers the delivery.
func (p *Poller) handle(work context.Context, msg jetstream.Msg) {
	it, err := decodeItem(msg, p.orgToken)
	if err != nil {
		p.metrics.invalid.Inc()
		p.log.Error("poller: dropping a message that is not a valid Track item", "subject", msg.Subject(), "error", err)
		p.answer(msg, msg.TermWithReason(err.Error()), "term")
		return
	}
	log := p.log.With(append(telemetry.LogAttrs(it.ev), "command", it.command(), "kind", it.track.Kind,
		"item", it.name(), "org_token", it.track.OrgToken)...)
	age := max(time.Since(it.track.Started), 0)
	if age < p.cfg.FirstInterval {
		// Just handed over: nothing to ask Mend yet.
		p.answer(msg, msg.NakWithDelay(p.cfg.FirstInterval-age), "nak")
		return
	}

	// The poll is a span of the item's trace; its completion event
	// continues from it.
	work, span := p.tracer.Start(telemetry.ContextWithTrace(work, it.ev), "poll "+it.track.Kind,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("mendflow.item", it.name()),
			attribute.String("cloudevents.event_id", it.ev.ID()),
			attribute.String("mendflow.correlation_id", events.Extension(it.ev, events.ExtCorrelationID)),
		))
	defer span.End()

	// The poll gets half the AckWait and the completion a quarter, so that
	// the server does not hand the item to another poller while this one is
	// still at it.
	pollCtx, cancel := context.WithTimeout(work, p.cfg.AckWait/2)
	status, err := p.poll(pollCtx, it)
	cancel()
	if work.Err() != nil {
		p.handBack(msg)
		return
	}
	v := p.cfg.judge(it.track.Kind, status, err, age, p.rnd())
	switch {
	case err != nil:
		p.metrics.polls.WithLabelValues(it.track.Kind, pollError).Inc()
		log.WarnContext(work, "poller: status call failed", "error", err, "ends_item", v.end)
	case v.end:
		p.metrics.polls.WithLabelValues(it.track.Kind, pollEnded).Inc()
	default:
		p.metrics.polls.WithLabelValues(it.track.Kind, pollRunning).Inc()
	}
	if !v.end {
		log.DebugContext(work, "poller: not ended", "status", status, "age", age.String(), "next_poll_in", v.wait.String())
		p.answer(msg, msg.NakWithDelay(v.wait), "nak")
		return
	}
	p.finish(work, msg, it, status, v, age, log)
}

// finish publishes the completion of an item that ended and acknowledges
// its delivery, which removes it from the stream.
func (p *Poller) finish(work context.Context, msg jetstream.Msg, it item, status string, v verdict, age time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(work, p.cfg.AckWait/4)
	defer cancel()
	if err := p.complete(ctx, it, status, v); err != nil {
		if work.Err() != nil {
			p.handBack(msg)
			return
		}
		// Poll again soon; the completion id makes a second publish of
		// the same event harmless.
		log.ErrorContext(ctx, "poller: publishing completion", "error", err)
		p.answer(msg, msg.NakWithDelay(p.cfg.FirstInterval), "nak")
		return
	}
	outcome := outcomeSucceeded
	if v.reason != "" {
		outcome = v.reason
	}
	p.metrics.completions.WithLabelValues(it.track.Kind, outcome).Inc()
	p.metrics.duration.WithLabelValues(it.track.Kind).Observe(age.Seconds())
	level, attrs := slog.LevelInfo, []any{"status", status, "outcome", outcome, "age", age.String()}
	if v.reason != "" {
		level, attrs = slog.LevelWarn, append(attrs, "detail", v.detail)
	}
	log.Log(ctx, level, "poller: item ended", attrs...)
	// Confirmed, so that a lost acknowledgement shows in the log; the item
	// would come back and its completion be dropped as a duplicate.
	p.answer(msg, msg.DoubleAck(ctx), "ack")
}

// poll asks Mend about the item.
func (p *Poller) poll(ctx context.Context, it item) (string, error) {
	if it.track.Kind == events.TrackProcess {
		return p.mend.ProcessStatus(ctx, it.track.OrgToken, it.track.ProcessUUID)
	}
	return p.mend.RequestState(ctx, it.track.OrgToken, it.track.RequestToken)
}

// complete publishes the completion event of an item that ended, carrying
// the trace context of the span in ctx.
func (p *Poller) complete(ctx context.Context, it item, status string, v verdict) error {
	e, err := it.completion(status, v, time.Now())
	if err != nil {
		return err
	}
	telemetry.SetTrace(&e, ctx)
	msg, err := bus.ToMsg(events.ResultSubject(e.Type()), e)
	if err != nil {
		return err
	}
	ack, err := p.js.PublishMsg(ctx, msg, jetstream.WithMsgID(e.ID()), jetstream.WithExpectStream(events.StreamEvents))
	if err != nil {
		return fmt.Errorf("publish %s: %w", e.Type(), err)
	}
	if ack.Duplicate {
		p.metrics.duplicates.Inc()
	}
	return nil
}

// handBack returns an item the poller holds but will not poll.
func (p *Poller) handBack(msg jetstream.Msg) {
	p.answer(msg, msg.NakWithDelay(handBackDelay), "nak")
}

// answer logs an acknowledgement that failed. The delivery then times out
// after AckWait and comes back, which is safe, only later.
func (p *Poller) answer(msg jetstream.Msg, err error, what string) {
	if err != nil {
		p.log.Warn("poller: answering a delivery", "answer", what, "subject", msg.Subject(), "error", err)
	}
}
