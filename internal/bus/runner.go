package bus

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/mendflow/mendflow/internal/telemetry"
	"github.com/mendflow/mendflow/pkg/events"
)

// Consumer is what a Runner needs of a jetstream.Consumer.
type Consumer interface {
	Fetch(batch int, opts ...jetstream.FetchOpt) (jetstream.MessageBatch, error)
	Info(ctx context.Context) (*jetstream.ConsumerInfo, error)
}

// Delivery is one delivery of a message to a Runner's handler.
type Delivery struct {
	// Msg is the message as JetStream delivered it. The runner answers
	// it; a handler does not.
	Msg jetstream.Msg
	// Event is the message as a CloudEvent.
	Event event.Event
	// Attempt counts deliveries of the message, 1 for the first.
	Attempt int
	// Seq is the message's sequence in its stream: the same for every
	// redelivery of one stored message, distinct for each copy stored.
	Seq uint64
	// Published is when the message was stored.
	Published time.Time
	// Label says what the delivery was, for the metrics (a command's name,
	// an item's kind): the handler sets it, from a bounded set of values.
	Label string

	notes []any // attributes of the delivery's log line
}

// Note adds attributes, key and value pairs, to the one line logged when
// the delivery ends: what it was about and what it produced.
func (d *Delivery) Note(attrs ...any) { d.notes = append(d.notes, attrs...) }

// maxIDInAnswer is the longest message id that AnswerID quotes.
const maxIDInAnswer = 128

// AnswerID is the id, and Nats-Msg-Id, of what is published in answer to
// the delivery, kind saying what it is ("result", "track", "dlq"): the
// same for every delivery of one stored message, so that a crash between
// publishing and acknowledging stores nothing twice; distinct for each
// copy stored (a command replayed from the dead-letter stream is stored
// anew). An id longer than 128 bytes is replaced by its SHA-256, so that
// the ids derived from it stay short however long the sender's.
func (d *Delivery) AnswerID(kind string) string {
	id := d.Event.ID()
	if len(id) > maxIDInAnswer {
		sum := sha256.Sum256([]byte(id))
		id = "sha256-" + hex.EncodeToString(sum[:])
	}
	return fmt.Sprintf("%s:%d:%s", id, d.Seq, kind)
}

// Recorder keeps a record of each delivery of a Runner's, for
// mendflowctl trace: Begin returns the context the delivery runs in (where
// it may collect what the delivery does), and End, called with that
// context once the ending is decided and before JetStream is told, records
// it: a message thus leaves its stream only once its record is written.
// Recording must not fail a delivery: End reports its own failures.
type Recorder interface {
	Begin(ctx context.Context, d *Delivery) context.Context
	End(ctx context.Context, d *Delivery, end Ending)
}

// Handler carries out a delivery. Its error says how it went, for the
// runner to decide how the delivery ends (see Attempts.Decide): nil for
// done, a *LaterError, a *TransientError, a *PermanentError, or a
// *PublishError from the publisher. Its context ends when the runner,
// stopping, cuts it short.
type Handler func(ctx context.Context, d *Delivery) error

// PoisonFunc is told of a delivery that gives up, for reason, with err,
// before the runner terminates it; it notes on d what it did. The worker
// keeps the command as a dead letter; should that fail, the runner
// delivers the message again after a backoff, and decides again then.
type PoisonFunc func(ctx context.Context, d *Delivery, reason string, err error) error

