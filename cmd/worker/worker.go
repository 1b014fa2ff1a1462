package main

import (
	"cmp"
	"context"
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
// NakWithDelay, Nak or TermWithReason. It runs in a span that continues the
// trace the command carries; the Mend calls, and the result events, carry
// that span on.
func (s *service) process(ctx context.Context, msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		s.logger.ErrorContext(ctx, "message without JetStream metadata", "subject", msg.Subject(), "error", err)
		_ = msg.Term()
		return
	}
	e, err := events.FromJetStreamMsg(msg)
	cmd := &handlers.Command{
		Event: e, Attempt: int(meta.NumDelivered), Seq: meta.Sequence.Stream, Published: meta.Timestamp,
		Replay: msg.Headers().Get(events.HeaderReplayOf),
	}
	name := commandOfSubject(msg.Subject())
	ctx, span := s.tracer.Start(events.ContextWithTrace(ctx, e), "command "+name,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("mendflow.command", name),
			attribute.String("cloudevents.event_id", e.ID()),
			attribute.String("mendflow.correlation_id", events.Extension(e, events.ExtCorrelationID)),
			attribute.Int("mendflow.attempt", cmd.Attempt),
		))
	defer span.End()
	log := s.logger
	if err == nil {
		log = log.With(events.LogAttrs(e)...)
	} else {
		// Not even a CloudEvent: nothing to hand to a handler.
		log = log.With("command", name, "subject", msg.Subject())
		s.metrics.Commands.WithLabelValues("unknown", handlers.OutcomeFailed).Inc()
		s.giveUp(ctx, log, msg, meta, cmd, name, &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailInvalid, Err: err})
		return
	}

	stop := s.heartbeat(msg)
	res, err := s.handle(ctx, cmd)
	stop()

	var d *handlers.Decision
	switch {
	case err == nil:
		s.succeed(ctx, log, msg, meta, cmd, res)
	case !errors.As(err, &d):
		// The Decide middleware turns every failure into a Decision; an
		// error without one is a wiring fault, and stopping is safest.
		s.giveUp(ctx, log, msg, meta, cmd, name, &handlers.Decision{Verdict: handlers.GiveUp, Reason: events.FailPermanent, Err: err})
	case d.Verdict == handlers.Retry:
		s.settle(ctx, log, msg, "nak with delay", msg.NakWithDelay(d.Delay))
	case d.Verdict == handlers.HandBack:
		s.settle(ctx, log, msg, "nak", msg.Nak())
	default:
		s.giveUp(ctx, log, msg, meta, cmd, name, d)
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
}

// heartbeat tells JetStream the delivery is still being worked on, every
// third of the ack wait, until stop is called: a long Mend call must not
// make the command look abandoned.
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

// succeed publishes the result event and the poller's item, then
// acknowledges. Should publishing fail, the command comes back later and
// its handler finds its effect already made.
func (s *service) succeed(ctx context.Context, log *slog.Logger, msg jetstream.Msg, meta *jetstream.MsgMetadata, cmd *handlers.Command, res handlers.Result) {
	err := s.publishResult(ctx, meta, cmd, res)
	if err != nil {
		delay := s.retry.Backoff(cmd.Attempt)
		log.WarnContext(ctx, "publishing the result failed; the command will come back", "error", err, "delay", delay)
		s.settle(ctx, log, msg, "nak with delay", msg.NakWithDelay(delay))
		return
	}
	// DoubleAck waits for the server to confirm, so that a lost ack is
	// seen here rather than as a surprise redelivery.
	ackCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	s.settle(ctx, log, msg, "ack", msg.DoubleAck(ackCtx))
}

func (s *service) publishResult(ctx context.Context, meta *jetstream.MsgMetadata, cmd *handlers.Command, res handlers.Result) error {
	if res.Type != "" {
		if _, err := s.publish(ctx, events.ResultSubject(res.Type), res.Type, derivedID(cmd, meta, "result"), cmd, res.Data); err != nil {
			return fmt.Errorf("result event: %w", err)
		}
	}
	if res.Track != nil {
		if err := res.Track.Validate(); err != nil {
			return err
		}
		if _, err := s.publish(ctx, events.TrackSubject(res.Track.Kind), events.TrackType(res.Track.Kind), derivedID(cmd, meta, "track"), cmd, res.Track); err != nil {
			return fmt.Errorf("track item: %w", err)
		}
	}
	return nil
}

