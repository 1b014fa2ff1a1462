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
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/pkg/events"
)

// StatusSource is what the poller asks Mend: the status of an asynchronous
// process and the state of a plugin request, in Mend's words.
type StatusSource interface {
	ProcessStatus(ctx context.Context, orgToken, processUUID string) (string, error)
	RequestState(ctx context.Context, orgToken, requestToken string) (string, error)
}

// Poller follows the items on MENDFLOW_TRACKING until they end.
type Poller struct {
	js       jetstream.JetStream
	pub      *bus.Publisher
	mend     StatusSource
	cfg      Config
	orgToken string
	log      *slog.Logger
	metrics  *Metrics
	tracer   trace.Tracer
	rnd      func() float64
	// recorder keeps a record of each poll for mendflowctl trace (nil:
	// none); Run's caller sets it.
	recorder bus.Recorder
	// now is the clock an item's age is read from; tests set it to step
	// past a deadline without waiting for it.
	now func() time.Time
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
	// A completion gets a quarter of the AckWait, so that the server does
	// not hand the item to another poller while this one still publishes.
	pub := bus.NewPublisher(js, bus.WithMaxPayload(js.Conn().MaxPayload()), bus.WithPublishTimeout(cfg.AckWait/4))
	return &Poller{
		js: js, pub: pub, mend: src, cfg: cfg, orgToken: orgToken, log: log, metrics: m,
		tracer: tp.Tracer("github.com/mendflow/mendflow/internal/poller"), rnd: rand.Float64, now: time.Now,
	}, nil
}

// Run follows items until ctx ends. It then stops pulling, hands back the
// items it pulls meanwhile, lets the polls under way finish within
// ShutdownGrace (abandoning and handing back the rest), and returns nil.
// It returns an error when it cannot start, unless ctx ended first (it
// then holds nothing to hand back), or when consuming stops before ctx
// ends (its consumer was deleted, or the connection closed).
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
	runner := bus.NewRunner(cons, p.handle, bus.RunnerConfig{
		Concurrency:   p.cfg.Concurrency,
		AckWait:       p.cfg.AckWait,
		FetchWait:     p.cfg.FetchWait,
		ShutdownGrace: p.cfg.ShutdownGrace,
		// A delivery is a poll, not an attempt: an item is polled until it
		// ends or its deadline passes. What failed to be published is
		// polled again soon; the completion id makes a second publish of
		// the same event harmless.
		Attempts: bus.Attempts{Backoff: func(int) time.Duration { return p.cfg.FirstInterval }},
		// Each poll is recorded, for mendflowctl trace (nil: none).
		Recorder: p.recorder,
		// An item that can never be followed is counted and dropped
		// (TermWithReason); no dead letter keeps it, as MENDFLOW_DLQ and
		// its replay hold commands, and only the worker publishes items.
		Poison: func(context.Context, *bus.Delivery, string, error) error {
			p.metrics.invalid.Inc()
			return nil
		},
		Noun:    "item",
		Metrics: p.metrics.deliveries,
		Logger:  p.log,
		Tracer:  p.tracer,
	})
	if err := runner.Run(ctx); err != nil {
		return fmt.Errorf("consuming %s stopped: %w", events.StreamTracking, err)
	}
	return nil
}

// Reasons an item is polled again, in its delivery's log line.
const (
	reasonNotDue  = "not due"
	reasonRunning = "not ended"
)

// handle makes one poll of the item a delivery carries. An item that has
// not ended is delivered again at its next poll; one that ended gets its
// completion event, after which its delivery is acknowledged, which
// removes it.
func (p *Poller) handle(ctx context.Context, d *bus.Delivery) error {
	it, err := decodeItem(d.Event, p.orgToken)
	if err != nil {
		return bus.Permanent(events.FailInvalid, err)
	}
	d.Label = it.track.Kind
	d.Note("command", it.command(), "kind", it.track.Kind, "item", it.name(), "org_token", it.track.OrgToken)
	age := max(p.now().Sub(it.track.Started), 0)
	if age < p.cfg.FirstInterval {
		// Just handed over: nothing to ask Mend yet.
		return bus.Later(p.cfg.FirstInterval-age, reasonNotDue, nil)
	}

	// The poll is a span of the item's trace; its completion event
	// continues from it.
	span := trace.SpanFromContext(ctx)
	span.SetName("poll " + it.track.Kind)
	span.SetAttributes(attribute.String("mendflow.item", it.name()))

	// The poll gets half the AckWait, so that the server does not hand the
	// item to another poller while this one is still at it.
	pollCtx, cancel := context.WithTimeout(ctx, p.cfg.AckWait/2)
	status, err := p.poll(pollCtx, it)
	cancel()
	if ctx.Err() != nil {
		return ctx.Err() // stopping: the item is handed back
	}
	v := p.cfg.judge(it.track.Kind, status, err, age, p.rnd())
	switch {
	case err != nil:
		p.metrics.polls.WithLabelValues(it.track.Kind, pollError).Inc()
	case v.end:
		p.metrics.polls.WithLabelValues(it.track.Kind, pollEnded).Inc()
	default:
		p.metrics.polls.WithLabelValues(it.track.Kind, pollRunning).Inc()
	}
	d.Note("status", status, "age", age.String())
	if !v.end {
		reason := reasonRunning
		if err != nil {
			reason = bus.ReasonTransient
		}
		return bus.Later(v.wait, reason, err)
	}
	return p.complete(ctx, d, it, status, v, age)
}

// poll asks Mend about the item.
func (p *Poller) poll(ctx context.Context, it item) (string, error) {
	if it.track.Kind == events.TrackProcess {
		return p.mend.ProcessStatus(ctx, it.track.OrgToken, it.track.ProcessUUID)
	}
	return p.mend.RequestState(ctx, it.track.OrgToken, it.track.RequestToken)
}

// complete publishes the completion event of an item that ended, carrying
// the item's chain and the trace context of the span in ctx. Once decided,
// it is published even while the poller stops.
func (p *Poller) complete(ctx context.Context, d *bus.Delivery, it item, status string, v verdict, age time.Duration) error {
	e, err := it.completion(status, v)
	if err != nil {
		return err
	}
	ack, err := p.pub.PublishEvent(context.WithoutCancel(ctx), events.ResultSubject(e.Type()), e, bus.Continuing(it.ev))
	if err != nil {
		return err
	}
	if ack.Duplicate {
		p.metrics.duplicates.Inc()
	}
	outcome := outcomeSucceeded
	if v.reason != "" {
		outcome = v.reason
		d.Note("detail", v.detail)
	}
	p.metrics.completions.WithLabelValues(it.track.Kind, outcome).Inc()
	p.metrics.duration.WithLabelValues(it.track.Kind).Observe(age.Seconds())
	d.Note("outcome", outcome)
	return nil
}
