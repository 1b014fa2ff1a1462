package worker

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// atHeaderLimit gives e a correlation id that makes its command message,
// with the Nats-Msg-Id msgID, take exactly the headers JetStream stores:
// the command is stored, and its result, which carries the same
// correlation id and a causation id more, is not.
func atHeaderLimit(t *testing.T, e event.Event, msgID string) event.Event {
	t.Helper()
	size := func(e event.Event) int {
		name, _ := events.CommandName(e.Type())
		m, err := bus.ToMsg(events.CommandSubject(name), e)
		if err != nil {
			t.Fatal(err)
		}
		m.Header.Set(jetstream.MsgIDHeader, msgID)
		return bus.HeaderBytes(m)
	}
	e.SetExtension(events.ExtCorrelationID, "c")
	e.SetExtension(events.ExtCorrelationID, strings.Repeat("c", 1+bus.MaxHeaderBytes-size(e)))
	if n := size(e); n != bus.MaxHeaderBytes {
		t.Fatalf("command headers of %d bytes, want %d", n, bus.MaxHeaderBytes)
	}
	return e
}

// TestResultTooLargeForNATS: commands whose results NATS cannot store
// (headers over 64 KiB) are given up at once, as dead letters that leave
// out the correlation id; more of them than the consumer lets be in flight
// do not keep the next commands from running. A command that ingest queued
// with an id of 30,000 characters, copied into its correlation id, is
// carried out: the ids the worker derives from it stay short.
func TestResultTooLargeForNATS(t *testing.T) {
	t.Parallel()
	const inFlight, poisoned = 4, 6
	h := newHarness(t, map[string]string{"WORKER_MAX_IN_FLIGHT": fmt.Sprint(inFlight), "WORKER_CONCURRENCY": "2"})
	w := h.startWorker(nil)

	var bad []event.Event
	for i := range poisoned {
		e := h.command(events.CommandProductCreate, events.ProductCreate{ProductName: fmt.Sprintf("big-%d", i)})
		e = atHeaderLimit(t, e, e.ID())
		h.publish(e, "")
		bad = append(bad, e)
	}
	long := h.command(events.CommandProductCreate, events.ProductCreate{ProductName: "long-id"})
	long.SetID(strings.Repeat("i", 30_000))
	long.SetExtension(events.ExtCorrelationID, long.ID())
	h.publish(long, "ingest-hash-1")
	normal := h.send(events.CommandProductCreate, events.ProductCreate{ProductName: "after"})

	if got := h.waitAnswer(normal.ID(), 15*time.Second); got.Type() != events.TypeProductCreated {
		t.Fatalf("the command after them answered %s %s", got.Type(), got.Data())
	}
	if got := h.waitAnswer(long.ID(), 5*time.Second); got.Type() != events.TypeProductCreated || len(got.ID()) > 200 {
		t.Errorf("the command with a long id answered %s %.100s with id %.100s, want created with a short id", got.Type(), got.Data(), got.ID())
	}

	var failed []event.Event
	servicetest.Eventually(t, 10*time.Second, func() bool {
		failed = failed[:0]
		for _, e := range h.events(events.StreamEvents) {
			if e.Type() == events.TypeCommandFailed {
				failed = append(failed, e)
			}
		}
		return len(failed) == poisoned
	}, fmt.Sprintf("%d failed events", poisoned))
	ids := map[string]bool{}
	for _, e := range bad {
		ids[e.ID()] = true
	}
	for _, f := range failed {
		d := data(t, f)
		if !ids[d["commandId"].(string)] || d["reason"] != events.FailTooLarge || d["attempts"] != float64(1) {
			t.Errorf("failed event %v, want one of the large commands given up at once as %q", d, events.FailTooLarge)
		}
		if omitted := fmt.Sprint(d["omitted"]); !strings.Contains(omitted, events.ExtCorrelationID) {
			t.Errorf("failed event omits %s, want the correlation id", omitted)
		}
		if events.Extension(f, events.ExtCausationID) != d["commandId"] {
			t.Errorf("failed event's causation id %q, want %v", events.Extension(f, events.ExtCausationID), d["commandId"])
		}
	}

	dls := h.streamMsgs(events.StreamDLQ)
	if len(dls) != poisoned {
		t.Fatalf("%d dead letters, want %d", len(dls), poisoned)
	}
	for _, dl := range dls {
		info, err := bus.ParseDeadLetter(dl.Subject, dl.Header)
		if err != nil {
			t.Fatal(err)
		}
		if info.Reason != events.FailTooLarge || !strings.Contains(info.Error, "io.mendflow.product.created") {
			t.Errorf("dead letter says %+v, want the result %s", info, events.FailTooLarge)
		}
		if !strings.HasPrefix(info.Omitted, "ce-correlationid (") || !strings.Contains(info.Omitted, "65535") {
			t.Errorf("dead letter omits %q, want the correlation id, over the header limit", info.Omitted)
		}
		if !ids[dl.Header.Get("ce-id")] || len(dl.Data) == 0 {
			t.Errorf("dead letter keeps id %.20q and data %s, want the command's", dl.Header.Get("ce-id"), dl.Data)
		}
	}
	if n := h.okCalls(mend.ReqCreateProduct); n != poisoned+2 {
		t.Errorf("createProduct succeeded %d times, want %d: once per command", n, poisoned+2)
	}
	servicetest.Eventually(t, 5*time.Second, func() bool { return h.commandsLeft() == 0 }, "every command to end")
	metrics := waitForMetrics(t, w.addr,
		fmt.Sprintf(`mendflow_worker_commands_total{command="product.create",outcome="failed"} %d`, poisoned),
		`mendflow_worker_commands_total{command="product.create",outcome="success"} 2`,
		fmt.Sprintf(`mendflow_worker_dead_letters_total{command="product.create",reason="too large"} %d`, poisoned),
	)
	if lines := grep(metrics, `outcome="retry"`); lines != "" {
		t.Errorf("retries counted:\n%s", lines)
	}
}

