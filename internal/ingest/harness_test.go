package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/githubsig"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
)

const (
	testGitHubSecret = "gh-webhook-secret-9f8e7d"
	testGitLabToken  = "gl-hook-token-1a2b3c"
	testdata         = "../../testdata"
)

// harness is a running ingest service on loopback, wired by newService as
// in production, in front of an in-process NATS server.
type harness struct {
	t      *testing.T
	nats   *natstest.Server
	js     jetstream.JetStream
	addr   string // host:port of the server
	client *http.Client
	logs   *servicetest.Logs // what the service logged, in JSON lines
}

func testConfig(natsURL string) *Config {
	return &Config{
		NATSURL:          natsURL,
		Addr:             "127.0.0.1:0",
		GitHubSecret:     testGitHubSecret,
		GitLabToken:      testGitLabToken,
		MendOrgToken:     "org-token-not-for-events",
		MaxBodyBytes:     64 << 10,
		MaxInflightBytes: 64 << 20,
		MaxConns:         1024,
		PublishTimeout:   2 * time.Second,
		RetryAfter:       3 * time.Second,
		ShutdownTimeout:  5 * time.Second,
		WebhookRate:      "*",
		Streams: bus.StreamConfig{
			Replicas: 1, DedupWindow: time.Hour,
			EventsMaxAge: time.Hour, EventsMaxBytes: 1 << 20, DLQMaxAge: time.Hour, DLQMaxBytes: -1,
		},
	}
}

func newHarness(t *testing.T, edit func(*Config)) *harness {
	t.Helper()
	return newHarnessOn(t, natstest.Start(t), edit)
}

// newHarnessOn is newHarness in front of the NATS server ns.
func newHarnessOn(t *testing.T, ns *natstest.Server, edit func(*Config)) *harness {
	t.Helper()
	cfg := testConfig(ns.URL())
	if edit != nil {
		edit(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &servicetest.Logs{}
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := newService(ctx, cfg, app.Telemetry{Logger: slog.New(slog.NewJSONHandler(logs, nil)), Tracer: sdktrace.NewTracerProvider()})
	if err != nil {
		cancel()
		t.Fatalf("newService: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	h := harnessFor(t, svc.Addr())
	h.nats, h.logs = ns, logs
	_, h.js = ns.Connect()
	return h
}

// harnessFor is a harness that sends its requests to the ingest at addr.
func harnessFor(t *testing.T, addr string) *harness {
	client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	return &harness{t: t, addr: addr, client: client}
}

// do sends a request and returns the status, headers and body.
func (h *harness) do(method, path string, header http.Header, body []byte) (int, http.Header, []byte) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), method, "http://"+h.addr+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// msgs returns every message stored in MENDFLOW_COMMANDS, oldest first.
func (h *harness) msgs() []*jetstream.RawStreamMsg {
	h.t.Helper()
	return natstest.StreamMsgs(h.t, h.js, events.StreamCommands)
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func githubHeaders(event, delivery string, body []byte) http.Header {
	return http.Header{
		"Content-Type":        {"application/json"},
		"User-Agent":          {"GitHub-Hookshot/8e03811"},
		"X-Github-Event":      {event},
		"X-Github-Delivery":   {delivery},
		"X-Github-Hook-Id":    {"501234567"},
		"X-Hub-Signature-256": {githubsig.Sign(body, testGitHubSecret)},
	}
}

func gitlabHeaders(uuid string) http.Header {
	return http.Header{
		"Content-Type":          {"application/json"},
		"User-Agent":            {"GitLab/17.5.1"},
		"X-Gitlab-Event":        {"System Hook"},
		"X-Gitlab-Token":        {testGitLabToken},
		"X-Gitlab-Instance":     {"https://gitlab.acme.example.com"},
		"X-Gitlab-Webhook-Uuid": {"2c3d4e5f-0a1b-4c2d-8e9f-7a6b5c4d3e2f"},
		"X-Gitlab-Event-Uuid":   {uuid},
		// One per delivery, as GitLab sends it; equal to the event UUID
		// here, so that the Nats-Msg-Ids are those of (source, uuid).
		"Idempotency-Key": {uuid},
	}
}

var structuredHeader = http.Header{"Content-Type": {mediaStructured}}

// decodeAnswer decodes a 2xx body.
func decodeAnswer(t testing.TB, body []byte) answer {
	t.Helper()
	var a answer
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	return a
}

// newTrap returns the URL of a server that reports any request to it.
func newTrap(t *testing.T, called chan<- struct{}) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		select {
		case called <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
