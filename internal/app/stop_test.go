package app

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
)

// TestShutdownDrainPolicy: Shutdown stops the HTTP server, then drains
// NATS; a drain that does not finish in time is a warning, not an error,
// and leaves the connection closed.
func TestShutdownDrainPolicy(t *testing.T) {
	t.Parallel()
	ns := natstest.StartCore(t, nil)
	for _, tt := range []struct {
		name     string
		stuck    bool // a message handler that does not return holds the drain
		wantWarn bool
	}{
		{name: "drained", stuck: false},
		{name: "drain timed out", stuck: true, wantWarn: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logs := &servicetest.Logs{}
			logger := slog.New(slog.NewTextHandler(logs, nil))
			srv, err := Listen("TEST_ADDR", "127.0.0.1:0", ServerConfig{})
			if err != nil {
				t.Fatal(err)
			}
			srv.Start()
			nc, err := nats.Connect(ns.URL())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if tt.stuck {
				release, handling := make(chan struct{}), make(chan struct{})
				t.Cleanup(func() { close(release) })
				if _, err := nc.Subscribe("stuck", func(*nats.Msg) { close(handling); <-release }); err != nil {
					t.Fatal(err)
				}
				if err := nc.Publish("stuck", nil); err != nil {
					t.Fatal(err)
				}
				<-handling
			}

			if err := Shutdown(logger, srv, nc, 300*time.Millisecond); err != nil {
				t.Errorf("Shutdown = %v, want nil", err)
			}
			if !nc.IsClosed() {
				t.Errorf("NATS is %v after Shutdown, want closed", nc.Status())
			}
			if warned := strings.Contains(logs.String(), "NATS did not drain in time"); warned != tt.wantWarn {
				t.Errorf("warned %v, want %v; logs:\n%s", warned, tt.wantWarn, logs)
			}
			if _, err := srv.ln.Accept(); err == nil {
				t.Error("the HTTP server still accepts after Shutdown")
			}
		})
	}
}