// giveUp keeps the command on the dead-letter stream with why it failed,
// publishes io.mendflow.command.failed, and terminates the delivery. The
// command is named as the router decoded it, or else by its subject's name.
func (s *service) giveUp(ctx context.Context, log *slog.Logger, msg jetstream.Msg, meta *jetstream.MsgMetadata, cmd *handlers.Command, subjectName string, d *handlers.Decision) {
	name := cmp.Or(cmd.Name, subjectName)
	errText := d.Err.Error()
	now := time.Now().UTC()
	dl := events.NewDeadLetterMsg(&nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()}, events.DeadLetter{
		Command: name, Reason: d.Reason, Error: errText, Attempts: cmd.Attempt, FailedAt: now, CommandSeq: meta.Sequence.Stream,
	})
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ack, err := s.js.PublishMsg(pctx, dl, jetstream.WithMsgID(derivedID(cmd, meta, "dlq")))
	if err == nil {
		_, err = s.publish(ctx, events.ResultSubject(events.TypeCommandFailed), events.TypeCommandFailed, derivedID(cmd, meta, "failed"), cmd, events.CommandFailed{
			Command: name, CommandID: cmd.ID(), Reason: d.Reason, Error: errText, Attempts: cmd.Attempt, FailedAt: now,
			DeadLetterSubject: dl.Subject, DeadLetterSeq: ack.Sequence, Data: jsonData(msg.Data()),
		})
	}
	if err != nil {
		delay := s.retry.Backoff(cmd.Attempt)
		log.ErrorContext(ctx, "keeping a failed command failed; it will come back", "error", err, "delay", delay)
		s.settle(ctx, log, msg, "nak with delay", msg.NakWithDelay(delay))
		return
	}
	s.metrics.DeadLetters.WithLabelValues(cmd.Label(), d.Reason).Inc()
	log.InfoContext(ctx, "command kept as a dead letter", "reason", d.Reason, "dead_letter_subject", dl.Subject, "dead_letter_seq", ack.Sequence)
	s.settle(ctx, log, msg, "term", msg.TermWithReason(d.Reason))
}

// publish publishes a CloudEvent of type typ answering cmd, with the id
// and Nats-Msg-Id id, and the trace context of the span in ctx, so that
// what follows (the poller, a consumer of the event) continues from the
// worker's span.
func (s *service) publish(ctx context.Context, subject, typ, id string, cmd *handlers.Command, data any) (*jetstream.PubAck, error) {
	out := event.New()
	out.SetID(id)
	out.SetSource(source)
	out.SetType(typ)
	out.SetTime(time.Now().UTC())
	if err := out.SetData(event.ApplicationJSON, data); err != nil {
		return nil, err
	}
	if cmd.Event.ID() != "" {
		events.Propagate(&out, cmd.Event)
	}
	events.SetTrace(&out, ctx)
	m, err := events.ToMsg(subject, out)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return s.js.PublishMsg(pctx, m, jetstream.WithMsgID(id))
}

// settle logs an ack, nak or term that did not reach the server; the
// delivery then ends by itself when the ack wait runs out.
func (s *service) settle(ctx context.Context, log *slog.Logger, msg jetstream.Msg, what string, err error) {
	if err != nil {
		log.WarnContext(ctx, "could not "+what, "subject", msg.Subject(), "error", err)
	}
}

// derivedID is the id, and Nats-Msg-Id, of what the worker publishes for a
// command: the same for every delivery of one stored command, so that a
// crash between publishing and acknowledging stores nothing twice; distinct
// for a command replayed from the dead-letter stream, which is stored anew.
func derivedID(cmd *handlers.Command, meta *jetstream.MsgMetadata, kind string) string {
	return fmt.Sprintf("%s:%d:%s", cmd.ID(), meta.Sequence.Stream, kind)
}

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
