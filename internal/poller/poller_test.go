package poller

import (
	"context"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// byPolls makes the simulator's processes and plugin requests advance with
// polls rather than time, so that what the poller sees does not depend on
// how fast the machine is: a process is PENDING, IN_PROGRESS from the 2nd
// poll, ended at the 3rd; a request IN_PROGRESS, UPDATED from the 2nd poll,
// ended at the 4th.
var byPolls = mendsim.Config{ProcessDuration: time.Hour, ProcessPolls: 3, RequestDuration: time.Hour, RequestPolls: 4}

// nearDeadline starts an item so long ago, on the pollers' clock, that a
// poller with deadlineConfig reaches the deadline at its second poll: its
// first poll comes a step before the deadline, its second (due an age
// later, but no later than the deadline) a step later, at the deadline.
func nearDeadline(tb *testbed, tr events.Track) events.Track {
	const step = 10 * time.Millisecond
	tr.Started = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tb.now = stepClock(tr.Started.Add(deadlineConfig().Deadline-step), step)
	return tr
}

func deadlineConfig() Config {
	c := fastConfig()
	c.MaxInterval = time.Hour
	return c
}

func TestStatePaths(t *testing.T) {
	t.Parallel()
	fast := fastConfig()
	updatedIsDone := fastConfig()
	updatedIsDone.UpdatedIsDone = true
	shortGrace := fastConfig()
	shortGrace.UnknownGrace = 200 * time.Millisecond

	tests := []struct {
		name string
		cfg  Config
		// prepare sets the simulator up and returns the item to follow.
		prepare func(t *testing.T, tb *testbed) events.Track
		want    result // the item's names are filled in from it
		// polls is how many status calls the simulator must have seen.
		polls int
	}{
		{
			name: "process SUCCESS", cfg: fast,
			prepare: func(t *testing.T, tb *testbed) events.Track { return tb.process(t) },
			want:    result{Type: events.TypePoliciesApplied, Status: "SUCCESS"}, polls: 3,
		},
		{
			name: "process FAILED", cfg: fast,
			prepare: func(t *testing.T, tb *testbed) events.Track {
				setOutcome(t, tb, "FAILED")
				return tb.process(t)
			},
			want: result{Type: events.TypePoliciesFailed, Status: "FAILED", Reason: ReasonFailed}, polls: 3,
		},
		{
			name: "process FAILURE", cfg: fast,
			prepare: func(t *testing.T, tb *testbed) events.Track {
				setOutcome(t, tb, "FAILURE")
				return tb.process(t)
			},
			want: result{Type: events.TypePoliciesFailed, Status: "FAILURE", Reason: ReasonFailed}, polls: 3,
		},
		{
			name: "process Mend does not know (404)", cfg: fast,
			prepare: func(*testing.T, *testbed) events.Track {
				return events.Track{Kind: events.TrackProcess, ProcessUUID: "0b5f6a4e-0000-4000-8000-000000000000", Scope: "organization", Token: orgToken}
			},
			want: result{Type: events.TypePoliciesFailed, Reason: ReasonError}, polls: 1,
		},
		{
			name: "process past its deadline", cfg: deadlineConfig(),
			prepare: func(t *testing.T, tb *testbed) events.Track { return nearDeadline(tb, tb.process(t)) },
			want:    result{Type: events.TypePoliciesFailed, Status: "IN_PROGRESS", Reason: ReasonTimeout}, polls: 2,
		},
		{
			name: "process through Mend's 503s", cfg: fast,
			prepare: func(t *testing.T, tb *testbed) events.Track {
				// Both attempts of the first call fail; the poller comes
				// back after the Retry-After.
				if err := tb.sim.SetFault(mendsim.Fault{Op: "asyncProcessStatus", Status: 503, RetryAfter: time.Second, Count: 2}); err != nil {
					t.Fatal(err)
				}
				return tb.process(t)
			},
			want: result{Type: events.TypePoliciesApplied, Status: "SUCCESS"}, polls: 5,
		},
		{
			name: "request FINISHED after UPDATED", cfg: fast,
			prepare: func(t *testing.T, tb *testbed) events.Track { return tb.request(t, "FINISHED") },
			want:    result{Type: events.TypeRequestFinished, RequestState: "FINISHED"}, polls: 4,
		},
		{
			name: "request FAILED", cfg: fast,
			prepare: func(t *testing.T, tb *testbed) events.Track { return tb.request(t, "FAILED") },
			want:    result{Type: events.TypeRequestFailed, RequestState: "FAILED", Reason: ReasonFailed}, polls: 4,
		},
		{
			name: "request SKIPPED ends as finished", cfg: fast,
			prepare: func(t *testing.T, tb *testbed) events.Track { return tb.request(t, "SKIPPED") },
			want:    result{Type: events.TypeRequestFinished, RequestState: "SKIPPED"}, polls: 4,
		},
		{
			name: "request UPDATED counts as done when so configured", cfg: updatedIsDone,
			prepare: func(t *testing.T, tb *testbed) events.Track { return tb.request(t, "FINISHED") },
			want:    result{Type: events.TypeRequestFinished, RequestState: "UPDATED"}, polls: 2,
		},
		{
			name: "request UNKNOWN past the grace", cfg: shortGrace,
			prepare: func(*testing.T, *testbed) events.Track {
				return events.Track{Kind: events.TrackRequest, RequestToken: "never-seen-by-mend"}
			},
			want: result{Type: events.TypeRequestFailed, RequestState: "UNKNOWN", Reason: ReasonUnknown},
		},
		{
			name: "request past its deadline", cfg: deadlineConfig(),
			prepare: func(t *testing.T, tb *testbed) events.Track { return nearDeadline(tb, tb.request(t, "FINISHED")) },
			want:    result{Type: events.TypeRequestFailed, RequestState: "UPDATED", Reason: ReasonTimeout}, polls: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := newTestbed(t, byPolls)
			tr := tt.prepare(t, tb)
			track := tb.track(t, tr)
			tb.start(t, tt.cfg)
			evs := tb.settle(t, 30*time.Second)
			if len(evs) != 1 {
				t.Fatalf("%d completion events, want 1: %v", len(evs), evs)
			}
			want := tt.want
			want.OrgToken, want.ProcessUUID, want.RequestToken = orgToken, tr.ProcessUUID, tr.RequestToken
			want.Scope, want.Token = tr.Scope, tr.Token
			if diff := cmp.Diff(want, resultOf(t, evs[0])); diff != "" {
				t.Errorf("completion (-want, +got):\n%s", diff)
			}
			checkChain(t, track, evs[0])
			if tt.polls > 0 {
				if got := statusCalls(tb.sim); got != tt.polls {
					t.Errorf("%d status calls, want %d", got, tt.polls)
				}
			}
		})
	}
}

