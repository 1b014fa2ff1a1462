package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/pkg/events"
)

var testStreams = bus.StreamConfig{
	Replicas:       1,
	DedupWindow:    time.Hour,
	EventsMaxAge:   48 * time.Hour,
	EventsMaxBytes: 1 << 20,
	DLQMaxAge:      72 * time.Hour,
	DLQMaxBytes:    -1,
}

// CheckStreams, the readiness probe, misses none of the streams that
// EnsureStreams creates.
func TestCheckStreamsChecksEveryStream(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, js := natstest.Start(t).Connect()
	for _, sc := range testStreams.Streams() {
		if err := bus.EnsureStreams(ctx, js, testStreams); err != nil {
			t.Fatalf("EnsureStreams: %v", err)
		}
		if err := js.DeleteStream(ctx, sc.Name); err != nil {
			t.Fatal(err)
		}
		if err := bus.CheckStreams(ctx, js); !errors.Is(err, jetstream.ErrStreamNotFound) || !strings.Contains(err.Error(), sc.Name) {
			t.Errorf("CheckStreams without %s = %v, want ErrStreamNotFound naming it", sc.Name, err)
		}
	}
}

func TestEnsureStreams(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, js := natstest.Start(t).Connect()

	if err := bus.CheckStreams(ctx, js); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("CheckStreams before = %v, want ErrStreamNotFound", err)
	}
	// An operator made MENDFLOW_EVENTS by hand, smaller, and it holds data.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: events.StreamEvents, Subjects: []string{"mendflow.evt.>"}, MaxAge: time.Hour, Storage: jetstream.FileStorage,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "mendflow.evt.project.created", []byte("kept")); err != nil {
		t.Fatal(err)
	}

	for range 2 { // the second run finds everything in place
		if err := bus.EnsureStreams(ctx, js, testStreams); err != nil {
			t.Fatalf("EnsureStreams: %v", err)
		}
	}
	if err := bus.CheckStreams(ctx, js); err != nil {
		t.Fatalf("CheckStreams after: %v", err)
	}

	type summary struct {
		Subjects   []string
		Retention  jetstream.RetentionPolicy
		Storage    jetstream.StorageType
		Replicas   int
		Duplicates time.Duration
		MaxAge     time.Duration
		MaxBytes   int64
		Msgs       uint64
	}
	want := map[string]summary{
		events.StreamCommands: {[]string{"mendflow.cmd.>"}, jetstream.WorkQueuePolicy, jetstream.FileStorage, 1, time.Hour, 0, -1, 0},
		// Left as it was: not reconfigured, not recreated, data kept.
		events.StreamEvents: {[]string{"mendflow.evt.>"}, jetstream.LimitsPolicy, jetstream.FileStorage, 1, 2 * time.Minute, time.Hour, -1, 1},
		// A dead letter or result published twice after a crash is stored once.
		events.StreamDLQ:      {[]string{"mendflow.dlq.>"}, jetstream.LimitsPolicy, jetstream.FileStorage, 1, time.Hour, 72 * time.Hour, -1, 0},
		events.StreamTracking: {[]string{"mendflow.track.>"}, jetstream.WorkQueuePolicy, jetstream.FileStorage, 1, time.Hour, 0, -1, 0},
	}
	for name, w := range want {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c := info.Config
		got := summary{c.Subjects, c.Retention, c.Storage, c.Replicas, c.Duplicates, c.MaxAge, c.MaxBytes, info.State.Msgs}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("stream %s (-want, +got):\n%s", name, diff)
		}
	}
}

func TestEnsureStreamsFails(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	_, js := srv.Connect()
	srv.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := bus.EnsureStreams(ctx, js, testStreams); err == nil || !strings.Contains(err.Error(), "MENDFLOW_COMMANDS") {
		t.Errorf("EnsureStreams without a server = %v, want an error naming the stream", err)
	}
}

