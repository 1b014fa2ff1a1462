package worker

import (
	"fmt"
	"testing"
	"time"

	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// TestBacklogGivesWayToAnotherOrganization: a backlog of one organization,
// more commands than the worker carries out at once and than the old
// WORKER_MAX_IN_FLIGHT (64) let through, all waiting for that
// organization's budget, does not hold up another organization's command
// queued behind it: the backlog's commands beyond what the rate serves
// soon are set aside, to come back later without spending an attempt, so
// the other organization's command is done while most of the backlog
// still waits. The backlog is then done all the same, each command once.
func TestBacklogGivesWayToAnotherOrganization(t *testing.T) {
	t.Parallel()
	const (
		quiet   = "5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3"
		backlog = 150
	)
	h := newHarness(t, map[string]string{"MEND_RATE_LIMIT": "40", "MEND_RATE_BURST": "1", "WORKER_CONCURRENCY": "16"})
	h.withSim(mendsim.Config{ProcessDuration: 50 * time.Millisecond, ExtraOrgTokens: []string{quiet}})
	busy := make(map[string]bool)
	for i := range backlog {
		busy[h.send(events.CommandProductCreate, events.ProductCreate{ProductName: fmt.Sprintf("bulk-%d", i)}).ID()] = true
	}
	h.startWorker(nil)
	// The backlog is under way before the other organization's command
	// comes, behind it in the work queue.
	servicetest.Eventually(t, 10*time.Second, func() bool { return len(h.sim.Calls()) > 0 }, "the backlog's first call")
	other := h.send(events.CommandProductCreate, events.ProductCreate{OrgToken: quiet, ProductName: "quiet"})

	if got := h.waitAnswer(other.ID(), 15*time.Second); got.Type() != events.TypeProductCreated {
		t.Fatalf("answer %s %s, want %s", got.Type(), got.Data(), events.TypeProductCreated)
	}
	answered := 0
	for _, e := range h.events(events.StreamEvents) {
		if busy[events.Extension(e, events.ExtCausationID)] {
			answered++
		}
	}
	if answered > backlog/2 {
		t.Errorf("the other organization's command was done after %d of the backlog's %d: it waited behind the backlog", answered, backlog)
	}

	servicetest.Eventually(t, 30*time.Second, func() bool { return h.commandsLeft() == 0 }, "the backlog done")
	counts := make(map[string]int)
	for _, e := range h.events(events.StreamEvents) {
		id := events.Extension(e, events.ExtCausationID)
		if busy[id] {
			if e.Type() != events.TypeProductCreated {
				t.Errorf("backlog command %s answered %s %s", id, e.Type(), e.Data())
			}
			counts[id]++
		}
	}
	if len(counts) != backlog {
		t.Errorf("%d of the backlog's %d commands answered", len(counts), backlog)
	}
	for id, n := range counts {
		if n != 1 {
			t.Errorf("command %s answered %d times", id, n)
		}
	}
	if n := len(h.streamMsgs(events.StreamDLQ)); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
}