func setOutcome(t *testing.T, tb *testbed, status string) {
	t.Helper()
	if err := tb.sim.SetProcessOutcome(mendsim.ProcessOutcome{Token: orgToken, Status: status}); err != nil {
		t.Fatal(err)
	}
}

// statusCalls counts the calls that asked Mend about items.
func statusCalls(sim *mendsim.Server) int {
	return len(sim.CallsOf("asyncProcessStatus")) + len(sim.CallsOf("getRequestState"))
}

// checkChain checks that a completion event continues the chain of the
// Track item it ends.
func checkChain(t *testing.T, track, got event.Event) {
	t.Helper()
	for _, ext := range []string{events.ExtCorrelationID, events.ExtCausationID, events.ExtTraceparent} {
		if w, g := events.Extension(track, ext), events.Extension(got, ext); w != g {
			t.Errorf("%s = %q, want %q as on the Track item", ext, g, w)
		}
	}
	if got.Source() != Source || got.ID() != completionID(track) {
		t.Errorf("source %q id %q, want %q %q", got.Source(), got.ID(), Source, completionID(track))
	}
}

// A token can be polled before Mend knows it: UNKNOWN within the grace
// keeps the request followed until its real state comes.
func TestRequestUnknownThenKnown(t *testing.T) {
	t.Parallel()
	tb := newTestbed(t, byPolls)
	const token = "printed-by-the-scan"
	tb.track(t, events.Track{Kind: events.TrackRequest, RequestToken: token})
	tb.start(t, fastConfig())
	servicetest.Eventually(t, 10*time.Second, func() bool { return len(tb.sim.CallsOf("getRequestState")) > 0 }, "the request to be polled")
	if _, err := tb.sim.RegisterRequest(mendsim.PluginRequest{RequestToken: token}); err != nil {
		t.Fatal(err)
	}
	evs := tb.settle(t, 30*time.Second)
	if len(evs) != 1 {
		t.Fatalf("%d completion events, want 1", len(evs))
	}
	if diff := cmp.Diff(result{Type: events.TypeRequestFinished, OrgToken: orgToken, RequestToken: token, RequestState: "FINISHED"}, resultOf(t, evs[0])); diff != "" {
		t.Errorf("completion (-want, +got):\n%s", diff)
	}
}