// A service started before JetStream answers waits for it and then creates
// the streams; one whose configuration the server refuses fails at once.
func TestWaitForStreams(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	_, js := srv.Connect()
	srv.Stop()

	retried := make(chan error, 100)
	done := make(chan error, 1)
	go func() {
		done <- bus.WaitForStreams(t.Context(), js, testStreams, func(err error, _ time.Duration) { retried <- err })
	}()
	select {
	case err := <-retried:
		if !bus.SetupMayPass(err) {
			t.Errorf("retried after %v, which SetupMayPass calls permanent", err)
		}
	case err := <-done:
		t.Fatalf("WaitForStreams without a server returned %v, want it to wait", err)
	}
	srv.Restart()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("WaitForStreams after the server came back: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("WaitForStreams still waiting 30s after the server came back")
	}
	if err := bus.CheckStreams(t.Context(), js); err != nil {
		t.Fatal(err)
	}

	// Three replicas on a single server: refused, and refused again later.
	_, js = natstest.Start(t).Connect()
	r3 := testStreams
	r3.Replicas = 3
	err := bus.WaitForStreams(t.Context(), js, r3, func(err error, _ time.Duration) {
		t.Errorf("retried after %v, which does not pass", err)
	})
	if err == nil || bus.SetupMayPass(err) {
		t.Errorf("WaitForStreams with 3 replicas on one server = %v, want a permanent error", err)
	}
}

func TestStreamConfigValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		edit    func(*bus.StreamConfig)
		wantErr string
	}{
		{name: "defaults", edit: func(*bus.StreamConfig) {}},
		{name: "no replicas", edit: func(c *bus.StreamConfig) { c.Replicas = 0 }, wantErr: "STREAM_REPLICAS"},
		{name: "too many replicas", edit: func(c *bus.StreamConfig) { c.Replicas = 7 }, wantErr: "STREAM_REPLICAS"},
		{name: "no dedup window", edit: func(c *bus.StreamConfig) { c.DedupWindow = 0 }, wantErr: "STREAM_DEDUP_WINDOW"},
		{name: "negative age", edit: func(c *bus.StreamConfig) { c.EventsMaxAge = -time.Second }, wantErr: "STREAM_EVENTS_MAX_AGE"},
		{name: "zero bytes", edit: func(c *bus.StreamConfig) { c.EventsMaxBytes = 0 }, wantErr: "STREAM_EVENTS_MAX_BYTES"},
		{name: "dlq age", edit: func(c *bus.StreamConfig) { c.DLQMaxAge = -1 }, wantErr: "STREAM_DLQ_MAX_AGE"},
		{name: "dlq bytes", edit: func(c *bus.StreamConfig) { c.DLQMaxBytes = -2 }, wantErr: "STREAM_DLQ_MAX_BYTES"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := testStreams
			tc.edit(&c)
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr+":") {
				t.Errorf("Validate = %v, want an error starting with %s", err, tc.wantErr)
			}
		})
	}
}

