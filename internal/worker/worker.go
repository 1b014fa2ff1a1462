package worker

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/telemetry"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/handlers"
)

// source is the CloudEvents source of what the worker publishes.
const source = "/mendflow/worker"

// fetchLoop pulls commands while ctx lasts, never more than there are free
// slots: a command pulled waits for no one, and the consumer's
// MaxAckPending then caps what all workers hold together. Each command runs
// under work, which outlives ctx by the grace period.
func (s *service) fetchLoop(ctx, work context.Context, running *sync.WaitGroup) {
	slots := make(chan struct{}, s.cfg.Worker.Concurrency)
	failures := 0
	for {
		// Wait for one free slot, then take all that are free.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
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

		batch, err := s.cons.Fetch(n, jetstream.FetchMaxWait(s.cfg.Worker.FetchWait))
		if err == nil {
			for msg := range batch.Messages() {
				n--
				if ctx.Err() != nil {
					// Pulled while stopping: give it straight back.
					_ = msg.Nak()
					<-slots
					continue
				}
				running.Add(1)
				go func() {
					defer running.Done()
					defer func() { <-slots }()
					s.process(work, msg)
				}()
			}
			err = batch.Error()
		}
		for range n {
			<-slots
		}
		if err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			failures++
			wait := s.retry.Backoff(failures)
			s.logger.Warn("fetching commands failed", "error", err, "retry_in", wait)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return
			}
			continue
		}
		failures = 0
	}
}

// process carries out one delivery and ends it in exactly one of Ack,
// NakWithDelay, Nak or TermWithReason, then logs and counts how it ended.
// Until then, publishing included, it tells JetStream it is still at work.
// It runs in a span that continues the trace the command carries; the Mend
// calls, and the result events, carry that span on.
func (s *service) process(ctx context.Context, msg jetstream.Msg) {
	start := time.Now()
	meta, err := msg.Metadata()
	if err != nil {
		s.logger.ErrorContext(ctx, "message without JetStream metadata", "subject", msg.Subject(), "error", err)
		_ = msg.Term()
		return
	}
	e, err := bus.FromJetStreamMsg(msg)
	cmd := &handlers.Delivery{
		Event: e, Attempt: int(meta.NumDelivered), Seq: meta.Sequence.Stream, Published: meta.Timestamp,
		Replay: msg.Headers().Get(bus.HeaderReplayOf),
	}
	name := commandOfSubject(msg.Subject())
	ctx, span := s.tracer.Start(telemetry.ContextWithTrace(ctx, e), "command "+name,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("mendflow.command", name),
			attribute.String("cloudevents.event_id", e.ID()),
			attribute.String("mendflow.correlation_id", events.Extension(e, events.ExtCorrelationID)),
			attribute.Int("mendflow.attempt", cmd.Attempt),
		))
	defer span.End()
	log := s.logger
	stop := s.heartbeat(msg)
	var end ending
	if err == nil {
		log = log.With(telemetry.LogAttrs(e)...)
		res, err := s.handle(ctx, cmd)
		end = s.finish(ctx, msg, meta, cmd, name, res, err)
	} else {
		// Not even a CloudEvent: nothing to hand to a handler.
		log = log.With("command", name, "subject", msg.Subject())
		end = s.giveUp(ctx, msg, meta, cmd, name, &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailInvalid, Err: err})
	}
	stop()
	s.settle(ctx, log, msg, end)
	if end.err != nil {
		span.SetStatus(codes.Error, end.err.Error())
	}
	s.ended(ctx, log, cmd, end, time.Since(start))
}

// ending is how a delivery ends: what JetStream is told, and why.
type ending struct {
	outcome string        // one of handlers.Outcome*
	reason  string        // why it was retried, handed back or given up
	delay   time.Duration // before the next delivery
	err     error         // what failed
	result  string        // the result event's type
	// dlSubject and dlSeq are where the command is kept as a dead letter,
	// omitted what the dead letter leaves out of it.
	dlSubject string
	dlSeq     uint64
	omitted   string
}

