package worker

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// TestServerFailureStopsFetching: when the health and metrics server
// fails, run stops fetching before it waits for the commands running; a
// command that arrives meanwhile is left for another worker.
func TestServerFailureStopsFetching(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	if err := h.sim.SetFault(mendsim.Fault{Op: mend.ReqCreateProduct, Latency: time.Second, Count: 1}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	svc, err := newService(ctx, h.settings(), app.Telemetry{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.close()
	served := make(chan error, 1)
	svc.served = served
	done := make(chan error, 1)
	go func() { done <- svc.run(ctx) }()

	first := h.send(events.CommandProductCreate, events.ProductCreate{ProductName: "running"})
	// The product list is quick; then createProduct holds the command
	// (its fault, used up, leaves the list of faults in force).
	servicetest.Eventually(t, 10*time.Second, func() bool { return len(h.sim.Faults()) == 0 }, "createProduct to hold the first command")
	failed := errors.New("listener broke")
	served <- failed
	h.send(events.CommandProductCreate, events.ProductCreate{ProductName: "late"})
	select {
	case err := <-done:
		if !errors.Is(err, failed) {
			t.Errorf("run = %v, want the server's error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after the server failed")
	}
	if got := h.answers(first.ID()); len(got) != 1 || got[0].Type() != events.TypeProductCreated {
		t.Errorf("the running command answered %d times, want once with %s", len(got), events.TypeProductCreated)
	}
	if n := h.okCalls(mend.ReqCreateProduct); n != 1 {
		t.Errorf("createProduct called %d times, want once: a command was fetched after the server failed", n)
	}
}
