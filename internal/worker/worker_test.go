package worker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// productToken returns the simulator's token of a product of the demo
// organization, or "".
func productToken(t *testing.T, h *harness, name string) string {
	t.Helper()
	c, err := mend.NewClient(h.sim.URL, mendsim.DefaultUserKey)
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := c.Products.List(context.Background(), &mend.GetAllProductsRequest{OrgToken: h.sim.OrgToken()})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range resp.Products {
		if p.ProductName == name {
			return p.ProductToken
		}
	}
	return ""
}

func TestResultEventCarriesTheChain(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.startWorker(nil)

	cmd := h.send(events.CommandProductCreate, events.ProductCreate{ProductName: "payments"})
	got := h.waitAnswer(cmd.ID(), 10*time.Second)
	calls := h.sim.Calls() // the worker's, before the test asks Mend itself

	want := map[string]any{
		"type":                  events.TypeProductCreated,
		"source":                source,
		events.ExtCausationID:   cmd.ID(),
		events.ExtCorrelationID: "corr-" + cmd.ID(),
		"continues the trace":   true,
	}
	have := map[string]any{
		"type":                  got.Type(),
		"source":                got.Source(),
		events.ExtCausationID:   events.Extension(got, events.ExtCausationID),
		events.ExtCorrelationID: events.Extension(got, events.ExtCorrelationID),
		"continues the trace":   continuesTrace(events.Extension(got, events.ExtTraceparent)),
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("result event attributes (-want, +got):\n%s", diff)
	}
	wantData := map[string]any{
		"orgToken": h.sim.OrgToken(), "productName": "payments",
		"productToken": productToken(t, h, "payments"), "created": true,
	}
	if diff := cmp.Diff(wantData, data(t, got)); diff != "" {
		t.Errorf("result data (-want, +got):\n%s", diff)
	}
	// The Mend calls carry the trace on, each from a client span of its own.
	if len(calls) == 0 {
		t.Fatal("no Mend calls")
	}
	for _, c := range calls {
		if !continuesTrace(c.Traceparent) || c.Traceparent == events.Extension(got, events.ExtTraceparent) {
			t.Errorf("Mend call %s traceparent %q, want a span of trace 4bf92f35… of its own", c.Op, c.Traceparent)
		}
	}
	// The log line of the command names it, its chain and its trace.
	servicetest.Eventually(t, 5*time.Second, func() bool { return h.commandsLeft() == 0 }, "the command to be acknowledged")
	var line string
	for l := range strings.Lines(h.logs.String()) {
		if strings.Contains(l, "command done") && strings.Contains(l, "event_id="+cmd.ID()) {
			line = l
		}
	}
	for _, want := range []string{"command=product.create", "correlation_id=corr-" + cmd.ID(), "trace_id=4bf92f3577b34da6a3ce929d0e0e4736"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %s", line, want)
		}
	}
}

// TestSameCommandTwice stores one command twice, as a publisher retrying
// past the deduplication window would: Mend sees one change, and both
// deliveries report the same outcome.
func TestSameCommandTwice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		command string
		data    any
		// op is the mutating request type that must run once.
		op      string
		flag    string // the result's "changed" field
		wantTyp string
	}{
		{"product.create", events.CommandProductCreate, events.ProductCreate{ProductName: "twice"}, mend.ReqCreateProduct, "created", events.TypeProductCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			cmd := h.command(tt.command, tt.data)
			h.publish(cmd, "first")
			h.publish(cmd, "second")
			h.startWorker(nil)
			h.twoAnswers(cmd, tt.wantTyp, tt.flag)
			if n := h.okCalls(tt.op); n != 1 {
				t.Errorf("%s succeeded %d times in Mend, want once", tt.op, n)
			}
		})
	}
}

