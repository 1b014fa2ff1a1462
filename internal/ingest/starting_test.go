package ingest

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
)

// TestServesWhileNATSIsDown starts ingest before its NATS server: it is
// alive and serves its metrics at once, is not ready and refuses events
// while it waits, says so, and takes events once NATS is up.
func TestServesWhileNATSIsDown(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	ns.Stop()
	addr, stop, done := servicetest.Start(t, func(ctx context.Context, listening func(string)) error {
		return Run(ctx, envconfig.MapLookuper(map[string]string{
			"NATS_URL": ns.URL(), "INGEST_ADDR": "127.0.0.1:0", "MEND_ORG_TOKEN": "o",
			"GITHUB_WEBHOOK_SECRET": testGitHubSecret, "INGEST_RETRY_AFTER": "7s",
		}), app.Telemetry{Logger: slog.New(slog.DiscardHandler), OnListen: listening})
	})
	h := harnessFor(t, addr)

	if status, _, body := h.do(http.MethodGet, "/healthz", nil, nil); status != http.StatusOK {
		t.Errorf("healthz while NATS is down = %d %s", status, body)
	}
	if status, _, body := h.do(http.MethodGet, "/readyz", nil, nil); status != http.StatusServiceUnavailable ||
		!strings.Contains(string(body), "not ready: connecting to NATS") {
		t.Errorf("readyz while NATS is down = %d %q, want 503 naming the NATS connection", status, body)
	}
	if status, _, body := h.do(http.MethodGet, "/metrics", nil, nil); status != http.StatusOK || !strings.Contains(string(body), "mendflow_ingest_") {
		t.Errorf("metrics while NATS is down = %d, want 200 with ingest's metrics", status)
	}
	repoCreated := readFile(t, "github/repository.created.json")
	for _, req := range []struct {
		method, path string
		header       http.Header
		body         []byte
	}{
		{http.MethodPost, "/events", structuredHeader, []byte(`{"specversion":"1.0","id":"early-1","source":"/s","type":"com.example.x"}`)},
		{http.MethodOptions, "/events", http.Header{"Webhook-Request-Origin": {"eventemitter.example.com"}}, nil},
		{http.MethodPost, "/webhooks/github", githubHeaders("repository", "early-delivery", repoCreated), repoCreated},
		{http.MethodPost, "/webhooks/gitlab", gitlabHeaders("early-uuid"), []byte(`{"object_kind":"push"}`)},
	} {
		status, header, body := h.do(req.method, req.path, req.header, req.body)
		p := decodeProblem(t, header, body)
		if status != http.StatusServiceUnavailable || header.Get("Retry-After") != "7" ||
			p.Type != problemTypeBase+"unavailable" || !strings.HasPrefix(p.Detail, "ingest is starting") {
			t.Errorf("%s %s while starting = %d, Retry-After %q, %s; want 503, Retry-After 7 and an unavailable problem saying ingest is starting",
				req.method, req.path, status, header.Get("Retry-After"), body)
		}
	}

	if _, _, body := h.do(http.MethodGet, "/metrics", nil, nil); !strings.Contains(string(body), `mendflow_ingest_publish_failures_total{reason="starting"} 4`) {
		t.Error(`metrics lack mendflow_ingest_publish_failures_total{reason="starting"} 4, one for each request refused while starting`)
	}

	ns.Restart()
	servicetest.WaitReady(t, addr, 10*time.Second)
	status, _, body := h.do(http.MethodPost, "/webhooks/github", githubHeaders("repository", "after-start", repoCreated), repoCreated)
	if status != http.StatusAccepted {
		t.Fatalf("webhook once ready = %d %s, want 202", status, body)
	}
	_, js := ns.Connect()
	if msgs := natstest.StreamMsgs(t, js, events.StreamCommands); len(msgs) == 0 {
		t.Error("the accepted delivery's commands are not stored")
	}

	servicetest.Stop(t, stop, done, addr, 15*time.Second)
}

// TestServesWhileJetStreamCannotAnswer: with a NATS server up but no
// JetStream to answer yet, as in a cluster still forming, ingest serves,
// names the set-up it waits for, refuses events, and stops cleanly.
func TestServesWhileJetStreamCannotAnswer(t *testing.T) {
	t.Parallel()
	srv := natstest.StartCore(t, nil)
	addr, stop, done := servicetest.Start(t, func(ctx context.Context, listening func(string)) error {
		return Run(ctx, envconfig.MapLookuper(map[string]string{
			"NATS_URL": srv.URL(), "INGEST_ADDR": "127.0.0.1:0", "MEND_ORG_TOKEN": "o",
		}), app.Telemetry{Logger: slog.New(slog.DiscardHandler), OnListen: listening})
	})
	h := harnessFor(t, addr)

	var status int
	var body []byte
	if !servicetest.Poll(10*time.Second, func() bool {
		status, _, body = h.do(http.MethodGet, "/readyz", nil, nil)
		return status == http.StatusServiceUnavailable && strings.Contains(string(body), "not ready: waiting for JetStream set-up: ")
	}) {
		t.Fatalf("readyz = %d %q, want 503 naming the JetStream set-up", status, body)
	}
	status, header, body := h.do(http.MethodPost, "/events", structuredHeader, []byte(`{"specversion":"1.0","id":"early-1","source":"/s","type":"com.example.x"}`))
	if p := decodeProblem(t, header, body); status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" || p.Type != problemTypeBase+"unavailable" {
		t.Errorf("POST /events while setting up = %d, Retry-After %q, %s; want 503 unavailable with Retry-After", status, header.Get("Retry-After"), body)
	}

	servicetest.Stop(t, stop, done, addr, 5*time.Second)
}

// TestStopsWhileWaitingForNATS: SIGTERM while NATS cannot be reached stops
// ingest at once, cleanly, and frees its address.
func TestStopsWhileWaitingForNATS(t *testing.T) {
	t.Parallel()
	addr, stop, done := servicetest.Start(t, func(ctx context.Context, listening func(string)) error {
		return Run(ctx, envconfig.MapLookuper(map[string]string{
			"NATS_URL": "nats://" + servicetest.NoServer(t), "INGEST_ADDR": "127.0.0.1:0", "MEND_ORG_TOKEN": "o",
		}), app.Telemetry{Logger: slog.New(slog.DiscardHandler), OnListen: listening})
	})
	servicetest.Stop(t, stop, done, addr, 5*time.Second)
}