// follow hands n items to the pollers, alternately processes and plugin
// requests, and returns their Track events by id.
func follow(t *testing.T, tb *testbed, n int) map[string]event.Event {
	t.Helper()
	out := make(map[string]event.Event, n)
	for i := range n {
		tr := tb.request(t, "FINISHED")
		if i%2 == 0 {
			tr = tb.process(t)
		}
		e := tb.track(t, tr)
		out[events.Extension(e, events.ExtCausationID)] = e
	}
	return out
}

// checkOnePerItem checks that every item got exactly one completion event,
// a successful one, and nothing else was emitted.
func checkOnePerItem(t *testing.T, tracks map[string]event.Event, evs []event.Event) {
	t.Helper()
	got := byCause(evs)
	for cause, track := range tracks {
		switch es := got[cause]; {
		case len(es) != 1:
			t.Errorf("item %s: %d completion events, want 1", track.ID(), len(es))
		case es[0].Type() != events.TypePoliciesApplied && es[0].Type() != events.TypeRequestFinished:
			t.Errorf("item %s ended with %s: %s", track.ID(), es[0].Type(), es[0].Data())
		}
		delete(got, cause)
	}
	if len(got) > 0 {
		t.Errorf("completion events for items never followed: %v", got)
	}
}

// A poller killed while following items, and another started after it,
// emit exactly one completion event per item.
func TestKilledAndRestarted(t *testing.T) {
	t.Parallel()
	tb := newTestbed(t, byPolls)
	cfg := fastConfig()
	// Deliveries the killed poller held come back after AckWait.
	cfg.AckWait = time.Second
	tracks := follow(t, tb, 40)
	first := tb.start(t, cfg)
	servicetest.Eventually(t, 20*time.Second, func() bool { return statusCalls(tb.sim) >= 20 }, "the first poller to poll")
	first.kill()
	tb.start(t, cfg)
	checkOnePerItem(t, tracks, tb.settle(t, 30*time.Second))
}

// A poller that died after publishing a completion but before its
// acknowledgement leaves the item to the next poller, whose completion the
// events stream drops as a duplicate.
func TestCompletionPublishedBeforeCrash(t *testing.T) {
	t.Parallel()
	tb := newTestbed(t, byPolls)
	tr := tb.request(t, "FINISHED")
	track := tb.track(t, tr)
	// What the dead poller published: the same event, but for its time.
	it := item{ev: track, track: tr}
	it.track.OrgToken = orgToken
	e, err := it.completion("FINISHED", ended())
	if err != nil {
		t.Fatal(err)
	}
	msg, err := bus.EventMsg(context.Background(), events.ResultSubject(e.Type()), e, bus.Continuing(track), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tb.js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	r := tb.start(t, fastConfig())
	evs := tb.settle(t, 30*time.Second)
	if len(evs) != 1 {
		t.Fatalf("%d completion events, want 1", len(evs))
	}
	if got := servicetest.Gathered(t, r.metrics, "mendflow_poller_duplicate_completions_total"); got != 1 {
		t.Errorf("duplicates counted: %v, want 1", got)
	}
}

// Two pollers share the items and emit one event per item.
func TestTwoPollers(t *testing.T) {
	t.Parallel()
	tb := newTestbed(t, byPolls)
	a, b := tb.start(t, fastConfig()), tb.start(t, fastConfig())
	// Both are waiting for items before there are any: one started late
	// on a busy machine could find them all done.
	servicetest.Eventually(t, 20*time.Second, func() bool {
		cons, err := tb.js.Consumer(t.Context(), events.StreamTracking, ConsumerName)
		if err != nil {
			return false
		}
		info, err := cons.Info(t.Context())
		return err == nil && info.NumWaiting >= 2
	}, "both pollers to wait for items")
	tracks := follow(t, tb, 200)
	checkOnePerItem(t, tracks, tb.settle(t, 60*time.Second))
	for name, r := range map[string]*running{"first": a, "second": b} {
		if polls := servicetest.Gathered(t, r.metrics, "mendflow_poller_polls_total"); polls == 0 {
			t.Errorf("the %s poller never polled: the load is not shared", name)
		}
	}
}

// Ten thousand items followed at once all complete, one event each.
func TestTenThousandItems(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 items take a while")
	}
	t.Parallel()
	// Two polls each: every item waits on the server for its second.
	tb := newTestbed(t, mendsim.Config{ProcessDuration: time.Hour, ProcessPolls: 2, RequestDuration: time.Hour, RequestPolls: 2})
	tracks := follow(t, tb, 10_000)
	cfg := fastConfig()
	cfg.Concurrency = 32
	// Following them takes tens of seconds on a busy machine; none should
	// end by timeout.
	cfg.Deadline = 10 * time.Minute
	tb.start(t, cfg)
	checkOnePerItem(t, tracks, tb.settle(t, 5*time.Minute))
}

