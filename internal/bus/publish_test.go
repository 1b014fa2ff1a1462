package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
)

// gatedPublisher holds every publish until released, counting how many
// are in flight at once.
type gatedPublisher struct {
	mu        sync.Mutex
	inflight  int
	max       int
	published int
	release   chan struct{}
	fail      string // a subject whose publish fails at once
}

func (p *gatedPublisher) PublishMsg(ctx context.Context, msg *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if msg.Subject == p.fail {
		return nil, jetstream.ErrNoStreamResponse
	}
	p.mu.Lock()
	p.inflight++
	p.published++
	p.max = max(p.max, p.inflight)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inflight--
		p.mu.Unlock()
	}()
	select {
	case <-p.release:
		return &jetstream.PubAck{Stream: "S", Duplicate: msg.Subject == "dup"}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *gatedPublisher) inFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inflight
}

func outgoing(n int) []*bus.Outgoing {
	out := make([]*bus.Outgoing, n)
	for i := range out {
		m := nats.NewMsg(fmt.Sprintf("s.%d", i))
		m.Header.Set(jetstream.MsgIDHeader, fmt.Sprint(i))
		out[i] = &bus.Outgoing{Msg: m}
	}
	return out
}

func TestPublishAllIsConcurrentAndBounded(t *testing.T) {
	t.Parallel()
	const bound = 64 // maxConcurrentPublishes
	p := &gatedPublisher{release: make(chan struct{})}
	out := outgoing(150)
	out[7].Msg.Subject = "dup"
	done := make(chan error, 1)
	go func() { done <- bus.NewPublisher(p).PublishAll(t.Context(), out) }()

	if !servicetest.Poll(5*time.Second, func() bool { return p.inFlight() >= bound }) {
		t.Fatalf("only %d publishes in flight at once, want %d", p.inFlight(), bound)
	}
	close(p.release)
	if err := <-done; err != nil {
		t.Fatalf("PublishAll: %v", err)
	}
	if p.max != bound {
		t.Errorf("at most %d publishes in flight, want %d", p.max, bound)
	}
	for i, o := range out {
		if o.Ack == nil || o.Ack.Duplicate != (i == 7) {
			t.Errorf("message %d: ack %+v", i, o.Ack)
		}
	}
}

func TestPublishAllStopsAtTheFirstFailure(t *testing.T) {
	t.Parallel()
	p := &gatedPublisher{release: make(chan struct{}), fail: "s.3"}
	err := bus.NewPublisher(p).PublishAll(t.Context(), outgoing(10))
	var pubErr *bus.PublishError
	if !errors.Is(err, jetstream.ErrNoStreamResponse) || !errors.As(err, &pubErr) || pubErr.What != "s.3" {
		t.Fatalf("PublishAll = %v, want the failed publish's error, naming s.3", err)
	}
}

// TestPublishAllTooLargeStoresNothing: a request's commands go all or
// none as far as sizes go: one over a limit is refused before any other
// is published.
func TestPublishAllTooLargeStoresNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []bus.PublisherOption
		grow    func(m *nats.Msg)
		wantErr string
	}{
		{
			name: "headers over the publisher's limit", opts: []bus.PublisherOption{bus.WithMaxHeaderBytes(1024)},
			grow:    func(m *nats.Msg) { m.Header.Set("ce-correlationid", strings.Repeat("c", 1024)) },
			wantErr: "over the limit of 1024 bytes",
		},
		{
			name: "headers over what JetStream stores", opts: []bus.PublisherOption{bus.WithMaxHeaderBytes(1 << 20)},
			grow:    func(m *nats.Msg) { m.Header.Set("ce-correlationid", strings.Repeat("c", bus.MaxHeaderBytes)) },
			wantErr: fmt.Sprintf("over the %d JetStream stores", bus.MaxHeaderBytes),
		},
		{
			name: "over the server's max_payload", opts: []bus.PublisherOption{bus.WithMaxPayload(4096)},
			grow:    func(m *nats.Msg) { m.Data = make([]byte, 4096) },
			wantErr: "over the NATS max_payload of 4096: " + nats.ErrMaxPayload.Error(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &gatedPublisher{release: make(chan struct{})}
			close(p.release)
			out := outgoing(5)
			tt.grow(out[3].Msg)
			err := bus.NewPublisher(p, tt.opts...).PublishAll(t.Context(), out)
			if !bus.TooLarge(err) || !strings.Contains(fmt.Sprint(err), tt.wantErr) {
				t.Errorf("PublishAll = %v, want too large, saying %q", err, tt.wantErr)
			}
			if p.published != 0 {
				t.Errorf("%d messages published, want none", p.published)
			}
		})
	}
}