// RunnerConfig is how a Runner consumes.
type RunnerConfig struct {
	// Concurrency is how many deliveries the runner carries out at once;
	// it pulls no more than it has free.
	Concurrency int
	// AckWait is the consumer's: a delivery running longer says
	// InProgress every third of it.
	AckWait time.Duration
	// FetchWait is how long one pull waits for messages. Stopping waits
	// for the pull in progress, so it also bounds the stop.
	FetchWait time.Duration
	// ShutdownGrace is how long the deliveries running may finish once
	// the runner stops, before it cuts them short and hands them back.
	ShutdownGrace time.Duration
	// Attempts decides how each delivery ends.
	Attempts Attempts
	// Laters, when set, keeps the deliveries that did not count (asked
	// for later, handed back) out of Attempts.Max; nil: every delivery
	// counts.
	Laters *Laters
	// Poison, when set, is told of each delivery that gives up.
	Poison PoisonFunc
	// Recorder, when set, keeps a record of each delivery (see Recorder).
	Recorder Recorder
	// Noun names a delivery in log lines ("command", "item") and is the
	// name of its span until the handler renames it.
	Noun string
	// Metrics count the deliveries (nil: not counted), Logger logs them,
	// and Tracer makes the span of each.
	Metrics *Metrics
	Logger  *slog.Logger
	Tracer  trace.Tracer
}

// Runner consumes a durable pull consumer: the one consumer loop of
// mendflow, as Watermill's router with JetStream's vocabulary. It fetches
// as many messages as it has free slots, runs a handler on each in a span
// of the message's trace, says InProgress while one runs long, and ends
// each delivery in exactly one of Ack, NakWithDelay or TermWithReason,
// decided once by its Attempts; it then logs one line and counts it once.
type Runner struct {
	cons   Consumer
	handle Handler
	cfg    RunnerConfig
}

// NewRunner returns a runner of handle on the messages of cons.
func NewRunner(cons Consumer, handle Handler, cfg RunnerConfig) *Runner {
	return &Runner{cons: cons, handle: handle, cfg: cfg}
}

// ErrConsumerGone is returned by Run when its consumer no longer exists,
// or its connection is closed: nothing will come any more.
var ErrConsumerGone = errors.New("the consumer is gone")

// Run consumes until ctx ends. It then stops fetching, hands back what it
// pulls meanwhile, lets the deliveries running finish for the shutdown
// grace, cuts short those still running, whose deliveries are handed
// back, and returns nil once every delivery it took is answered. It
// returns an error wrapping ErrConsumerGone, after the same stop, when
// its consumer is deleted or its connection closed before ctx ends.
//
// A delivery is handed back with NakWithDelay of FetchWait rather than
// Nak: the pull this runner had open when it began to stop lasts up to
// FetchWait more, and a message handed back at once could come back into
// it, to the runner stopping, each time counted as one more delivery.
func (r *Runner) Run(ctx context.Context) error {
	// Deliveries run on a context of their own, so that the end of ctx
	// does not cut short one about to finish; work ends a grace later.
	work, cut := context.WithCancel(context.WithoutCancel(ctx))
	defer cut()
	// Concurrency goroutines carry out the deliveries, for as long as the
	// runner runs: one started for each would grow its stack anew, through
	// a Mend call and its JSON, every time.
	deliveries := make(chan jetstream.Msg)
	slots := make(chan struct{}, r.cfg.Concurrency)
	var running sync.WaitGroup
	for range r.cfg.Concurrency {
		running.Go(func() {
			for msg := range deliveries {
				r.deliver(work, msg)
				<-slots
			}
		})
	}
	err := r.fetch(ctx, slots, deliveries)
	close(deliveries)
	r.cfg.Logger.Info("stopped fetching; waiting for the "+r.cfg.Noun+"s running", "grace", r.cfg.ShutdownGrace)
	done := make(chan struct{})
	go func() { running.Wait(); close(done) }()
	grace := time.NewTimer(r.cfg.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		r.cfg.Logger.Warn("grace period over: handing back the " + r.cfg.Noun + "s still running")
		cut()
		<-done
	}
	return err
}