// TestTransientFaultsEndInSuccess: rate limits, server errors and Mend's
// sporadic 3000 are waited out, by the worker's own redeliveries (the
// client's quick retries are off here). A 429 pauses the organization:
// the command waits for Mend, and spends no attempt.
func TestTransientFaultsEndInSuccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fault  mendsim.Fault
		reason string
	}{
		{"429 with Retry-After", mendsim.Fault{Op: mend.ReqCreateProduct, Status: 429, RetryAfter: time.Second, Count: 2}, "mend unavailable"},
		{"503", mendsim.Fault{Op: mend.ReqCreateProduct, Status: 503, Count: 2}, "transient"},
		{"error 3000", mendsim.Fault{Op: mend.ReqCreateProduct, ErrorCode: mend.CodeInvalidParameters, Count: 2}, "transient"},
		{"dropped connection", mendsim.Fault{Op: mend.ReqCreateProduct, Drop: true, Count: 2}, "transient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			if err := h.sim.SetFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			w := h.startWorker(nil)
			start := time.Now()
			cmd := h.send(events.CommandProductCreate, events.ProductCreate{ProductName: "flaky"})
			got := h.waitAnswer(cmd.ID(), 15*time.Second)
			if got.Type() != events.TypeProductCreated || data(t, got)["created"] != true {
				t.Fatalf("answer %s %s, want a product created", got.Type(), got.Data())
			}
			calls := h.sim.CallsOf(mend.ReqCreateProduct)
			if len(calls) != 3 || h.okCalls(mend.ReqCreateProduct) != 1 {
				t.Errorf("createProduct calls %d (%d OK), want 2 faulted then 1 OK", len(calls), h.okCalls(mend.ReqCreateProduct))
			}
			if tt.fault.RetryAfter > 0 && time.Since(start) < 2*tt.fault.RetryAfter {
				t.Errorf("done after %v: Retry-After %v was not honoured twice", time.Since(start), tt.fault.RetryAfter)
			}
			if n := len(h.streamMsgs(events.StreamDLQ)); n != 0 {
				t.Errorf("%d dead letters, want none", n)
			}
			metrics := get(t, w.addr, "/metrics")
			if !strings.Contains(metrics, `mendflow_worker_retries_total{command="product.create",reason="`+tt.reason+`"} 2`) {
				t.Errorf("metrics do not count two retries:\n%s", grep(metrics, "retries"))
			}
		})
	}
}

func TestGivingUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		env          map[string]string
		fault        *mendsim.Fault
		data         any
		wantReason   string
		wantAttempts int
		wantCalls    int    // createProduct calls
		wantInError  string // in the error of the failed event and the dead letter
	}{
		{
			name:  "5001 is permanent: one attempt",
			fault: &mendsim.Fault{Op: mend.ReqCreateProduct, ErrorCode: mend.CodeNotAllowed},
			data:  events.ProductCreate{ProductName: "forbidden"}, wantReason: events.FailPermanent, wantAttempts: 1, wantCalls: 1,
		},
		{
			name:  "attempts spent",
			env:   map[string]string{"WORKER_MAX_ATTEMPTS": "3"},
			fault: &mendsim.Fault{Op: mend.ReqCreateProduct, Status: 503},
			data:  events.ProductCreate{ProductName: "down"}, wantReason: events.FailAttemptsSpent, wantAttempts: 3, wantCalls: 3,
		},
		{
			// The answer quotes the request, the user key with it; no
			// trace of the key may remain (assertNoSecret).
			name:  "an answer quoting the request",
			fault: &mendsim.Fault{Op: mend.ReqCreateProduct, Status: 400, Echo: true},
			data:  events.ProductCreate{ProductName: "quoted"}, wantReason: events.FailPermanent, wantAttempts: 1, wantCalls: 1,
			wantInError: `"userKey":"[redacted]"`,
		},
		{
			name: "invalid data never reaches Mend",
			data: map[string]any{"productname": "typo"}, wantReason: events.FailInvalid, wantAttempts: 1, wantCalls: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.env)
			if tt.fault != nil {
				if err := h.sim.SetFault(*tt.fault); err != nil {
					t.Fatal(err)
				}
			}
			w := h.startWorker(nil)
			cmd := h.send(events.CommandProductCreate, tt.data)
			got := h.waitAnswer(cmd.ID(), 10*time.Second)
			if got.Type() != events.TypeCommandFailed {
				t.Fatalf("answer %s, want %s", got.Type(), events.TypeCommandFailed)
			}
			d := data(t, got)
			dls := h.streamMsgs(events.StreamDLQ)
			if len(dls) != 1 {
				t.Fatalf("%d dead letters, want 1", len(dls))
			}
			dl := dls[0]
			wantFailed := map[string]any{
				"command": events.CommandProductCreate, "commandId": cmd.ID(), "reason": tt.wantReason,
				"attempts": float64(tt.wantAttempts), "deadLetterSubject": events.DLQSubject(events.CommandProductCreate),
				"deadLetterSeq": float64(dl.Sequence),
			}
			for k, v := range wantFailed {
				if d[k] != v {
					t.Errorf("failed event %s = %v, want %v", k, d[k], v)
				}
			}
			if d["error"] == "" || d["failedAt"] == "" {
				t.Errorf("failed event lacks error or time: %v", d)
			}
			if errText, _ := d["error"].(string); !strings.Contains(errText, tt.wantInError) {
				t.Errorf("failed event's error %q does not say %s", errText, tt.wantInError)
			}
			if diff := cmp.Diff(string(cmd.Data()), string(dl.Data)); diff != "" {
				t.Errorf("dead letter data (-want, +got):\n%s", diff)
			}
			info, err := bus.ParseDeadLetter(dl.Subject, dl.Header)
			if err != nil {
				t.Fatal(err)
			}
			if info.Reason != tt.wantReason || info.Attempts != tt.wantAttempts || info.Error == "" || info.FailedAt.IsZero() {
				t.Errorf("dead letter says %+v, want reason %q after %d attempts", info, tt.wantReason, tt.wantAttempts)
			}
			if !strings.Contains(info.Error, tt.wantInError) {
				t.Errorf("dead letter's error %q does not say %s", info.Error, tt.wantInError)
			}
			if dl.Header.Get("ce-id") != cmd.ID() {
				t.Errorf("dead letter keeps command id %q, want %q", dl.Header.Get("ce-id"), cmd.ID())
			}
			if n := len(h.sim.CallsOf(mend.ReqCreateProduct)); n != tt.wantCalls {
				t.Errorf("createProduct called %d times, want %d", n, tt.wantCalls)
			}
			servicetest.Eventually(t, 5*time.Second, func() bool { return h.commandsLeft() == 0 }, "the command to be terminated")
			waitForMetrics(t, w.addr, fmt.Sprintf(`mendflow_worker_dead_letters_total{command="product.create",reason=%q} 1`, tt.wantReason))
			assertNoSecret(t, h)
		})
	}
}

