package ingest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/routing"
	"github.com/mendflow/mendflow/pkg/events"
)

// ackingPublisher acknowledges every message at once, to measure the
// handler alone.
type ackingPublisher struct{ seq atomic.Uint64 }

func (p *ackingPublisher) PublishMsg(context.Context, *nats.Msg, ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	return &jetstream.PubAck{Stream: events.StreamCommands, Sequence: p.seq.Add(1)}, nil
}

// BenchmarkHandler measures POST /events without the network or NATS, for
// ingest and for the minimal handler of BenchmarkIngest: the difference is
// the CPU and allocations ingest adds to each event.
func BenchmarkHandler(b *testing.B) {
	router, err := routing.New(events.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	tel := benchTelemetry(b)
	cfg := testConfig("nats://unused")
	s := &server{cfg: cfg, router: router, pub: bus.NewPublisher(&ackingPublisher{}, bus.WithMaxHeaderBytes(maxCommandHeaderBytes)), bodies: newBodyBudget(cfg.MaxInflightBytes), writes: &writeHealth{}, metrics: newMetrics(),
		logger: tel.Logger, tracer: tel.Tracer.Tracer("bench"), now: time.Now}
	b.Run("ingest", func(b *testing.B) { benchHandler(b, s.handler()) })
	b.Run("minimal", func(b *testing.B) { benchHandler(b, minimalHandler(&ackingPublisher{})) })
}

func benchHandler(b *testing.B, h http.Handler) {
	body := benchEvent(b)
	var n int64
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		n++
		req := httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(body(n)))
		req.Header.Set("Content-Type", mediaStructured)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	// CPU time, unlike ns/op, hardly moves with the machine's other load.
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e3, "cpu-µs/op")
}