// fetch pulls messages while ctx lasts, never more than there are free
// slots, and sends each to deliveries with the slot it holds: a message
// pulled waits for no one, and the consumer's MaxAckPending then caps what
// all processes hold together. It returns nil when ctx ends, an error when
// the consumer is gone.
func (r *Runner) fetch(ctx context.Context, slots chan struct{}, deliveries chan<- jetstream.Msg) error {
	failures := 0
	for {
		// Wait for one free slot, then take all that are free.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		n := 1
	more:
		for n < cap(slots) {
			select {
			case slots <- struct{}{}:
				n++
			default:
				break more
			}
		}

		batch, err := r.cons.Fetch(n, jetstream.FetchMaxWait(r.cfg.FetchWait))
		if err == nil {
			for msg := range batch.Messages() {
				n--
				if ctx.Err() != nil {
					// Pulled while stopping: give it straight back.
					_ = msg.NakWithDelay(r.cfg.FetchWait)
					<-slots
					continue
				}
				deliveries <- msg
			}
			err = batch.Error()
		}
		for range n {
			<-slots
		}
		switch {
		case err == nil, errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
			failures = 0
			continue
		case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound),
			errors.Is(err, nats.ErrConnectionClosed):
			return fmt.Errorf("%w: %w", ErrConsumerGone, err)
		case errors.Is(err, nats.ErrNoResponders) && r.consumerGone(ctx):
			// A pull sent after the consumer was deleted (not while it
			// waited) finds no one to answer it.
			return fmt.Errorf("%w: %w", ErrConsumerGone, jetstream.ErrConsumerNotFound)
		}
		failures++
		wait := setupWaits.Delay(failures)
		r.cfg.Logger.Warn("fetching "+r.cfg.Noun+"s failed", "error", err, "retry_in", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil
		}
	}
}

// consumerGone tells whether JetStream says the consumer does not exist: a
// pull that no one answered may also mean that JetStream is away for a
// moment, which is retried.
func (r *Runner) consumerGone(ctx context.Context) bool {
	_, err := r.cons.Info(ctx)
	return errors.Is(err, jetstream.ErrConsumerNotFound)
}

// deliver carries out one delivery and ends it, in a span that continues
// the trace the message carries. Until it is answered, publishing
// included, it tells JetStream it is still at work.
func (r *Runner) deliver(ctx context.Context, msg jetstream.Msg) {
	start := time.Now()
	defer r.cfg.Metrics.started()()
	meta, err := msg.Metadata()
	if err != nil {
		// Not from a consumer: nothing can be told of it.
		r.cfg.Logger.Error("message without JetStream metadata", "subject", msg.Subject(), "error", err)
		_ = msg.Term()
		return
	}
	d := &Delivery{Msg: msg, Attempt: int(meta.NumDelivered), Seq: meta.Sequence.Stream, Published: meta.Timestamp}
	var decodeErr error
	d.Event, decodeErr = FromJetStreamMsg(msg)
	ctx, span := r.cfg.Tracer.Start(telemetry.ContextWithTrace(ctx, d.Event), r.cfg.Noun,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("cloudevents.event_id", d.Event.ID()),
			attribute.String("mendflow.correlation_id", events.Extension(d.Event, events.ExtCorrelationID)),
			attribute.Int("mendflow.attempt", d.Attempt),
		))
	defer span.End()

	recording := r.cfg.Recorder != nil && decodeErr == nil // no id, no record
	if recording {
		ctx = r.cfg.Recorder.Begin(ctx, d)
	}
	beat := r.heartbeat(msg)
	if decodeErr == nil {
		err = r.handle(ctx, d)
	} else {
		// Not even a CloudEvent: nothing for a handler.
		d.Note("subject", msg.Subject())
		err = Permanent(events.FailInvalid, decodeErr)
	}
	// Deliveries asked for later, or handed back, spend no attempt.
	uncounted := r.cfg.Laters.uncounted(ctx, d)
	end := r.cfg.Attempts.Decide(err, d.Attempt-uncounted, ctx.Err() != nil)
	if end.Outcome == OutcomeFailed && r.cfg.Poison != nil {
		// What gave up is kept even when the runner is stopping.
		if perr := r.cfg.Poison(context.WithoutCancel(ctx), d, end.Reason, end.Err); perr != nil {
			end = Ending{Outcome: OutcomeRetry, Reason: ReasonPublishFailed, Delay: r.cfg.Attempts.Backoff(d.Attempt),
				Err: fmt.Errorf("keeping the %s as a dead letter (%s: %v): %w", r.cfg.Noun, end.Reason, end.Err, perr)}
		}
	}
	if recording {
		r.cfg.Recorder.End(ctx, d, end)
	}
	r.cfg.Laters.ended(ctx, d, uncounted, end)
	beat.stop()
	settleErr := r.settle(ctx, msg, end)
	if end.Err != nil {
		span.SetStatus(codes.Error, end.Err.Error())
	}
	r.ended(ctx, d, end, settleErr, time.Since(start))
}