// TestPublishOnARealServer: a message is stored once whatever how often
// it is published; a refusal reads as the server gave it, once prefixed.
func TestPublishOnARealServer(t *testing.T) {
	t.Parallel()
	_, js := natstest.Start(t).Connect()
	if err := bus.EnsureStreams(t.Context(), js, testStreams); err != nil {
		t.Fatal(err)
	}
	pub := bus.NewPublisher(js)
	for i, wantDup := range []bool{false, true} {
		m := nats.NewMsg(events.DLQSubject("x"))
		m.Header.Set(jetstream.MsgIDHeader, "same")
		ack, err := pub.Publish(t.Context(), m)
		if err != nil {
			t.Fatal(err)
		}
		if ack.Duplicate != wantDup {
			t.Errorf("publish %d: duplicate %v, want %v", i+1, ack.Duplicate, wantDup)
		}
	}

	// A sealed stream refuses every message: the server's error, unwrapped
	// of jetstream's second "nats: ".
	s, err := js.Stream(t.Context(), events.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.Sealed = true
	if _, err := js.UpdateStream(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	_, err = pub.Publish(t.Context(), nats.NewMsg(events.DLQSubject("x")))
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("publish to a sealed stream = %v, want JetStream's refusal", err)
	}
	if text := err.Error(); strings.Contains(text, "nats: nats:") || !strings.HasPrefix(text, "publishing "+events.DLQSubject("x")+": nats: API error") {
		t.Errorf("error %q, want %q then the server's error once", text, "publishing "+events.DLQSubject("x"))
	}
}

// TestPublishEventChains: an event answering another continues its chain
// and the trace of the span publishing it; one continuing a Track item
// carries its chain on as it is; one on its own starts a chain.
func TestPublishEventChains(t *testing.T) {
	t.Parallel()
	_, js := natstest.Start(t).Connect()
	if err := bus.EnsureStreams(t.Context(), js, testStreams); err != nil {
		t.Fatal(err)
	}
	pub := bus.NewPublisher(js)
	cause := event.New()
	cause.SetID("cmd-1")
	cause.SetSource("/test")
	cause.SetType("io.mendflow.command.product.create")
	cause.SetExtension(events.ExtCorrelationID, "incoming-1")
	cause.SetExtension(events.ExtCausationID, "incoming-1")
	cause.SetExtension(events.ExtTraceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	span := trace.SpanContextFromContext(trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9}, SpanID: trace.SpanID{0x01}, TraceFlags: trace.FlagsSampled,
	})))
	ctx := trace.ContextWithSpanContext(t.Context(), span)

	tests := []struct {
		name string
		link bus.Link
		want map[string]string
	}{
		{"answering", bus.Answering(cause), map[string]string{
			events.ExtCorrelationID: "incoming-1", events.ExtCausationID: "cmd-1",
			events.ExtTraceparent: "00-4bf9" + strings.Repeat("0", 28) + "-0100000000000000-01",
		}},
		{"continuing", bus.Continuing(cause), map[string]string{
			events.ExtCorrelationID: "incoming-1", events.ExtCausationID: "incoming-1",
			events.ExtTraceparent: "00-4bf9" + strings.Repeat("0", 28) + "-0100000000000000-01",
		}},
		{"starting", bus.Link{}, map[string]string{
			events.ExtCorrelationID: "", events.ExtCausationID: "",
			events.ExtTraceparent: "00-4bf9" + strings.Repeat("0", 28) + "-0100000000000000-01",
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("result-%d", i)
			if tt.want[events.ExtCorrelationID] == "" {
				tt.want[events.ExtCorrelationID] = id
			}
			e, err := bus.NewEvent(id, "/test", events.TypeProductCreated, map[string]string{"productName": "p"})
			if err != nil {
				t.Fatal(err)
			}
			ack, err := pub.PublishEvent(ctx, events.ResultSubject(e.Type()), e, tt.link)
			if err != nil {
				t.Fatal(err)
			}
			s, err := js.Stream(t.Context(), events.StreamEvents)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := s.GetMsg(t.Context(), ack.Sequence)
			if err != nil {
				t.Fatal(err)
			}
			stored, err := bus.FromMsg(&nats.Msg{Subject: raw.Subject, Header: raw.Header, Data: raw.Data})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for ext := range tt.want {
				got[ext] = events.Extension(stored, ext)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("extensions (-want, +got):\n%s", diff)
			}
			if msgID := raw.Header.Get(jetstream.MsgIDHeader); msgID != id {
				t.Errorf("Nats-Msg-Id %q, want the event's id %q", msgID, id)
			}
		})
	}
}