// assertNoSecret checks that the user key appears in no log line, span,
// event or dead letter.
func assertNoSecret(t *testing.T, h *harness) {
	t.Helper()
	if strings.Contains(h.logs.String(), mendsim.DefaultUserKey) {
		t.Error("the user key is in the logs")
	}
	for _, s := range h.spans.Ended() {
		shown := fmt.Sprint(s.Name(), s.Status(), s.Attributes(), s.Events())
		if strings.Contains(shown, mendsim.DefaultUserKey) {
			t.Errorf("the user key is in span %q: %s", s.Name(), shown)
		}
	}
	for _, stream := range []string{events.StreamEvents, events.StreamDLQ, events.StreamTracking} {
		for _, m := range h.streamMsgs(stream) {
			if strings.Contains(string(m.Data), mendsim.DefaultUserKey) || strings.Contains(fmt.Sprint(m.Header), mendsim.DefaultUserKey) {
				t.Errorf("the user key is in %s seq %d", stream, m.Sequence)
			}
		}
	}
}

// TestTargetNotThereYet: a delete that overtakes its create waits for the
// product, and one for a product that never comes ends as "nothing
// deleted" once the wait is over.
func TestTargetNotThereYet(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"WORKER_NOT_FOUND_WAIT": "3s"})
	h.startWorker(nil)

	early := h.send(events.CommandProductDelete, events.ProductDelete{ProductRef: events.ProductRef{ProductName: "late"}})
	never := h.send(events.CommandProductDelete, events.ProductDelete{ProductRef: events.ProductRef{ProductName: "never"}})
	servicetest.Eventually(t, 10*time.Second, func() bool { return h.retried(early.ID()) }, "the early delete to wait for its product")
	if len(h.answers(early.ID())) != 0 {
		t.Fatal("the delete finished before its product existed")
	}
	create := h.send(events.CommandProductCreate, events.ProductCreate{ProductName: "late"})
	h.waitAnswer(create.ID(), 5*time.Second)

	got := h.waitAnswer(early.ID(), 5*time.Second)
	if got.Type() != events.TypeProductDeleted || data(t, got)["deleted"] != true {
		t.Errorf("delete answered %s %s, want the product deleted", got.Type(), got.Data())
	}
	if productToken(t, h, "late") != "" {
		t.Error("product late still exists")
	}
	got = h.waitAnswer(never.ID(), 10*time.Second)
	if got.Type() != events.TypeProductDeleted || data(t, got)["deleted"] != false {
		t.Errorf("delete of a product never there answered %s %s, want deleted false", got.Type(), got.Data())
	}
	if age := got.Time().Sub(never.Time()); age < 3*time.Second {
		t.Errorf("gave up on the product after %v, before the 3s wait", age)
	}
}

