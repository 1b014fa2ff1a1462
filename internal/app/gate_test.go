package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/internal/telemetry"
)

// TestGateOnServer follows /readyz through a set-up: the reason the set-up
// waits for, then the service's own check once the gate is open, while
// /healthz answers throughout.
func TestGateOnServer(t *testing.T) {
	t.Parallel()
	gate := NewGate()
	srv, err := Listen("TEST_ADDR", "127.0.0.1:0", ServerConfig{Metrics: telemetry.NewRegistry(), Ready: gate.Ready})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Close() })
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	check := func(path string, status int, body string) {
		t.Helper()
		if gotStatus, gotBody := get(path); gotStatus != status || !strings.Contains(gotBody, body) {
			t.Errorf("GET %s = %d %q, want %d with %q", path, gotStatus, gotBody, status, body)
		}
	}

	check("/healthz", 200, "ok")
	check("/metrics", 200, "go_goroutines")
	check("/readyz", 503, "not ready: connecting to NATS")

	var logged []string
	onRetry := gate.Retrying(func(err error, wait time.Duration) { logged = append(logged, fmt.Sprint(err, " ", wait)) })
	onRetry(errors.New("nats: timeout"), time.Second)
	check("/readyz", 503, "not ready: waiting for JetStream set-up: nats: timeout")
	if len(logged) != 1 || logged[0] != "nats: timeout 1s" {
		t.Errorf("next got %q, want the failure and its wait", logged)
	}

	var notReady error
	gate.Open(func(context.Context) error { return notReady })
	check("/readyz", 200, "ok")
	onRetry(errors.New("late"), time.Second) // a set-up over does not close the gate again
	gate.Wait("connecting to NATS")
	check("/readyz", 200, "ok")
	notReady = errors.New("NATS connection is CLOSED")
	check("/readyz", 503, "not ready: NATS connection is CLOSED")
	check("/healthz", 200, "ok")
}

func TestConnectNATSWaitsForAServer(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	ns.Stop() // not up yet
	gate := NewGate()
	type result struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := ConnectNATS(t.Context(), gate, slog.New(slog.DiscardHandler), ns.URL())
		done <- result{nc, err}
	}()
	servicetest.Eventually(t, 10*time.Second, func() bool {
		err := gate.Ready(t.Context())
		return err != nil && err.Error() == "connecting to NATS: "+nats.ErrNoServers.Error()
	}, "the gate to name the NATS connection")
	select {
	case r := <-done:
		t.Fatalf("ConnectNATS returned (%v, %v) with no server up", r.nc, r.err)
	default:
	}

	ns.Restart()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("ConnectNATS: %v", r.err)
		}
		defer r.nc.Close()
		if !r.nc.IsConnected() {
			t.Errorf("connection is %v", r.nc.Status())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ConnectNATS did not connect once the server was up")
	}
	if err := gate.Ready(t.Context()); err == nil || err.Error() != "waiting for JetStream set-up" {
		t.Errorf("gate after connecting: %v, want it waiting for the JetStream set-up", err)
	}
}

func TestConnectNATSStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	gate := NewGate()
	done := make(chan error, 1)
	go func() {
		_, err := ConnectNATS(ctx, gate, slog.New(slog.DiscardHandler), "nats://"+servicetest.NoServer(t))
		done <- err
	}()
	servicetest.Eventually(t, 10*time.Second, func() bool {
		err := gate.Ready(t.Context())
		return err != nil && strings.HasPrefix(err.Error(), "connecting to NATS: ")
	}, "ConnectNATS to wait for a server")
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ConnectNATS = %v, want context.Canceled", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("ConnectNATS still waiting after its context ended")
	}
}

// TestConnectNATSFailsAtOnce: what waiting does not cure ends the set-up at
// once, and the error does not repeat the URL's password.
func TestConnectNATSFailsAtOnce(t *testing.T) {
	t.Parallel()
	addr := natstest.StartCore(t, func(o *server.Options) { o.Username, o.Password = "mendflow", "right" }).Addr()
	tests := []struct {
		name, url, wantErr string
	}{
		{"malformed URL", "nats://mendflow:hunter2@" + addr + "x", "invalid port"},
		{"port out of range", "nats://mendflow:hunter2@" + addr + "0000", "invalid port"},
		{"unescaped % in the password", "nats://mendflow:hunter2%zz@" + addr, "escape"},
		{"wrong password", "nats://mendflow:hunter2@" + addr, "nats: Authorization Violation"},
		{"TLS the server lacks", "tls://mendflow:hunter2@" + addr, nats.ErrSecureConnWanted.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			nc, err := ConnectNATS(ctx, NewGate(), slog.New(slog.DiscardHandler), tt.url)
			if err == nil {
				nc.Close()
			}
			if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ConnectNATS = %v, want at once an error with %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "%zz") {
				t.Errorf("the error holds the password: %v", err)
			}
		})
	}
}