// On shutdown a poller hands back what it holds and returns; nothing is
// lost, and the next poller finishes the items at once rather than after
// the AckWait of deliveries left unanswered.
func TestShutdownHandsBack(t *testing.T) {
	t.Parallel()
	tb := newTestbed(t, byPolls)
	cfg := fastConfig()
	cfg.AckWait = time.Minute
	tracks := follow(t, tb, 40)
	first := tb.start(t, cfg)
	servicetest.Eventually(t, 20*time.Second, func() bool { return statusCalls(tb.sim) >= 10 }, "the first poller to poll")
	first.stop(t)
	tb.start(t, cfg)
	checkOnePerItem(t, tracks, tb.settle(t, 20*time.Second))
}

// A message that is not a Track item is dropped, not redelivered forever.
func TestInvalidItemDropped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
	}{
		{"no kind", `{"orgToken":"o","started":"2026-01-01T00:00:00Z"}`},
		{"process without uuid", `{"kind":"process","orgToken":"o","started":"2026-01-01T00:00:00Z"}`},
		{"not JSON", `{`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := newTestbed(t, byPolls)
			e := event.New()
			e.SetID("bad")
			e.SetSource("/test")
			e.SetType(events.TrackType(events.TrackProcess))
			e.SetDataContentType(event.ApplicationJSON)
			e.DataEncoded = []byte(tt.data)
			msg, err := bus.ToMsg(events.TrackSubject(events.TrackProcess), e)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tb.js.PublishMsg(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
			r := tb.start(t, fastConfig())
			if evs := tb.settle(t, 10*time.Second); len(evs) != 0 {
				t.Errorf("%d events for an invalid item, want none", len(evs))
			}
			if got := servicetest.Gathered(t, r.metrics, "mendflow_poller_invalid_items_total"); got != 1 {
				t.Errorf("invalid items counted: %v, want 1", got)
			}
		})
	}
}

// A poller whose consumer is deleted under it returns an error, so that its
// process exits and is restarted (recreating the consumer), rather than
// idling.
func TestConsumerDeleted(t *testing.T) {
	t.Parallel()
	tb := newTestbed(t, byPolls)
	// One item followed to its end: the poller is pulling.
	tracks := follow(t, tb, 1)
	r := tb.start(t, fastConfig())
	checkOnePerItem(t, tracks, tb.settle(t, 10*time.Second))
	if err := tb.js.DeleteConsumer(context.Background(), events.StreamTracking, ConsumerName); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.done:
		if r.err == nil {
			t.Error("Run returned nil after its consumer was deleted")
		}
		r.killed = true // its error is expected
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its consumer was deleted")
	}
}

// A JWT that expires while a process is followed is renewed by the client;
// the poller sees nothing of it.
func TestJWTRenewedWhileFollowing(t *testing.T) {
	t.Parallel()
	sim := byPolls
	sim.JWTLifetime = 2 * time.Second
	tb := newTestbed(t, sim)
	tracks := follow(t, tb, 1) // a process: polled 0.5, 1 and 2 s after it started
	cfg := fastConfig()
	cfg.FirstInterval, cfg.MaxInterval = 500*time.Millisecond, time.Second
	tb.start(t, cfg)
	checkOnePerItem(t, tracks, tb.settle(t, 10*time.Second))
	if logins := len(tb.sim.CallsOf("login")); logins < 2 {
		t.Errorf("%d logins, want a renewal at least", logins)
	}
}