// finish decides how a delivery whose handler returned res and err ends.
// A command that succeeded is acknowledged once its result is stored; a
// result that cannot be stored is a failure like any other, decided by the
// retry policy: it counts toward WORKER_MAX_ATTEMPTS, and one NATS will
// never take is given up at once. Should the result be stored and the ack
// be lost, the command comes back later and its handler finds its effect
// already made.
func (s *service) finish(ctx context.Context, msg jetstream.Msg, meta *jetstream.MsgMetadata, cmd *handlers.Delivery, name string, res handlers.Result, err error) ending {
	var d *handlers.Decision
	if err == nil {
		if err = s.publishResult(ctx, meta, cmd, res); err == nil {
			return ending{outcome: handlers.OutcomeSuccess, result: res.Type}
		}
		_, d = s.retry.Decide(ctx, cmd, err)
	}
	if d == nil && !errors.As(err, &d) {
		// The retry policy decides every failure; an error without a
		// Decision is a wiring fault, and stopping is safest.
		d = &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailPermanent, Err: err}
	}
	switch d.Verdict {
	case handlers.Retry:
		return ending{outcome: handlers.OutcomeRetry, reason: d.Reason, delay: d.Delay, err: d.Err}
	case handlers.HandBack:
		return ending{outcome: handlers.OutcomeHandBack, reason: d.Reason, err: d.Err}
	}
	return s.giveUp(ctx, msg, meta, cmd, name, d)
}

