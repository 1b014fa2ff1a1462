package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sethvargo/go-envconfig"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/config"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/internal/telemetry"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// continuesTrace reports whether tp is a traceparent of the test's trace
// from a span of its own: the worker's, or its Mend call's.
func continuesTrace(tp string) bool {
	parts := strings.Split(tp, "-")
	return len(parts) == 4 && parts[1] == "4bf92f3577b34da6a3ce929d0e0e4736" && parts[2] != "00f067aa0ba902b7"
}

// harness is one NATS server, one simulator, and the environment of
// workers run against them, with timings tight enough for tests.
type harness struct {
	t       testing.TB
	nats    *natstest.Server
	natsURL string
	sim     *mendsim.Server
	js      jetstream.JetStream
	env     map[string]string
	logs    *servicetest.Logs
	spans   *tracetest.SpanRecorder // of every worker started
	seq     atomic.Int64
}

func newHarness(t testing.TB, env map[string]string) *harness {
	t.Helper()
	ns := natstest.Start(t)
	h := &harness{t: t, nats: ns, natsURL: ns.URL(), logs: &servicetest.Logs{}, spans: tracetest.NewSpanRecorder()}
	h.sim = mendsim.NewServer(mendsim.Config{ProcessDuration: 50 * time.Millisecond})
	t.Cleanup(h.sim.Close)
	_, h.js = ns.Connect()
	h.env = map[string]string{
		"NATS_URL":              h.natsURL,
		"MEND_URL":              h.sim.URL,
		"MEND_USER_KEY":         mendsim.DefaultUserKey,
		"MEND_USER_EMAIL":       mendsim.DefaultUserEmail,
		"MEND_ORG_TOKEN":        h.sim.OrgToken(),
		"MEND_RATE_LIMIT":       "0",
		"MEND_RETRY_ATTEMPTS":   "1", // retries are the worker's here
		"MEND_TIMEOUT":          "10s",
		"WORKER_ADDR":           "127.0.0.1:0",
		"WORKER_ACK_WAIT":       "1s",
		"WORKER_FETCH_WAIT":     "100ms",
		"WORKER_RETRY_BASE":     "20ms",
		"WORKER_RETRY_MAX":      "200ms",
		"WORKER_NOT_FOUND_WAIT": "1s",
		"WORKER_SHUTDOWN_GRACE": "5s",
	}
	maps.Copy(h.env, env)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := bus.EnsureStreams(ctx, h.js, bus.StreamConfig{Replicas: 1, DedupWindow: time.Hour, EventsMaxAge: time.Hour, EventsMaxBytes: -1, DLQMaxBytes: -1}); err != nil {
		t.Fatal(err)
	}
	return h
}

// withSim replaces the harness's simulator, before any worker starts,
// by one of cfg.
func (h *harness) withSim(cfg mendsim.Config) {
	h.t.Helper()
	h.sim.Close()
	h.sim = mendsim.NewServer(cfg)
	h.t.Cleanup(h.sim.Close)
	h.env["MEND_URL"] = h.sim.URL
}

// worker is a worker started by the harness.
type worker struct {
	addr string
	stop func() error // cancel its context, as SIGTERM does, and wait for it
}

// startWorker runs run with the harness's environment and extra.
func (h *harness) startWorker(extra map[string]string) worker {
	h.t.Helper()
	env := maps.Clone(h.env)
	maps.Copy(env, extra)
	tel := app.Telemetry{
		Logger: slog.New(telemetry.TraceHandler{Handler: slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})}),
		Tracer: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans)),
	}
	addr, cancel, done := servicetest.Start(h.t, func(ctx context.Context, listening func(string)) error {
		tel.OnListen = listening
		return Run(ctx, envconfig.MapLookuper(env), tel)
	})
	servicetest.WaitReady(h.t, addr, 10*time.Second)
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(20 * time.Second):
				stopErr = errors.New("worker did not stop")
			}
		})
		return stopErr
	}
	h.t.Cleanup(func() { _ = stop() })
	return worker{addr: addr, stop: stop}
}

// settings are the worker's settings from the harness's environment.
func (h *harness) settings() settings {
	h.t.Helper()
	var cfg settings
	if err := config.Load(h.t.Context(), envconfig.MapLookuper(h.env), &cfg); err != nil {
		h.t.Fatal(err)
	}
	return cfg
}

// command builds a command event with fresh id, a correlation id and a
// trace.
func (h *harness) command(name string, data any) event.Event {
	h.t.Helper()
	e := event.New()
	e.SetID(fmt.Sprintf("cmd-%d", h.seq.Add(1)))
	e.SetSource("/test")
	e.SetType(events.CommandType(name))
	e.SetTime(time.Now())
	if err := e.SetData(event.ApplicationJSON, data); err != nil {
		h.t.Fatal(err)
	}
	e.SetExtension(events.ExtCorrelationID, "corr-"+e.ID())
	e.SetExtension(events.ExtTraceparent, traceparent)
	return e
}

