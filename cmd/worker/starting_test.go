package main

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/daemon"
	"github.com/mendflow/mendflow/pkg/events"
)

// TestServesWhileNATSIsDown starts a worker before its NATS server: it is
// alive and serves its metrics at once, is not ready and says what it
// waits for, and carries out commands once NATS is up.
func TestServesWhileNATSIsDown(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.nats.Stop()
	addr := servicetest.FreeAddr(t)
	env := maps.Clone(h.env)
	env["WORKER_ADDR"] = addr
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- realMain(ctx, envconfig.MapLookuper(env), daemon.Telemetry{Logger: slog.New(slog.DiscardHandler)}, nil)
	}()
	servicetest.WaitServing(t, addr, done)

	if status, body := fetch(t, addr, "/healthz"); status != http.StatusOK {
		t.Errorf("healthz while NATS is down = %d %q", status, body)
	}
	if status, body := fetch(t, addr, "/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, "not ready: connecting to NATS") {
		t.Errorf("readyz while NATS is down = %d %q, want 503 naming the NATS connection", status, body)
	}
	if status, body := fetch(t, addr, "/metrics"); status != http.StatusOK || !strings.Contains(body, "mendflow_worker_in_flight 0") {
		t.Errorf("metrics while NATS is down = %d, want 200 with the worker's metrics", status)
	}

	h.nats.Restart()
	waitFor(t, 15*time.Second, func() bool {
		status, _ := fetch(t, addr, "/readyz")
		return status == http.StatusOK
	}, "the worker to be ready once NATS is up")
	_, h.js = h.nats.Connect()
	cmd := h.send(events.CommandProductCreate, events.ProductCreate{ProductName: "after-start"})
	if got := h.waitAnswer(cmd.ID(), 10*time.Second); got.Type() != events.TypeProductCreated {
		t.Errorf("answer %s, want %s", got.Type(), events.TypeProductCreated)
	}

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("realMain = %v, want nil after a graceful stop", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("realMain did not return")
	}
}

// TestStopsWhileWaitingForNATS: SIGTERM while NATS cannot be reached stops
// the worker at once, cleanly, and frees its address.
func TestStopsWhileWaitingForNATS(t *testing.T) {
	t.Parallel()
	addr := servicetest.FreeAddr(t)
	env := map[string]string{
		"NATS_URL": "nats://" + servicetest.FreeAddr(t), "MEND_URL": "http://127.0.0.1:1", "MEND_USER_KEY": "k",
		"MEND_ORG_TOKEN": "o", "WORKER_ADDR": addr,
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- realMain(ctx, envconfig.MapLookuper(env), daemon.Telemetry{Logger: slog.New(slog.DiscardHandler)}, nil)
	}()
	servicetest.WaitServing(t, addr, done)
	servicetest.Stop(t, stop, done, addr)
}

// fetch is GET addr+path: the status and the body.
func fetch(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
