package worker

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
)

// TestServesWhileNATSIsDown starts a worker before its NATS server: it is
// alive and serves its metrics at once, is not ready and says what it
// waits for, and carries out commands once NATS is up.
func TestServesWhileNATSIsDown(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.nats.Stop()
	env := maps.Clone(h.env)
	env["WORKER_ADDR"] = "127.0.0.1:0"
	addr, stop, done := servicetest.Start(t, func(ctx context.Context, listening func(string)) error {
		return Run(ctx, envconfig.MapLookuper(env), app.Telemetry{Logger: slog.New(slog.DiscardHandler), OnListen: listening})
	})

	if status, body := servicetest.Get(t, addr, "/healthz"); status != http.StatusOK {
		t.Errorf("healthz while NATS is down = %d %q", status, body)
	}
	if status, body := servicetest.Get(t, addr, "/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, "not ready: connecting to NATS") {
		t.Errorf("readyz while NATS is down = %d %q, want 503 naming the NATS connection", status, body)
	}
	if status, body := servicetest.Get(t, addr, "/metrics"); status != http.StatusOK || !strings.Contains(body, "mendflow_worker_in_flight 0") {
		t.Errorf("metrics while NATS is down = %d, want 200 with the worker's metrics", status)
	}

	h.nats.Restart()
	servicetest.WaitReady(t, addr, 15*time.Second)
	_, h.js = h.nats.Connect()
	cmd := h.send(events.CommandProductCreate, events.ProductCreate{ProductName: "after-start"})
	if got := h.waitAnswer(cmd.ID(), 10*time.Second); got.Type() != events.TypeProductCreated {
		t.Errorf("answer %s, want %s", got.Type(), events.TypeProductCreated)
	}

	servicetest.Stop(t, stop, done, addr, 20*time.Second)
}

// TestStopsWhileWaitingForNATS: SIGTERM while NATS cannot be reached stops
// the worker at once, cleanly, and frees its address.
func TestStopsWhileWaitingForNATS(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"NATS_URL": "nats://" + servicetest.NoServer(t), "MEND_URL": "http://127.0.0.1:1", "MEND_USER_KEY": "k",
		"MEND_USER_EMAIL": "e", "MEND_ORG_TOKEN": "o", "WORKER_ADDR": "127.0.0.1:0",
	}
	addr, stop, done := servicetest.Start(t, func(ctx context.Context, listening func(string)) error {
		return Run(ctx, envconfig.MapLookuper(env), app.Telemetry{Logger: slog.New(slog.DiscardHandler), OnListen: listening})
	})
	servicetest.Stop(t, stop, done, addr, 5*time.Second)
}