func TestRequestTrackHandsToPoller(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.startWorker(nil)
	cmd := h.send(events.CommandRequestTrack, events.RequestTrack{RequestToken: "req-1"})
	var items []event.Event
	servicetest.Eventually(t, 10*time.Second, func() bool { items = h.events(events.StreamTracking); return len(items) == 1 }, "a track item")
	it := items[0]
	if it.Type() != events.TrackType(events.TrackRequest) || events.Extension(it, events.ExtCausationID) != cmd.ID() ||
		events.Extension(it, events.ExtCorrelationID) != "corr-"+cmd.ID() || !continuesTrace(events.Extension(it, events.ExtTraceparent)) {
		t.Errorf("track item %s with extensions %v, want a request item answering %s", it.Type(), it.Extensions(), cmd.ID())
	}
	d := data(t, it)
	if d["kind"] != events.TrackRequest || d["requestToken"] != "req-1" || d["orgToken"] != h.sim.OrgToken() {
		t.Errorf("track item data %v", d)
	}
	if n := len(h.sim.Calls()); n != 0 {
		t.Errorf("%d Mend calls, want none", n)
	}
	if n := len(h.events(events.StreamEvents)); n != 0 {
		t.Errorf("%d result events, want none: the poller reports", n)
	}
}

// TestTwoWorkersShareTheWork: every command is done once, by one of them.
func TestTwoWorkersShareTheWork(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"WORKER_CONCURRENCY": "2"})
	if err := h.sim.SetFault(mendsim.Fault{Op: mend.ReqCreateProduct, Latency: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	a, b := h.startWorker(nil), h.startWorker(nil)
	const n = 40
	ids := make([]string, n)
	for i := range n {
		ids[i] = h.send(events.CommandProductCreate, events.ProductCreate{ProductName: fmt.Sprintf("shared-%d", i)}).ID()
	}
	servicetest.Eventually(t, 20*time.Second, func() bool { return h.commandsLeft() == 0 }, "all commands done")
	answers := map[string]int{}
	for _, e := range h.events(events.StreamEvents) {
		if e.Type() == events.TypeProductCreated && data(t, e)["created"] == true {
			answers[events.Extension(e, events.ExtCausationID)]++
		}
	}
	for _, id := range ids {
		if answers[id] != 1 {
			t.Errorf("command %s answered %d times", id, answers[id])
		}
	}
	if got := h.okCalls(mend.ReqCreateProduct); got != n {
		t.Errorf("createProduct succeeded %d times, want %d", got, n)
	}
	for _, w := range []worker{a, b} { // each did some
		waitForMetrics(t, w.addr, `mendflow_worker_commands_total{command="product.create",outcome="success"}`)
	}
}

// TestDrainOnStop: a worker stopped while it holds commands finishes them
// and exits cleanly; another worker does the rest; nothing is lost or done
// twice.
func TestDrainOnStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"WORKER_CONCURRENCY": "4"})
	if err := h.sim.SetFault(mendsim.Fault{Op: mend.ReqCreateProduct, Latency: 150 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	first := h.startWorker(nil)
	const n = 20
	for i := range n {
		h.send(events.CommandProductCreate, events.ProductCreate{ProductName: fmt.Sprintf("drain-%d", i)})
	}
	servicetest.Eventually(t, 10*time.Second, func() bool { return len(h.events(events.StreamEvents)) >= 2 }, "some answers")
	if err := first.stop(); err != nil {
		t.Fatalf("stopping the worker: %v", err)
	}
	doneByFirst := len(h.events(events.StreamEvents))
	if doneByFirst == n {
		t.Fatal("the first worker finished everything; the test proves nothing")
	}
	// Whatever the first one held is finished: nothing it took is left
	// half done in Mend without an answer.
	if got := h.okCalls(mend.ReqCreateProduct); got != doneByFirst {
		t.Errorf("Mend has %d products made, %d answered", got, doneByFirst)
	}

	h.startWorker(nil)
	servicetest.Eventually(t, 20*time.Second, func() bool { return len(h.events(events.StreamEvents)) >= n }, "all answers")
	// A command leaves the stream once answered: then no answer can follow.
	servicetest.Eventually(t, 10*time.Second, func() bool { return h.commandsLeft() == 0 }, "every command to be acknowledged")
	if got := len(h.events(events.StreamEvents)); got != n {
		t.Errorf("%d answers, want %d", got, n)
	}
	if got := h.okCalls(mend.ReqCreateProduct); got != n {
		t.Errorf("createProduct succeeded %d times, want %d", got, n)
	}
	if left := h.commandsLeft(); left != 0 {
		t.Errorf("%d commands left", left)
	}
}

// TestWorkerDiesMidCommand: a worker loses its NATS connection while Mend
// holds its call, and never acknowledges. JetStream gives the command to
// another worker after the ack wait, and Mend sees one change.
func TestWorkerDiesMidCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// cutMend cancels the dead worker's Mend call too, as a killed
		// process does; otherwise the call completes in Mend unacknowledged.
		cutMend bool
	}{
		{"call cut short", true},
		{"call completed in Mend", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, map[string]string{"WORKER_SHUTDOWN_GRACE": "0s"})
			if err := h.sim.SetFault(mendsim.Fault{Op: mend.ReqCreateProduct, Latency: 500 * time.Millisecond, Count: 1}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			dying, err := newService(ctx, h.settings(), app.Telemetry{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); _ = dying.run(ctx) }()

			cmd := h.send(events.CommandProductCreate, events.ProductCreate{ProductName: "orphan"})
			// The fault, used up, leaves the list of faults in force: the
			// call is now held by the simulator.
			servicetest.Eventually(t, 10*time.Second, func() bool { return len(h.sim.Faults()) == 0 }, "the simulator to hold the call")
			dying.nc.Close()
			if !tt.cutMend {
				servicetest.Eventually(t, 5*time.Second, func() bool { return h.okCalls(mend.ReqCreateProduct) == 1 }, "the held call to complete")
			}
			cancel()
			wg.Wait()

			h.startWorker(nil)
			got := h.waitAnswer(cmd.ID(), 10*time.Second)
			if got.Type() != events.TypeProductCreated {
				t.Fatalf("answer %s, want %s", got.Type(), events.TypeProductCreated)
			}
			if n := h.okCalls(mend.ReqCreateProduct); n != 1 {
				t.Errorf("createProduct succeeded %d times, want once", n)
			}
			if tok := productToken(t, h, "orphan"); tok == "" || data(t, got)["productToken"] != tok {
				t.Errorf("answer %s, product token in Mend %q", got.Data(), tok)
			}
		})
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	w := h.startWorker(nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		if body := get(t, w.addr, path); strings.TrimSpace(body) != "ok" {
			t.Errorf("GET %s = %q", path, body)
		}
	}
	cmd := h.send(events.CommandProductCreate, events.ProductCreate{ProductName: "seen"})
	h.waitAnswer(cmd.ID(), 10*time.Second)
	wants := []string{
		`mendflow_worker_commands_total{command="product.create",outcome="success"} 1`,
		`mendflow_worker_in_flight 0`,
		`mendflow_mend_request_duration_seconds_count{class="2xx",operation="createProduct"} 1`,
		`mendflow_consumer_pending_messages{consumer="mendflow-worker",stream="MENDFLOW_COMMANDS"} 0`,
		`mendflow_consumer_ack_pending_messages{consumer="mendflow-worker",stream="MENDFLOW_COMMANDS"} 0`,
		`go_goroutines`,
		`mendflow_worker_command_duration_seconds_count{command="product.create"} 1`,
	}
	waitForMetrics(t, w.addr, wants...)
}