// publish stores a command on its subject, with its id as Nats-Msg-Id
// unless msgID says otherwise.
func (h *harness) publish(e event.Event, msgID string) {
	h.t.Helper()
	name, _ := events.CommandName(e.Type())
	m, err := bus.ToMsg(events.CommandSubject(name), e)
	if err != nil {
		h.t.Fatal(err)
	}
	if msgID == "" {
		msgID = e.ID()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := h.js.PublishMsg(ctx, m, jetstream.WithMsgID(msgID)); err != nil {
		h.t.Fatalf("publishing %s: %v", name, err)
	}
}

// send builds and publishes a command and returns it.
func (h *harness) send(name string, data any) event.Event {
	h.t.Helper()
	e := h.command(name, data)
	h.publish(e, "")
	return e
}

// streamMsgs returns every message stored on a stream.
func (h *harness) streamMsgs(stream string) []*jetstream.RawStreamMsg {
	h.t.Helper()
	return natstest.StreamMsgs(h.t, h.js, stream)
}

// events returns the events stored on a stream, decoded.
func (h *harness) events(stream string) []event.Event {
	h.t.Helper()
	var out []event.Event
	for _, m := range h.streamMsgs(stream) {
		e, err := bus.FromMsg(&nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data})
		if err != nil {
			h.t.Fatalf("%s seq %d: %v", stream, m.Sequence, err)
		}
		out = append(out, e)
	}
	return out
}

// answers returns the events on MENDFLOW_EVENTS caused by command id.
func (h *harness) answers(id string) []event.Event {
	h.t.Helper()
	var out []event.Event
	for _, e := range h.events(events.StreamEvents) {
		if events.Extension(e, events.ExtCausationID) == id {
			out = append(out, e)
		}
	}
	return out
}

// waitAnswer waits for the first event answering command id.
func (h *harness) waitAnswer(id string, within time.Duration) event.Event {
	h.t.Helper()
	var got []event.Event
	servicetest.Eventually(h.t, within, func() bool {
		got = h.answers(id)
		return len(got) > 0
	}, "an event answering "+id)
	return got[0]
}

// twoAnswers waits for the two answers to cmd, stored twice, and checks
// that both are of type typ and that exactly one says flag, the result's
// field telling that this delivery made the change ("": none is checked).
func (h *harness) twoAnswers(cmd event.Event, typ, flag string) []event.Event {
	h.t.Helper()
	var got []event.Event
	servicetest.Eventually(h.t, 15*time.Second, func() bool { got = h.answers(cmd.ID()); return len(got) == 2 }, "two answers")
	changed := 0
	for _, e := range got {
		if e.Type() != typ {
			h.t.Fatalf("answer %s %s, want %s", e.Type(), e.Data(), typ)
		}
		if data(h.t, e)[flag] == true {
			changed++
		}
	}
	if flag != "" && changed != 1 {
		h.t.Errorf("%d answers say %s, want exactly one", changed, flag)
	}
	return got
}

// commandsLeft is how many commands wait in MENDFLOW_COMMANDS.
func (h *harness) commandsLeft() uint64 {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := h.js.Stream(ctx, events.StreamCommands)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return info.State.Msgs
}

// okCalls counts the simulator's successful calls of op.
func (h *harness) okCalls(op string) int {
	n := 0
	for _, c := range h.sim.CallsOf(op) {
		if c.OK() {
			n++
		}
	}
	return n
}

// retried reports whether a worker has logged that the command with the
// given id will be retried: it was tried and handed back for later.
func (h *harness) retried(id string) bool {
	for l := range strings.Lines(h.logs.String()) {
		if strings.Contains(l, `msg="command will be retried"`) && strings.Contains(l, " event_id="+id+" ") {
			return true
		}
	}
	return false
}

// waitForMetrics scrapes the worker at addr until its metrics hold every
// line of want: a delivery is counted once it has ended, after its events
// are stored.
func waitForMetrics(t *testing.T, addr string, want ...string) string {
	t.Helper()
	var metrics string
	var missing []string
	servicetest.Poll(10*time.Second, func() bool {
		metrics = get(t, addr, "/metrics")
		missing = missing[:0]
		for _, w := range want {
			if !strings.Contains(metrics, w) {
				missing = append(missing, w)
			}
		}
		return len(missing) == 0
	})
	for _, w := range missing {
		t.Errorf("metrics lack %s", w)
	}
	return metrics
}

// data decodes an event's JSON data into a map.
func data(t testing.TB, e event.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Data(), &m); err != nil {
		t.Fatalf("event %s data: %v", e.ID(), err)
	}
	return m
}
