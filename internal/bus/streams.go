package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamConfig is how the services create the streams when they are missing.
// Every service embeds it in its configuration, so all of them create the
// same streams whichever starts first.
type StreamConfig struct {
	// Replicas of each stream (1 on a single server, 3 or 5 in a cluster).
	Replicas int `env:"STREAM_REPLICAS, default=1"`
	// DedupWindow is how long MENDFLOW_COMMANDS remembers a Nats-Msg-Id to
	// drop a repeated publish. Ingest also applies it to an existing stream.
	// MENDFLOW_EVENTS and MENDFLOW_DLQ get it too (bounded by their age).
	DedupWindow time.Duration `env:"STREAM_DEDUP_WINDOW, default=24h"`
	// EventsMaxAge and EventsMaxBytes limit MENDFLOW_EVENTS (-1: no limit).
	EventsMaxAge   time.Duration `env:"STREAM_EVENTS_MAX_AGE, default=168h"`
	EventsMaxBytes int64         `env:"STREAM_EVENTS_MAX_BYTES, default=1073741824"`
	// DLQMaxAge and DLQMaxBytes limit MENDFLOW_DLQ (-1: no limit).
	DLQMaxAge   time.Duration `env:"STREAM_DLQ_MAX_AGE, default=720h"`
	DLQMaxBytes int64         `env:"STREAM_DLQ_MAX_BYTES, default=-1"`
}

// Validate reports the first out-of-range value, naming its variable.
func (c StreamConfig) Validate() error {
	switch {
	case c.Replicas < 1 || c.Replicas > 5:
		return fmt.Errorf("STREAM_REPLICAS: must be 1 to 5, not %d", c.Replicas)
	case c.DedupWindow <= 0:
		return fmt.Errorf("STREAM_DEDUP_WINDOW: must be positive, not %v", c.DedupWindow)
	case c.EventsMaxAge < 0:
		return fmt.Errorf("STREAM_EVENTS_MAX_AGE: must not be negative, not %v", c.EventsMaxAge)
	case c.EventsMaxBytes == 0 || c.EventsMaxBytes < -1:
		return fmt.Errorf("STREAM_EVENTS_MAX_BYTES: must be positive or -1, not %d", c.EventsMaxBytes)
	case c.DLQMaxAge < 0:
		return fmt.Errorf("STREAM_DLQ_MAX_AGE: must not be negative, not %v", c.DLQMaxAge)
	case c.DLQMaxBytes == 0 || c.DLQMaxBytes < -1:
		return fmt.Errorf("STREAM_DLQ_MAX_BYTES: must be positive or -1, not %d", c.DLQMaxBytes)
	}
	return nil
}

// Streams are the configurations of the four streams: the contract's three
// and MENDFLOW_TRACKING.
func (c StreamConfig) Streams() []jetstream.StreamConfig {
	return []jetstream.StreamConfig{
		{
			Name:        events.StreamCommands,
			Description: "mendflow commands waiting for the worker",
			Subjects:    []string{events.SubjectsCommands},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    c.Replicas,
			Duplicates:  c.DedupWindow,
		},
		{
			Name:        events.StreamEvents,
			Description: "mendflow result events.events",
			Subjects:    []string{events.SubjectsEvents},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    c.Replicas,
			MaxAge:      c.EventsMaxAge,
			MaxBytes:    c.EventsMaxBytes,
			Duplicates:  dedupWithin(c.DedupWindow, c.EventsMaxAge),
		},
		{
			Name:        events.StreamDLQ,
			Description: "mendflow commands that gave up, with the reason",
			Subjects:    []string{events.SubjectsDLQ},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    c.Replicas,
			MaxAge:      c.DLQMaxAge,
			MaxBytes:    c.DLQMaxBytes,
			Duplicates:  dedupWithin(c.DedupWindow, c.DLQMaxAge),
		},
		{
			Name:        events.StreamTracking,
			Description: "mendflow processes and plugin requests the poller follows",
			Subjects:    []string{events.SubjectsTracking},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    c.Replicas,
			Duplicates:  c.DedupWindow,
		},
	}
}

// dedupWithin is the duplicate window of a stream whose messages live
// maxAge (0: for ever): JetStream refuses a window longer than the age. The
// worker publishes result events.events and dead letters with a Nats-Msg-Id derived
// from the command, so that one redelivered after a crash between publish
// and ack is not stored twice, however late the redelivery comes.
func dedupWithin(window, maxAge time.Duration) time.Duration {
	if maxAge > 0 && window > maxAge {
		return maxAge
	}
	return window
}