// TestBadConfiguration: what waiting would not cure stops the worker at
// once, even with NATS down.
func TestBadConfiguration(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	tests := []struct {
		name    string
		unset   string
		set     map[string]string
		wantVar string
	}{
		{name: "no organization", unset: "MEND_ORG_TOKEN", wantVar: "MEND_ORG_TOKEN"},
		{name: "no Mend URL", unset: "MEND_URL", wantVar: "MEND_URL"},
		{name: "no concurrency", set: map[string]string{"WORKER_CONCURRENCY": "0"}, wantVar: "WORKER_CONCURRENCY"},
		{name: "ack wait not a duration", set: map[string]string{"WORKER_ACK_WAIT": "soon"}, wantVar: "WORKER_ACK_WAIT"},
		{name: "jitter out of range", set: map[string]string{"WORKER_RETRY_JITTER": "2"}, wantVar: "WORKER_RETRY_JITTER"},
		{name: "too many replicas", set: map[string]string{"STREAM_REPLICAS": "7"}, wantVar: "STREAM_REPLICAS"},
		{name: "negative rate", set: map[string]string{"MEND_RATE_LIMIT": "-1"}, wantVar: "MEND_RATE_LIMIT"},
		{name: "address in use", set: map[string]string{"WORKER_ADDR": taken.Addr().String()}, wantVar: "WORKER_ADDR"},
		{name: "NATS URL malformed", set: map[string]string{"NATS_URL": "nats://user:hunter2@127.0.0.1:42x2"}, wantVar: "NATS_URL"},
		{name: "empty organization", set: map[string]string{"MEND_ORG_TOKEN": ""}, wantVar: "MEND_ORG_TOKEN"},
		{name: "empty Mend URL", set: map[string]string{"MEND_URL": ""}, wantVar: "MEND_URL"},
		{name: "Mend URL without scheme", set: map[string]string{"MEND_URL": "saas.mend.io"}, wantVar: "MEND_URL"},
		{name: "API URL without scheme", set: map[string]string{"MEND_API_URL": "api-saas.mend.io"}, wantVar: "MEND_API_URL"},
		{name: "Mend URL malformed, with a password", set: map[string]string{"MEND_URL": "https://svc:hunter2%zz@saas.mend.io"}, wantVar: "MEND_URL"},
		{name: "API URL not http, with a password", set: map[string]string{"MEND_API_URL": "ftp://svc:hunter2@api-saas.mend.io"}, wantVar: "MEND_API_URL"},
		{name: "empty user key", set: map[string]string{"MEND_USER_KEY": ""}, wantVar: "MEND_USER_KEY"},
		// policies.apply and the group commands are v2.0 calls, which need
		// the JWT login.
		{name: "no user e-mail", unset: "MEND_USER_EMAIL", wantVar: "MEND_USER_EMAIL"},
		{name: "empty user e-mail", set: map[string]string{"MEND_USER_EMAIL": ""}, wantVar: "MEND_USER_EMAIL"},
		// A Mend timeout of 0 or below is not taken for the default, and no
		// duration may be negative.
		{name: "negative Mend timeout", set: map[string]string{"MEND_TIMEOUT": "-1s"}, wantVar: "MEND_TIMEOUT"},
		{name: "zero Mend timeout", set: map[string]string{"MEND_TIMEOUT": "0"}, wantVar: "MEND_TIMEOUT"},
		{name: "negative retry time", set: map[string]string{"MEND_RETRY_MAX_ELAPSED": "-1m"}, wantVar: "MEND_RETRY_MAX_ELAPSED"},
		{name: "negative cache lifetime", set: map[string]string{"WORKER_CACHE_TTL": "-30s"}, wantVar: "WORKER_CACHE_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{
				"NATS_URL": "nats://127.0.0.1:1", "MEND_URL": "http://127.0.0.1:1", "MEND_USER_KEY": "k",
				"MEND_USER_EMAIL": "e", "MEND_ORG_TOKEN": "o", "WORKER_ADDR": "127.0.0.1:0",
			}
			delete(env, tt.unset)
			for k, v := range tt.set {
				env[k] = v
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := Run(ctx, envconfig.MapLookuper(env), app.Telemetry{Logger: slog.New(slog.DiscardHandler)})
			if err == nil || !strings.Contains(err.Error(), tt.wantVar+":") {
				t.Fatalf("run = %v, want at once an error naming %s", err, tt.wantVar)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "%zz") {
				t.Errorf("a password is in the error: %v", err)
			}
		})
	}
}

