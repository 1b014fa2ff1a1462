package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/pkg/events"
)

// Ingest's probe stream: readiness writes here, never to MENDFLOW_COMMANDS,
// to find out whether JetStream takes writes again.
const (
	streamProbe  = "MENDFLOW_INGEST_PROBE"
	subjectProbe = "mendflow.probe.ingest"
)

// probeStreamConfig keeps the last probe only. Its storage and replicas
// are MENDFLOW_COMMANDS', so that a write is refused here when the store
// or the quorum would refuse a command.
func probeStreamConfig(replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        streamProbe,
		Description: "ingest's readiness probes: does JetStream take writes? (the last probe only)",
		Subjects:    []string{subjectProbe},
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		MaxMsgs:     1,
	}
}

// fileStoreOverhead is what JetStream's file store adds to each message it
// counts against a stream's max_bytes: a record header and a hash.
const fileStoreOverhead = 30

// writeHealth is whether JetStream takes ingest's writes, as the last
// publish said: a failure that was the server's (see failed) makes ingest
// unready until a publish, or a probe of readiness, succeeds.
type writeHealth struct {
	failure atomic.Pointer[writeFailure]
	logger  *slog.Logger
}

// writeFailure is the last publish that JetStream refused.
type writeFailure struct {
	err error
	at  time.Time
	// need is the size of the largest message refused, as the file store
	// counts it: MENDFLOW_COMMANDS must have room for it again.
	need int64
}

// failed records a publish of cmds that failed with err, when the failure
// is the server's: not a command too large for it (the sender's), nor a
// sender that went away (its request's context canceled).
func (h *writeHealth) failed(err error, cmds []*bus.Outgoing) {
	if bus.TooLarge(err) || errors.Is(err, context.Canceled) {
		return
	}
	f := &writeFailure{err: err, at: time.Now()}
	for _, c := range cmds {
		f.need = max(f.need, int64(bus.HeaderBytes(c.Msg)+len(c.Msg.Data)+len(c.Msg.Subject)+fileStoreOverhead))
	}
	h.failure.Store(f)
}

// succeeded records a publish that JetStream acknowledged.
func (h *writeHealth) succeeded() {
	if h.failure.Load() != nil {
		h.failure.Store(nil)
	}
}

// check is nil while no publish failed since the last that succeeded.
// Otherwise, since an unready ingest gets no traffic to find out, it asks
// probe whether JetStream would take the refused command now: nil makes
// ingest ready again, an error is the reason it is not, with the failure.
func (h *writeHealth) check(ctx context.Context, probe func(ctx context.Context, need int64) error) error {
	f := h.failure.Load()
	if f == nil {
		return nil
	}
	if err := probe(ctx, f.need); err != nil {
		return fmt.Errorf("JetStream refuses writes: a publish failed %v ago (%s: %v), and a probe still fails: %w",
			time.Since(f.at).Round(time.Second), failureReason(f.err), f.err, err)
	}
	if h.failure.CompareAndSwap(f, nil) {
		h.logger.Info("JetStream takes writes again: a probe succeeded", "failed_at", f.at)
	}
	return nil
}

// probeWrites asks whether JetStream would take a command of need bytes,
// without storing one: MENDFLOW_COMMANDS must have room for it under the
// limits at which it refuses new messages (discard new), and a message
// published by pub must be stored on the probe stream, which is created
// if it went missing.
func probeWrites(ctx context.Context, js jetstream.JetStream, pub *bus.Publisher, replicas int, need int64) error {
	stream, err := js.Stream(ctx, events.StreamCommands)
	if err != nil {
		return fmt.Errorf("stream %s: %w", events.StreamCommands, err)
	}
	info := stream.CachedInfo()
	if sc, st := info.Config, info.State; sc.Discard == jetstream.DiscardNew {
		switch {
		case sc.MaxBytes > 0 && int64(st.Bytes)+need > sc.MaxBytes:
			return fmt.Errorf("stream %s is full: %d of its max_bytes %d held, a command of %d bytes refused",
				events.StreamCommands, st.Bytes, sc.MaxBytes, need)
		case sc.MaxMsgs > 0 && int64(st.Msgs) >= sc.MaxMsgs:
			return fmt.Errorf("stream %s is full: %d messages, its max_msgs", events.StreamCommands, st.Msgs)
		}
	}
	// The probe keeps the last message only: it needs no Nats-Msg-Id.
	_, err = pub.Publish(ctx, nats.NewMsg(subjectProbe))
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		if _, cerr := js.CreateStream(ctx, probeStreamConfig(replicas)); cerr != nil && !errors.Is(cerr, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("%w; creating %s: %w", err, streamProbe, cerr)
		}
		_, err = pub.Publish(ctx, nats.NewMsg(subjectProbe))
	}
	return err
}