// StreamLookup is what CheckStreams needs of a jetstream.JetStream.
type StreamLookup interface {
	Stream(ctx context.Context, name string) (jetstream.Stream, error)
}

// StreamManager is what EnsureStreams needs of a jetstream.JetStream.
type StreamManager interface {
	StreamLookup
	CreateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error)
}

// EnsureStreams creates the streams that are missing. It never deletes,
// shrinks or recreates a stream that exists: its messages are work not yet
// done or history someone relies on. Another service creating the same
// stream at the same moment is not an error.
func EnsureStreams(ctx context.Context, js StreamManager, cfg StreamConfig) error {
	for _, sc := range cfg.Streams() {
		_, err := js.Stream(ctx, sc.Name)
		if err == nil {
			continue
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("look up stream %s: %w", sc.Name, err)
		}
		if _, err := js.CreateStream(ctx, sc); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("create stream %s: %w", sc.Name, err)
		}
	}
	return nil
}

// CheckStreams reports whether the four streams of Streams exist, for
// readiness probes.
func CheckStreams(ctx context.Context, js StreamLookup) error {
	for _, name := range []string{events.StreamCommands, events.StreamEvents, events.StreamDLQ, events.StreamTracking} {
		if _, err := js.Stream(ctx, name); err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
	}
	return nil
}

// WaitForStreams is EnsureStreams for a service starting: it waits, as
// RetrySetup does, while the failure may pass on its own.
func WaitForStreams(ctx context.Context, js StreamManager, cfg StreamConfig, onRetry func(err error, wait time.Duration)) error {
	return RetrySetup(ctx, onRetry, func(ctx context.Context) error { return EnsureStreams(ctx, js, cfg) })
}

// RetrySetup runs setup, a JetStream set-up step that may run again (it
// creates what is missing, updates what is there), until it succeeds,
// fails for good (SetupMayPass), or ctx ends. It tells onRetry of each
// failure and the wait before the next attempt, which doubles from 250 ms
// to 5 s. A NATS cluster that is still forming has no JetStream leader to
// answer, or too few peers to place 3 replicas, for a few seconds; a
// service started with it must wait, not exit.
func RetrySetup(ctx context.Context, onRetry func(err error, wait time.Duration), setup func(context.Context) error) error {
	for failures := 1; ; failures++ {
		err := setup(ctx)
		if err == nil || ctx.Err() != nil || !SetupMayPass(err) {
			return err
		}
		wait := setupWait(failures)
		onRetry(err, wait)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// setupWait is the wait after the n-th failure in a row of a request to
// JetStream that may pass (1 for the first): 250 ms, doubled each time,
// up to 5 s.
func setupWait(n int) time.Duration {
	wait := 250 * time.Millisecond
	for i := 1; i < n && wait < 5*time.Second; i++ {
		wait *= 2
	}
	return min(wait, 5*time.Second)
}

// SetupMayPass reports whether a failure of a JetStream administrative
// request may pass on its own: the request went unanswered (no server, or
// no JetStream leader yet), or the cluster said it cannot serve it for
// now. A configuration the servers refuse (3 replicas on a single server,
// say) does not pass.
func SetupMayPass(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected) {
		return true
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case jsClusterNoPeers, jsClusterNotAvailable, jsClusterNotLeader, jsClusterIncomplete, jsStreamOffline:
		return true
	}
	return false
}

// JetStream error codes of a cluster not (yet) able to serve a request
// (nats-server's errors.json).
const (
	jsClusterIncomplete   jetstream.ErrorCode = 10004 // "incomplete results"
	jsClusterNoPeers      jetstream.ErrorCode = 10005 // "no suitable peers for placement"
	jsClusterNotAvailable jetstream.ErrorCode = 10008 // "JetStream system temporarily unavailable"
	jsClusterNotLeader    jetstream.ErrorCode = 10009 // "JetStream cluster can not handle request"
	jsStreamOffline       jetstream.ErrorCode = 10118 // "stream is offline"
)

// LogRetry is the onRetry of RetrySetup that the services use: a warning
// for each attempt, so that an operator sees why one is not ready.
func LogRetry(logger *slog.Logger) func(err error, wait time.Duration) {
	return func(err error, wait time.Duration) {
		logger.Warn("JetStream cannot serve the set-up yet; trying again", "error", err.Error(), "retry_in", wait.String())
	}
}
