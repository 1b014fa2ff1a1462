package poller

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// The tests run the poller against an in-process NATS server and the Mend
// simulator over real HTTP, with intervals scaled down so that they take
// milliseconds.

// orgToken is the simulator's demo organization.
const orgToken = mendsim.DefaultOrgToken

// fastConfig follows items with waits of tens of milliseconds.
func fastConfig() Config {
	return Config{
		FirstInterval: 20 * time.Millisecond,
		MaxInterval:   200 * time.Millisecond,
		Multiplier:    2,
		Jitter:        0.1,
		Deadline:      time.Minute,
		UnknownGrace:  time.Minute,
		MaxInFlight:   100_000,
		Concurrency:   8,
		AckWait:       5 * time.Second,
		ShutdownGrace: time.Second,
		FetchWait:     100 * time.Millisecond,
	}
}

// testbed is one NATS server with the mendflow streams, and one simulator.
type testbed struct {
	natsURL string
	js      jetstream.JetStream
	sim     *mendsim.Server
	client  *mend.Client
	seq     atomic.Int64
	// now, when set, is the pollers' clock (stepClock).
	now func() time.Time
}

func newTestbed(t *testing.T, simCfg mendsim.Config) *testbed {
	t.Helper()
	tb := &testbed{natsURL: natstest.Start(t).URL(), sim: mendsim.NewServer(simCfg)}
	t.Cleanup(tb.sim.Close)
	tb.js = tb.connect(t)
	streams := bus.StreamConfig{Replicas: 1, DedupWindow: time.Hour, EventsMaxAge: time.Hour, EventsMaxBytes: -1, DLQMaxAge: time.Hour, DLQMaxBytes: -1}
	if err := bus.EnsureStreams(context.Background(), tb.js, streams); err != nil {
		t.Fatal(err)
	}
	// Quick retries inside the client, as in pkg/mend's own tests; what
	// still fails is the poller's to reschedule.
	retry := mend.DefaultRetryPolicy()
	retry.MaxAttempts, retry.InitialInterval, retry.MaxInterval, retry.MaxElapsed = 2, time.Millisecond, 5*time.Millisecond, time.Second
	var err error
	tb.client, err = mend.NewClient(tb.sim.URL, mend.Secret(mendsim.DefaultUserKey),
		mend.WithUserEmail(mendsim.DefaultUserEmail), mend.WithRetry(retry))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func (tb *testbed) connect(t *testing.T) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(tb.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// running is a poller started by start.
type running struct {
	cancel  context.CancelFunc
	done    chan struct{}
	err     error // of Run, once done is closed
	killed  bool
	nc      *nats.Conn
	metrics *prometheus.Registry
}

// start runs a poller with its own NATS connection until stop, kill or the
// end of the test.
func (tb *testbed) start(t *testing.T, cfg Config) *running {
	t.Helper()
	nc, err := nats.Connect(tb.natsURL)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, js)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(js, NewMendSource(tb.client), cfg, orgToken, slog.New(slog.DiscardHandler), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tb.now != nil {
		p.now = tb.now
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{}), nc: nc, metrics: reg}
	go func() {
		r.err = p.Run(ctx)
		close(r.done)
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stepClock is a clock that reads from, then step later at each reading
// after: one reading per delivery of an item, so that an item's age
// advances by step from one poll to the next however long the server takes
// to deliver it again.
func stepClock(from time.Time, step time.Duration) func() time.Time {
	var n atomic.Int64
	return func() time.Time { return from.Add(time.Duration(n.Add(1)-1) * step) }
}

// stop ends the poller as SIGTERM would, and waits for it to return.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil && !r.killed {
			t.Errorf("Run after stop: %v", r.err)
		}
	case <-time.After(20 * time.Second):
		t.Error("poller did not stop")
	}
	r.nc.Close()
}

// kill ends the poller as a crash would: its connection goes at once,
// without answering the deliveries it holds.
func (r *running) kill() {
	r.killed = true
	r.nc.Close()
	r.cancel()
}

