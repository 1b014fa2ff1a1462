package trail

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/pkg/events"
)

// BenchmarkRecord measures what recording costs a delivery: one record of
// a command that succeeded after three Mend calls and stored its result,
// put in the bucket of an in-process NATS server. It reports the record's
// size and what the bucket's stream stores for 10,000 deliveries.
//
//	go test ./internal/trail -run '^$' -bench Record -benchtime 10000x
func BenchmarkRecord(b *testing.B) {
	ns := natstest.Start(b)
	_, js := ns.Connect()
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, js, bus.StreamConfig{Replicas: 1, DedupWindow: time.Hour, EventsMaxBytes: -1, DLQMaxBytes: -1}); err != nil {
		b.Fatal(err)
	}
	kv, err := OpenBucket(ctx, js, Config{TTL: time.Hour}, 1)
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewRecorder(kv, KindCommand, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	d := delivered(b, js)
	now := time.Now()
	dl := &delivery{started: now, calls: []MendCall{
		{Operation: "getAllProducts", Attempt: 1, Status: http.StatusOK, DurationMS: 1.2},
		{Operation: "createProduct", Attempt: 1, Status: http.StatusOK, DurationMS: 8.4},
		{Operation: "createProject", Attempt: 1, Status: http.StatusOK, DurationMS: 11.9},
	}, stored: []Stored{{Stream: events.StreamEvents, Subject: "mendflow.evt.project.created", Seq: 4242,
		ID: "0f8e6b0e2a9c4d1f8b7a6c5d4e3f2a1b:17:result", Type: "io.mendflow.project.created"}}}
	rctx := context.WithValue(ctx, deliveryKey{}, dl)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		d.Seq = uint64(i + 1)
		r.End(rctx, d, bus.Ending{Outcome: bus.OutcomeSuccess})
	}
	b.StopTimer()
	if got := testutil.ToFloat64(r.failed); got != 0 {
		b.Fatalf("%v records not written", got)
	}
	s, err := js.Stream(ctx, "KV_"+Bucket)
	if err != nil {
		b.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	value, _ := kv.Get(ctx, recordKey("5b1e4e5a-3d4c-4f6e-9a1b-2c3d4e5f6a7b", KindCommand, 1, 1))
	b.ReportMetric(float64(len(value.Value())), "B/record")
	b.ReportMetric(float64(info.State.Bytes)/float64(info.State.Msgs)*10000/1e6, "MB/10k-deliveries")
}

// delivered is a delivery of a command with a correlation id, as the
// worker's runner makes it.
func delivered(b testing.TB, js jetstream.JetStream) *bus.Delivery {
	b.Helper()
	ctx := context.Background()
	e, err := bus.NewEvent("0f8e6b0e2a9c4d1f8b7a6c5d4e3f2a1b", "urn:mendflow:ingest", events.CommandType("project.create"),
		map[string]any{"productName": "acme-corp", "projectName": "payments-api", "createProduct": true})
	if err != nil {
		b.Fatal(err)
	}
	e.SetExtension(events.ExtCorrelationID, "5b1e4e5a-3d4c-4f6e-9a1b-2c3d4e5f6a7b")
	e.SetExtension(events.ExtCausationID, "5b1e4e5a-3d4c-4f6e-9a1b-2c3d4e5f6a7b")
	m, err := bus.ToMsg(events.CommandSubject("project.create"), e)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := js.PublishMsg(ctx, m); err != nil {
		b.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, events.StreamCommands, jetstream.ConsumerConfig{Durable: "delivered", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		b.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		b.Fatal(err)
	}
	meta, err := msg.Metadata()
	if err != nil {
		b.Fatal(err)
	}
	return &bus.Delivery{Msg: msg, Event: e, Attempt: 1, Seq: meta.Sequence.Stream, Published: meta.Timestamp, Label: "project.create"}
}