// heartbeat says InProgress every third of the ack wait until stopped: a
// long Mend call, or publishing to a NATS slow to answer, must not make
// the delivery look abandoned.
type heartbeat struct {
	mu      sync.Mutex
	t       *time.Timer
	stopped bool
}

func (r *Runner) heartbeat(msg jetstream.Msg) *heartbeat {
	every := r.cfg.AckWait / 3
	h := &heartbeat{}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.t = time.AfterFunc(every, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.stopped {
			return
		}
		_ = msg.InProgress()
		h.t.Reset(every)
	})
	return h
}

// stop ends the heartbeat; none is sent once it returns, so that none
// follows the delivery's answer.
func (h *heartbeat) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	h.t.Stop()
}

// settle tells JetStream how the delivery ends. Should that not reach the
// server, the delivery ends by itself when the ack wait runs out.
func (r *Runner) settle(ctx context.Context, msg jetstream.Msg, end Ending) error {
	switch end.Outcome {
	case OutcomeSuccess:
		// DoubleAck waits for the server to confirm, so that a lost ack is
		// seen here rather than as a surprise redelivery.
		ackCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return msg.DoubleAck(ackCtx)
	case OutcomeRetry:
		return msg.NakWithDelay(end.Delay)
	case OutcomeHandedBack:
		return msg.NakWithDelay(r.cfg.FetchWait)
	default:
		return msg.TermWithReason(end.Reason)
	}
}

// ended logs and counts how a delivery ended: one line, one count. Only
// names, ids and errors are logged; errors of package mend never hold the
// user key or the JWT.
func (r *Runner) ended(ctx context.Context, d *Delivery, end Ending, settleErr error, took time.Duration) {
	r.cfg.Metrics.ended(cmp.Or(d.Label, "unknown"), end, took)
	var (
		level slog.Level
		msg   string
	)
	switch end.Outcome {
	case OutcomeSuccess:
		level, msg = slog.LevelInfo, r.cfg.Noun+" done"
	case OutcomeRetry:
		// Asked for later with nothing failed (an item not ended yet) is
		// the normal course of things.
		level, msg = slog.LevelWarn, r.cfg.Noun+" will be retried"
		if end.Err == nil {
			level = slog.LevelDebug
		}
	case OutcomeHandedBack:
		level, msg = slog.LevelInfo, r.cfg.Noun+" handed back"
	default:
		level, msg = slog.LevelError, r.cfg.Noun+" failed"
	}
	if settleErr != nil {
		// The delivery ends by itself when the ack wait runs out.
		level = max(level, slog.LevelWarn)
	}
	if !r.cfg.Logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]any, 0, 16+len(d.notes))
	if d.Event.ID() != "" {
		attrs = append(attrs, telemetry.LogAttrs(d.Event)...)
	}
	attrs = append(attrs, "attempt", d.Attempt, "duration", took.Round(time.Microsecond))
	attrs = append(attrs, d.notes...)
	switch end.Outcome {
	case OutcomeRetry:
		attrs = append(attrs, "reason", end.Reason, "delay", end.Delay)
	case OutcomeFailed:
		attrs = append(attrs, "reason", end.Reason)
	}
	if end.Err != nil && end.Outcome != OutcomeHandedBack {
		attrs = append(attrs, "error", end.Err)
	}
	if settleErr != nil {
		attrs = append(attrs, "settle_error", settleErr)
	}
	r.cfg.Logger.Log(ctx, level, msg, attrs...)
}