// track hands an item to the pollers as the worker does, on behalf of a
// command answering an incoming event, and returns the Track event.
func (tb *testbed) track(t *testing.T, tr events.Track) event.Event {
	t.Helper()
	n := tb.seq.Add(1)
	if tr.OrgToken == "" {
		tr.OrgToken = orgToken
	}
	if tr.Started.IsZero() {
		tr.Started = time.Now()
	}
	e := event.New()
	e.SetID(fmt.Sprintf("track-%d", n))
	e.SetSource("/mendflow/worker")
	e.SetType(events.TrackType(tr.Kind))
	e.SetExtension(events.ExtCorrelationID, fmt.Sprintf("incoming-%d", n))
	e.SetExtension(events.ExtCausationID, fmt.Sprintf("command-%d", n))
	e.SetExtension(events.ExtTraceparent, fmt.Sprintf("00-%032x-%016x-01", n, n))
	if err := e.SetData(event.ApplicationJSON, tr); err != nil {
		t.Fatal(err)
	}
	msg, err := bus.ToMsg(events.TrackSubject(tr.Kind), e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tb.js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(e.ID())); err != nil {
		t.Fatal(err)
	}
	return e
}

// process starts applying the organization's policies and returns the
// Track item of the process.
func (tb *testbed) process(t *testing.T) events.Track {
	t.Helper()
	p, _, err := tb.client.Policies.ApplyOrganization(context.Background(), orgToken)
	if err != nil {
		t.Fatal(err)
	}
	return events.Track{Kind: events.TrackProcess, ProcessUUID: p.UUID, Scope: "organization", Token: orgToken}
}

// request registers a plugin request ending in outcome and returns its
// Track item.
func (tb *testbed) request(t *testing.T, outcome string) events.Track {
	t.Helper()
	token, err := tb.sim.RegisterRequest(mendsim.PluginRequest{Outcome: outcome})
	if err != nil {
		t.Fatal(err)
	}
	return events.Track{Kind: events.TrackRequest, RequestToken: token}
}

// settle waits until every item has left MENDFLOW_TRACKING, that is, until
// every item's completion is acknowledged and no further event can come,
// and returns all events stored on MENDFLOW_EVENTS.
func (tb *testbed) settle(t *testing.T, timeout time.Duration) []event.Event {
	t.Helper()
	var left uint64
	if !servicetest.Poll(timeout, func() bool { left = streamMsgs(t, tb.js, events.StreamTracking); return left == 0 }) {
		t.Fatalf("%d items still followed after %v", left, timeout)
	}
	return tb.events(t)
}

// streamMsgs is how many messages a stream holds.
func streamMsgs(t testing.TB, js jetstream.JetStream, stream string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State.Msgs
}

// events reads every event stored on MENDFLOW_EVENTS.
func (tb *testbed) events(t *testing.T) []event.Event {
	t.Helper()
	var out []event.Event
	for _, raw := range natstest.StreamMsgs(t, tb.js, events.StreamEvents) {
		e, err := bus.FromMsg(&nats.Msg{Subject: raw.Subject, Header: raw.Header, Data: raw.Data})
		if err != nil {
			t.Fatalf("event %d: %v", raw.Sequence, err)
		}
		if want := events.ResultSubject(e.Type()); raw.Subject != want {
			t.Errorf("event %s on subject %s, want %s", e.Type(), raw.Subject, want)
		}
		out = append(out, e)
	}
	return out
}

// byCause groups completion events by the command they answer, the Track
// item's causationid.
func byCause(evs []event.Event) map[string][]event.Event {
	out := map[string][]event.Event{}
	for _, e := range evs {
		c := events.Extension(e, events.ExtCausationID)
		out[c] = append(out[c], e)
	}
	return out
}

// result is what a test checks of a completion event: its type and data,
// whichever kind it is.
type result struct {
	Type         string
	OrgToken     string `json:"orgToken"`
	Scope        string `json:"scope"`
	Token        string `json:"token"`
	ProcessUUID  string `json:"processUuid"`
	RequestToken string `json:"requestToken"`
	Status       string `json:"status"`
	RequestState string `json:"requestState"`
	Reason       string `json:"reason"`
}

func resultOf(t *testing.T, e event.Event) result {
	t.Helper()
	var r result
	if err := json.Unmarshal(e.Data(), &r); err != nil {
		t.Fatalf("event %s data: %v", e.ID(), err)
	}
	r.Type = e.Type()
	return r
}