// TestResultNotStoredCountsTowardAttempts: a result event that JetStream
// does not take (here, no stream holds its subject) makes the command come
// back, each time counted as a retry, until WORKER_MAX_ATTEMPTS; then it
// is a dead letter. The metrics count what became of each delivery, not
// that its handler succeeded.
func TestResultNotStoredCountsTowardAttempts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"WORKER_MAX_ATTEMPTS": "3"})
	w := h.startWorker(nil)
	// The events stream keeps only the failures: a product.created has
	// nowhere to go.
	ctx := t.Context()
	s, err := h.js.Stream(ctx, events.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.Subjects = []string{events.ResultSubject(events.TypeCommandFailed)}
	if _, err := h.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}

	cmd := h.send(events.CommandProductCreate, events.ProductCreate{ProductName: "unanswered"})
	got := h.waitAnswer(cmd.ID(), 15*time.Second)
	d := data(t, got)
	if got.Type() != events.TypeCommandFailed || d["reason"] != events.FailAttemptsSpent || d["attempts"] != float64(3) {
		t.Fatalf("answer %s %v, want the command failed after 3 attempts", got.Type(), d)
	}
	if errText, _ := d["error"].(string); !strings.Contains(errText, "publishing "+events.TypeProductCreated) {
		t.Errorf("failed event's error %q does not say the result was not stored", errText)
	}
	if n := len(h.streamMsgs(events.StreamDLQ)); n != 1 {
		t.Errorf("%d dead letters, want 1", n)
	}
	if n := h.okCalls(mend.ReqCreateProduct); n != 1 {
		t.Errorf("createProduct succeeded %d times, want once", n)
	}
	metrics := waitForMetrics(t, w.addr,
		`mendflow_worker_commands_total{command="product.create",outcome="retry"} 2`,
		`mendflow_worker_commands_total{command="product.create",outcome="failed"} 1`,
		`mendflow_worker_retries_total{command="product.create",reason="publish failed"} 2`,
		`mendflow_worker_dead_letters_total{command="product.create",reason="attempts spent"} 1`,
	)
	if lines := grep(metrics, `outcome="success"`); lines != "" {
		t.Errorf("deliveries counted as successes:\n%s", lines)
	}
	if n := strings.Count(h.logs.String(), `msg="command will be retried"`); n != 2 {
		t.Errorf("%d retries logged, want 2", n)
	}
}

// TestDeadLetterNotStoredIsRetried: a command that gives up while its dead
// letter cannot be stored comes back later, counted as a retry each time,
// and is kept once the dead-letter stream takes it again.
func TestDeadLetterNotStoredIsRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	w := h.startWorker(nil)
	if err := h.js.DeleteStream(t.Context(), events.StreamDLQ); err != nil {
		t.Fatal(err)
	}
	if err := h.sim.SetFault(mendsim.Fault{Op: mend.ReqCreateProduct, ErrorCode: mend.CodeNotAllowed}); err != nil {
		t.Fatal(err)
	}
	cmd := h.send(events.CommandProductCreate, events.ProductCreate{ProductName: "refused"})
	waitForMetrics(t, w.addr, `mendflow_worker_retries_total{command="product.create",reason="publish failed"} 2`)
	if n := len(h.answers(cmd.ID())); n != 0 {
		t.Fatalf("%d answers before the command was kept", n)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := bus.EnsureStreams(ctx, h.js, bus.StreamConfig{Replicas: 1, DedupWindow: time.Hour, EventsMaxAge: time.Hour, EventsMaxBytes: -1, DLQMaxBytes: -1}); err != nil {
		t.Fatal(err)
	}
	got := h.waitAnswer(cmd.ID(), 10*time.Second)
	if d := data(t, got); got.Type() != events.TypeCommandFailed || d["reason"] != events.FailPermanent {
		t.Fatalf("answer %s %v, want the command failed as permanent", got.Type(), d)
	}
	dls := h.streamMsgs(events.StreamDLQ)
	if len(dls) != 1 || dls[0].Header.Get("ce-id") != cmd.ID() {
		t.Fatalf("%d dead letters, want the command's", len(dls))
	}
	waitForMetrics(t, w.addr,
		`mendflow_worker_commands_total{command="product.create",outcome="failed"} 1`,
		`mendflow_worker_dead_letters_total{command="product.create",reason="permanent"} 1`,
	)
	if !strings.Contains(h.logs.String(), "keeping the command as a dead letter") {
		t.Error("no log line says the dead letter was not kept")
	}
}
