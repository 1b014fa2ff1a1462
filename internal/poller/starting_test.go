package poller

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// TestServesWhileNATSIsDown starts the poller before its NATS server: it is
// alive and serves its metrics at once, is not ready and says what it
// waits for, and follows items once NATS is up.
func TestServesWhileNATSIsDown(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	ns.Stop()
	sim := mendsim.NewServer(mendsim.Config{RequestDuration: time.Hour, RequestPolls: 1})
	t.Cleanup(sim.Close)
	addr, stop, done := servicetest.Start(t, func(ctx context.Context, listening func(string)) error {
		return Run(ctx, envconfig.MapLookuper(map[string]string{
			"NATS_URL": ns.URL(), "POLLER_ADDR": "127.0.0.1:0", "MEND_URL": sim.URL,
			"MEND_USER_KEY": mendsim.DefaultUserKey, "MEND_USER_EMAIL": mendsim.DefaultUserEmail, "MEND_ORG_TOKEN": mendsim.DefaultOrgToken,
			"POLLER_FIRST_INTERVAL": "10ms", "POLLER_MAX_INTERVAL": "50ms",
		}), app.Telemetry{Logger: slog.New(slog.DiscardHandler), OnListen: listening})
	})

	if status, body := servicetest.Get(t, addr, "/healthz"); status != http.StatusOK {
		t.Errorf("healthz while NATS is down = %d %q", status, body)
	}
	if status, body := servicetest.Get(t, addr, "/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, "not ready: connecting to NATS") {
		t.Errorf("readyz while NATS is down = %d %q, want 503 naming the NATS connection", status, body)
	}
	if status, body := servicetest.Get(t, addr, "/metrics"); status != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics while NATS is down = %d, want 200", status)
	}

	ns.Restart()
	servicetest.WaitReady(t, addr, 15*time.Second)
	token, err := sim.RegisterRequest(mendsim.PluginRequest{})
	if err != nil {
		t.Fatal(err)
	}
	nc, js := ns.Connect()
	sub, err := nc.SubscribeSync(events.ResultSubject(events.TypeRequestFinished))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(t.Context(), trackMsg(t, "1", events.Track{Kind: events.TrackRequest, RequestToken: token, Started: time.Now()})); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.NextMsg(10 * time.Second); err != nil {
		t.Errorf("no request.finished event once NATS is up: %v", err)
	}

	servicetest.Stop(t, stop, done, addr, 20*time.Second)
}

// TestStopsWhileWaitingForNATS: SIGTERM while NATS cannot be reached stops
// the poller at once, cleanly, and frees its address.
func TestStopsWhileWaitingForNATS(t *testing.T) {
	t.Parallel()
	addr, stop, done := servicetest.Start(t, func(ctx context.Context, listening func(string)) error {
		return Run(ctx, envconfig.MapLookuper(map[string]string{
			"NATS_URL": "nats://" + servicetest.NoServer(t), "POLLER_ADDR": "127.0.0.1:0", "MEND_URL": "http://127.0.0.1:1",
			"MEND_USER_KEY": "k", "MEND_USER_EMAIL": "e", "MEND_ORG_TOKEN": "o",
		}), app.Telemetry{Logger: slog.New(slog.DiscardHandler), OnListen: listening})
	})
	servicetest.Stop(t, stop, done, addr, 5*time.Second)
}