// heartbeat tells JetStream the delivery is still being worked on, every
// third of the ack wait, until stop is called: a long Mend call, or
// publishing to a NATS slow to answer, must not make the command look
// abandoned.
func (s *service) heartbeat(msg jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(s.cfg.Worker.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = msg.InProgress()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// publishResult publishes the result event and the poller's Track item. A
// failure to store them is a *handlers.PublishError.
func (s *service) publishResult(ctx context.Context, meta *jetstream.MsgMetadata, cmd *handlers.Delivery, res handlers.Result) error {
	if res.Type != "" {
		if err := s.answer(ctx, events.ResultSubject(res.Type), res.Type, derivedID(cmd, meta, "result"), cmd, res.Data); err != nil {
			return err
		}
	}
	if res.Track != nil {
		if err := res.Track.Validate(); err != nil {
			return err
		}
		return s.answer(ctx, events.TrackSubject(res.Track.Kind), events.TrackType(res.Track.Kind), derivedID(cmd, meta, "track"), cmd, res.Track)
	}
	return nil
}

// answer publishes an event of type typ answering cmd; a failure to store
// it is a *handlers.PublishError.
func (s *service) answer(ctx context.Context, subject, typ, id string, cmd *handlers.Delivery, data any) error {
	e, err := s.event(ctx, typ, id, cmd, data)
	if err != nil {
		return fmt.Errorf("%s: %w", typ, err)
	}
	m, err := bus.ToMsg(subject, e)
	if err != nil {
		return fmt.Errorf("%s: %w", typ, err)
	}
	if _, err := s.store(ctx, m, id); err != nil {
		return &handlers.PublishError{Err: fmt.Errorf("%s: %w", typ, err)}
	}
	return nil
}

// giveUp keeps the command on the dead-letter stream with why it failed and
// publishes io.mendflow.command.failed; the delivery is then terminated. The
// command is named as the router decoded it, or else by its subject's name.
// Both are cut to fit in a NATS message, so that a command too large to
// answer can still be kept. Should either not be stored (NATS unreachable),
// the command comes back after a backoff and is decided again: a retry
// counted like any other, until the dead letter is kept.
func (s *service) giveUp(ctx context.Context, msg jetstream.Msg, meta *jetstream.MsgMetadata, cmd *handlers.Delivery, subjectName string, d *handlers.Decision) ending {
	name := cmp.Or(cmd.Name, subjectName)
	errText := d.Err.Error()
	now := time.Now().UTC()
	dl := bus.NewDeadLetterMsg(&nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()}, bus.DeadLetter{
		Command: name, Reason: d.Reason, Error: errText, Attempts: cmd.Attempt, FailedAt: now, CommandSeq: meta.Sequence.Stream,
	})
	dlID := derivedID(cmd, meta, "dlq")
	dl.Header.Set(jetstream.MsgIDHeader, dlID)
	bus.FitDeadLetter(dl, s.nc.MaxPayload())
	ack, err := s.store(ctx, dl, dlID)
	if err == nil {
		failedID := derivedID(cmd, meta, "failed")
		var m *nats.Msg
		m, err = s.failedMsg(ctx, cmd, failedID, events.CommandFailed{
			Command: name, CommandID: cmd.ID(), Reason: d.Reason, Error: errText, Attempts: cmd.Attempt, FailedAt: now,
			DeadLetterSubject: dl.Subject, DeadLetterSeq: ack.Sequence, Data: jsonData(dl.Data),
		})
		if err == nil {
			_, err = s.store(ctx, m, failedID)
		}
	}
	if err != nil {
		return ending{outcome: handlers.OutcomeRetry, reason: handlers.ReasonPublishFailed, delay: s.retry.Backoff(cmd.Attempt),
			err: fmt.Errorf("keeping the command as a dead letter (%s: %v): %w", d.Reason, errText, err)}
	}
	return ending{outcome: handlers.OutcomeFailed, reason: d.Reason, err: d.Err,
		dlSubject: dl.Subject, dlSeq: ack.Sequence, omitted: dl.Header.Get(bus.HeaderDLQOmitted)}
}

// failedMsg is the io.mendflow.command.failed message with the id id. Like
// the dead letter it must be storable whatever the command holds: should it
// not fit in a NATS message, it leaves out the command's data (the dead
// letter keeps it) while that is what is too large, and the largest
// extension attributes (a correlationid of tens of kilobytes) while the
// headers are; failed.Omitted names what it left out.
func (s *service) failedMsg(ctx context.Context, cmd *handlers.Delivery, id string, failed events.CommandFailed) (*nats.Msg, error) {
	var cut []string // extension attributes left out
	for {
		e, err := s.event(ctx, events.TypeCommandFailed, id, cmd, failed)
		if err != nil {
			return nil, err
		}
		for _, ext := range cut {
			e.SetExtension(ext, nil)
		}
		m, err := bus.ToMsg(events.ResultSubject(events.TypeCommandFailed), e)
		if err != nil {
			return nil, err
		}
		m.Header.Set(jetstream.MsgIDHeader, id)
		why := bus.Oversize(m, s.nc.MaxPayload())
		switch {
		case why == nil:
			return m, nil
		case failed.Data != nil && bus.HeaderBytes(m) <= bus.MaxHeaderBytes:
			failed.Data = nil
			failed.Omitted = append(failed.Omitted, "data")
		default:
			ext := largestExtension(e)
			if ext == "" {
				return nil, fmt.Errorf("%s: %s", events.TypeCommandFailed, why)
			}
			cut = append(cut, ext)
			failed.Omitted = append(failed.Omitted, ext)
		}
	}
}

// largestExtension is the name of e's largest extension attribute, or ""
// when it has none. Equal sizes go by name.
func largestExtension(e event.Event) string {
	var best string
	size := -1
	for name := range e.Extensions() {
		n := len(events.Extension(e, name))
		if n > size || (n == size && name < best) {
			best, size = name, n
		}
	}
	return best
}

// event is a CloudEvent of type typ answering cmd, with the id id, and the
// trace context of the span in ctx, so that what follows (the poller, a
// consumer of the event) continues from the worker's span.
func (s *service) event(ctx context.Context, typ, id string, cmd *handlers.Delivery, data any) (event.Event, error) {
	out := event.New()
	out.SetID(id)
	out.SetSource(source)
	out.SetType(typ)
	out.SetTime(time.Now().UTC())
	if err := out.SetData(event.ApplicationJSON, data); err != nil {
		return event.Event{}, err
	}
	if cmd.Event.ID() != "" {
		events.Propagate(&out, cmd.Event)
	}
	telemetry.SetTrace(&out, ctx)
	return out, nil
}

// store publishes m with the Nats-Msg-Id id and waits for JetStream to
// store it, for a while even when ctx has ended: a worker stopping still
// finishes what it holds.
func (s *service) store(ctx context.Context, m *nats.Msg, id string) (*jetstream.PubAck, error) {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return s.js.PublishMsg(pctx, m, jetstream.WithMsgID(id))
}

// ended logs and counts how a delivery ended. Only names, ids and errors
// are logged: errors of package mend never hold the user key or the JWT,
// and command data holds no credentials.
func (s *service) ended(ctx context.Context, log *slog.Logger, cmd *handlers.Delivery, end ending, took time.Duration) {
	s.metrics.Ended(cmd, end.outcome, end.reason)
	attrs := []any{"attempt", cmd.Attempt, "duration", took.Round(time.Microsecond)}
	switch end.outcome {
	case handlers.OutcomeSuccess:
		log.InfoContext(ctx, "command done", append(attrs, "result", end.result)...)
	case handlers.OutcomeRetry:
		log.WarnContext(ctx, "command will be retried", append(attrs, "reason", end.reason, "delay", end.delay, "error", end.err)...)
	case handlers.OutcomeHandBack:
		log.InfoContext(ctx, "command handed back", attrs...)
	default:
		attrs = append(attrs, "reason", end.reason, "error", end.err, "dead_letter_subject", end.dlSubject, "dead_letter_seq", end.dlSeq)
		if end.omitted != "" {
			attrs = append(attrs, "omitted", end.omitted)
		}
		log.ErrorContext(ctx, "command failed", attrs...)
	}
}

// settle tells JetStream how the delivery ends. Should that not reach the
// server, it logs so; the delivery then ends by itself when the ack wait
// runs out.
func (s *service) settle(ctx context.Context, log *slog.Logger, msg jetstream.Msg, end ending) {
	var err error
	switch end.outcome {
	case handlers.OutcomeSuccess:
		// DoubleAck waits for the server to confirm, so that a lost ack is
		// seen here rather than as a surprise redelivery.
		ackCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = msg.DoubleAck(ackCtx)
	case handlers.OutcomeRetry:
		err = msg.NakWithDelay(end.delay)
	case handlers.OutcomeHandBack:
		err = msg.Nak()
	default:
		err = msg.TermWithReason(end.reason)
	}
	if err != nil {
		log.WarnContext(ctx, "could not settle the delivery", "subject", msg.Subject(), "outcome", end.outcome, "error", err)
	}
}

// derivedID is the id, and Nats-Msg-Id, of what the worker publishes for a
// command: the same for every delivery of one stored command, so that a
// crash between publishing and acknowledging stores nothing twice; distinct
// for a command replayed from the dead-letter stream, which is stored anew.
// A command id longer than maxIDInDerived is replaced by its SHA-256, so
// that the worker's own ids stay short however long the sender's.
func derivedID(cmd *handlers.Delivery, meta *jetstream.MsgMetadata, kind string) string {
	id := cmd.ID()
	if len(id) > maxIDInDerived {
		sum := sha256.Sum256([]byte(id))
		id = "sha256-" + hex.EncodeToString(sum[:])
	}
	return fmt.Sprintf("%s:%d:%s", id, meta.Sequence.Stream, kind)
}

// maxIDInDerived is the longest command id that derivedID quotes.
const maxIDInDerived = 128

// commandOfSubject is the command name of a subject mendflow.cmd.<name>
// (the consumer takes no other).
func commandOfSubject(subject string) string {
	name, _ := strings.CutPrefix(subject, events.CommandSubject(""))
	return name
}

// jsonData keeps command data in the failed event when it is JSON.
func jsonData(b []byte) json.RawMessage {
	if json.Valid(b) {
		return b
	}
	return nil
}