// TestRunAsProcess is the worker's main in a process of its own, for
// TestSIGTERMFinishesWhatItHolds: the test binary run again with
// WORKER_TEST_MAIN=1 and this test alone.
func TestRunAsProcess(t *testing.T) {
	if os.Getenv("WORKER_TEST_MAIN") != "1" {
		t.Skip("started by TestSIGTERMFinishesWhatItHolds")
	}
	app.Main("worker", Run)
}

// TestSIGTERMFinishesWhatItHolds runs the worker as its binary does, sends it SIGTERM
// while Mend holds a call, and expects the command answered and exit 0.
func TestSIGTERMFinishesWhatItHolds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	if err := h.sim.SetFault(mendsim.Fault{Op: mend.ReqCreateProduct, Latency: 700 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunAsProcess$")
	cmd.Env = []string{"WORKER_TEST_MAIN=1", "WORKER_ADDR=" + addr}
	for k, v := range h.env {
		if k != "WORKER_ADDR" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	servicetest.Eventually(t, 10*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	}, "the worker to be ready")

	ev := h.send(events.CommandProductCreate, events.ProductCreate{ProductName: "in-flight"})
	servicetest.Eventually(t, 5*time.Second, func() bool {
		return strings.Contains(get(t, addr, "/metrics"), "mendflow_worker_in_flight 1")
	}, "the command to be running")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	got := h.answers(ev.ID())
	if len(got) != 1 || got[0].Type() != events.TypeProductCreated {
		t.Errorf("answers %v, want the product created before the exit", got)
	}
	if left := h.commandsLeft(); left != 0 {
		t.Errorf("%d commands left", left)
	}
}

func get(t *testing.T, addr, path string) string {
	t.Helper()
	status, body := servicetest.Get(t, addr, path)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	return body
}

// grep keeps the lines of s that contain sub, for failure messages.
func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestInFlightCapAcrossWorkers: the consumer's cap holds for all workers
// together, however many each could run: two workers of 8 with a cap of 2
// carry out no more than 2 commands at once.
func TestInFlightCapAcrossWorkers(t *testing.T) {
	t.Parallel()
	const latency, n, limit = 100 * time.Millisecond, 10, 2
	h := newHarness(t, map[string]string{"WORKER_CONCURRENCY": "8", "WORKER_MAX_IN_FLIGHT": fmt.Sprint(limit)})
	if err := h.sim.SetFault(mendsim.Fault{Op: mend.ReqCreateProduct, Latency: latency}); err != nil {
		t.Fatal(err)
	}
	h.startWorker(nil)
	h.startWorker(nil)
	start := time.Now()
	for i := range n {
		h.send(events.CommandProductCreate, events.ProductCreate{ProductName: fmt.Sprintf("capped-%d", i)})
	}
	servicetest.Eventually(t, 20*time.Second, func() bool { return h.commandsLeft() == 0 }, "all commands done")
	// Each command's product list comes first; its create then holds the
	// call for the latency, so n creates at most limit at a time take at
	// least n/limit latencies.
	if elapsed, least := time.Since(start), latency*n/limit; elapsed < least {
		t.Errorf("%d commands took %v; with %d at a time they take at least %v", n, elapsed, limit, least)
	}
	if got := h.okCalls(mend.ReqCreateProduct); got != n {
		t.Errorf("%d products created, want %d", got, n)
	}
}

// TestReplayedDeadLetterRuns: a command that gave up is replayed, as
// mendflowctl dlq replay does, once the cause is gone; it then succeeds,
// answering the same command id.
func TestReplayedDeadLetterRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	if err := h.sim.SetFault(mendsim.Fault{Op: mend.ReqCreateGlobalOrg, ErrorCode: mend.CodeNotAllowed, Count: 1}); err != nil {
		t.Fatal(err)
	}
	h.startWorker(nil)
	cmd := h.send(events.CommandGlobalOrgCreate, events.GlobalOrgCreate{Name: "holding", AccountAdminEmail: admin})
	if got := h.waitAnswer(cmd.ID(), 10*time.Second); got.Type() != events.TypeCommandFailed {
		t.Fatalf("answer %s, want a failure", got.Type())
	}
	dls := h.streamMsgs(events.StreamDLQ)
	if len(dls) != 1 {
		t.Fatalf("%d dead letters", len(dls))
	}
	m, err := bus.ReplayMsg(&nats.Msg{Subject: dls[0].Subject, Header: dls[0].Header, Data: dls[0].Data}, dls[0].Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.js.PublishMsg(context.Background(), m, jetstream.WithMsgID("replay-1")); err != nil {
		t.Fatal(err)
	}
	var got []event.Event
	servicetest.Eventually(t, 10*time.Second, func() bool { got = h.answers(cmd.ID()); return len(got) == 2 }, "the replay's answer")
	if got[1].Type() != events.TypeGlobalOrgCreated {
		t.Errorf("replay answered %s %s, want %s", got[1].Type(), got[1].Data(), events.TypeGlobalOrgCreated)
	}
	if n := h.okCalls(mend.ReqCreateGlobalOrg); n != 1 {
		t.Errorf("createGlobalOrg succeeded %d times, want once", n)
	}
}

// TestLongCallKeepsItsDelivery: a Mend call longer than the ack wait does
// not make JetStream deliver the command again, thanks to InProgress.
func TestLongCallKeepsItsDelivery(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil) // WORKER_ACK_WAIT is 1s
	if err := h.sim.SetFault(mendsim.Fault{Op: mend.ReqCreateProduct, Latency: 2500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	w := h.startWorker(nil)
	cmd := h.send(events.CommandProductCreate, events.ProductCreate{ProductName: "slow"})
	got := h.waitAnswer(cmd.ID(), 10*time.Second)
	if got.Type() != events.TypeProductCreated {
		t.Fatalf("answer %s", got.Type())
	}
	const done = `mendflow_worker_commands_total{command="product.create",outcome="success"} 1`
	metrics := waitForMetrics(t, w.addr, done)
	if lines := grep(metrics, `mendflow_worker_commands_total{`); lines != done {
		t.Errorf("deliveries:\n%s\nwant one, successful: the command was delivered again while running", lines)
	}
}

// TestRateLimit: MEND_RATE_LIMIT bounds the calls one worker makes to
// Mend, whatever its concurrency.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	const rate = 20.0
	h := newHarness(t, map[string]string{"MEND_RATE_LIMIT": fmt.Sprint(rate), "MEND_RATE_BURST": "1", "WORKER_CONCURRENCY": "8"})
	h.startWorker(nil)
	start := time.Now()
	for i := range 10 {
		h.send(events.CommandProductCreate, events.ProductCreate{ProductName: fmt.Sprintf("limited-%d", i)})
	}
	servicetest.Eventually(t, 20*time.Second, func() bool { return h.commandsLeft() == 0 }, "all commands done")
	elapsed := time.Since(start)
	calls := len(h.sim.Calls())
	if least := time.Duration(float64(calls-1) / rate * float64(time.Second)); elapsed < least {
		t.Errorf("%d Mend calls in %v; at %v per second they take at least %v", calls, elapsed, rate, least)
	}
}

// TestMendDownSpendsNoAttempts: while Mend fails, the organization's
// circuit opens and the command waits, delivered again and again without
// spending its attempts; once Mend answers, a probe closes the circuit,
// and the command, failing once more, still has an attempt left: it is
// done, not dead-lettered.
func TestMendDownSpendsNoAttempts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{
		"WORKER_MAX_ATTEMPTS": "2", "MEND_CIRCUIT_FAILURES": "1", "MEND_CIRCUIT_OPEN": "100ms", "MEND_BUDGET_MAX_WAIT": "10ms",
	})
	const outage = 5 // the first call, then probes
	for _, f := range []mendsim.Fault{
		{Op: mendsim.AnyOp, Status: http.StatusServiceUnavailable, Count: outage},
		{Op: mend.ReqCreateProduct, ErrorCode: mend.CodeInvalidParameters, Count: 1},
	} {
		if err := h.sim.SetFault(f); err != nil {
			t.Fatal(err)
		}
	}
	h.startWorker(nil)
	cmd := h.send(events.CommandProductCreate, events.ProductCreate{ProductName: "waited"})
	if got := h.waitAnswer(cmd.ID(), 15*time.Second); got.Type() != events.TypeProductCreated {
		t.Fatalf("answer %s, want %s", got.Type(), events.TypeProductCreated)
	}
	if n := len(h.streamMsgs(events.StreamDLQ)); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
	if n := len(h.sim.CallsOf(mend.ReqCreateProduct)); n != 2 {
		t.Errorf("%d createProduct calls, want 2: the transient failure, then the success", n)
	}
}