// TestCommandThroughJetStream is the path of a command: ingest publishes
// it with ToMsg, the worker fetches it, maps it back with FromMsg and
// decodes its data with the registry.
func TestCommandThroughJetStream(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, js := natstest.Start(t).Connect()
	if err := bus.EnsureStreams(ctx, js, testStreams); err != nil {
		t.Fatal(err)
	}
	cmd := event.New()
	cmd.SetID("c-1")
	cmd.SetSource("urn:mendflow:ingest")
	cmd.SetType(events.CommandType(events.CommandProjectReassign))
	cmd.SetExtension(events.ExtCorrelationID, "gh-delivery-1")
	if err := cmd.SetData(event.ApplicationJSON, []byte(`{"productName":"jdoe","projectName":"ledger-tools","newProductName":"acme-corp"}`)); err != nil {
		t.Fatal(err)
	}
	msg, err := bus.ToMsg(events.CommandSubject(events.CommandProjectReassign), cmd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID("c-1")); err != nil {
		t.Fatal(err)
	}

	cons, err := js.CreateConsumer(ctx, events.StreamCommands, jetstream.ConsumerConfig{Durable: "worker", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject() != "mendflow.cmd.project.reassign" {
		t.Errorf("subject = %q", got.Subject())
	}
	e, err := bus.FromJetStreamMsg(got)
	if err != nil {
		t.Fatalf("FromJetStreamMsg: %v", err)
	}
	if e.ID() != "c-1" || events.Extension(e, events.ExtCorrelationID) != "gh-delivery-1" {
		t.Errorf("event = %v, want id c-1 and correlationid gh-delivery-1", e)
	}
	decoded, err := events.NewRegistry().DecodeEvent(e)
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	want := events.Command{Name: events.CommandProjectReassign, Data: &events.ProjectReassign{
		ProjectRef:     events.ProjectRef{ProductName: "jdoe", ProjectName: "ledger-tools"},
		NewProductName: "acme-corp",
	}}
	if diff := cmp.Diff(want, decoded); diff != "" {
		t.Errorf("DecodeEvent (-want, +got):\n%s", diff)
	}
	if err := got.Ack(); err != nil {
		t.Fatal(err)
	}
}

// RetrySetup tries again what may pass, gives up at once on what does not,
// and stops when its context ends.
func TestRetrySetup(t *testing.T) {
	t.Parallel()
	unavailable := &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}
	calls, retries := 0, 0
	err := bus.RetrySetup(t.Context(), func(error, time.Duration) { retries++ }, func(context.Context) error {
		if calls++; calls < 3 {
			return fmt.Errorf("bucket: %w", unavailable)
		}
		return nil
	})
	if err != nil || calls != 3 || retries != 2 {
		t.Errorf("RetrySetup = %v after %d calls, %d retries; want success on the third call", err, calls, retries)
	}

	refused := &jetstream.APIError{Code: 500, ErrorCode: 10074, Description: "replicas > 1 not supported in non-clustered mode"}
	calls = 0
	err = bus.RetrySetup(t.Context(), func(error, time.Duration) { t.Error("retried a refused configuration") }, func(context.Context) error {
		calls++
		return refused
	})
	if !errors.Is(err, refused) || calls != 1 {
		t.Errorf("RetrySetup of a refused configuration = %v after %d calls, want it returned at once", err, calls)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err = bus.RetrySetup(ctx, func(error, time.Duration) {}, func(context.Context) error { return unavailable })
	if !errors.Is(err, unavailable) || ctx.Err() == nil {
		t.Errorf("RetrySetup = %v, want the last failure once its context ended", err)
	}
}

func TestStreamsDeduplicateWorkerOutput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     bus.StreamConfig
		wantDup map[string]string
	}{
		{
			name:    "window shorter than the age",
			cfg:     bus.StreamConfig{Replicas: 1, DedupWindow: 24 * 3600e9, EventsMaxAge: 168 * 3600e9, DLQMaxAge: 0},
			wantDup: map[string]string{events.StreamEvents: "24h0m0s", events.StreamDLQ: "24h0m0s"},
		},
		{
			name:    "age shorter than the window",
			cfg:     bus.StreamConfig{Replicas: 1, DedupWindow: 24 * 3600e9, EventsMaxAge: 3600e9, DLQMaxAge: 3600e9},
			wantDup: map[string]string{events.StreamEvents: "1h0m0s", events.StreamDLQ: "1h0m0s"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := map[string]string{}
			for _, sc := range tt.cfg.Streams() {
				if _, ok := tt.wantDup[sc.Name]; ok {
					got[sc.Name] = sc.Duplicates.String()
				}
			}
			if diff := cmp.Diff(tt.wantDup, got); diff != "" {
				t.Errorf("Duplicates (-want, +got):\n%s", diff)
			}
		})
	}
}
