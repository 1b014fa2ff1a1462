package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/config"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
)

func TestConfig(t *testing.T) {
	t.Parallel()
	defaults := Config{
		NATSURL:          "nats://127.0.0.1:4222",
		Addr:             ":8080",
		MendOrgToken:     "org",
		MaxBodyBytes:     1 << 20,
		MaxInflightBytes: 64 << 20,
		MaxConns:         1024,
		PublishTimeout:   5 * time.Second,
		RetryAfter:       5 * time.Second,
		ShutdownTimeout:  25 * time.Second,
		WebhookRate:      "*",
		Streams: bus.StreamConfig{
			Replicas: 1, DedupWindow: 24 * time.Hour,
			EventsMaxAge: 168 * time.Hour, EventsMaxBytes: 1 << 30,
			DLQMaxAge: 720 * time.Hour, DLQMaxBytes: -1,
		},
	}
	cases := []struct {
		name    string
		env     map[string]string
		want    func(*Config)
		wantErr string
	}{
		{name: "defaults", env: map[string]string{"MEND_ORG_TOKEN": "org"}, want: func(*Config) {}},
		{
			name: "everything set",
			env: map[string]string{
				"MEND_ORG_TOKEN": "org", "NATS_URL": "nats://a:4222,nats://b:4222", "INGEST_ADDR": "127.0.0.1:9000",
				"INGEST_AUTH_TOKEN": "t", "GITHUB_WEBHOOK_SECRET": "g", "GITLAB_WEBHOOK_TOKEN": "l", "RULES_FILE": "/etc/rules.yaml",
				"INGEST_MAX_BODY_BYTES": "2048", "INGEST_MAX_INFLIGHT_BYTES": "4096", "INGEST_MAX_CONNS": "0", "INGEST_PUBLISH_TIMEOUT": "1s", "INGEST_RETRY_AFTER": "30s",
				"INGEST_SHUTDOWN_TIMEOUT": "10s", "INGEST_WEBHOOK_ORIGINS": "https://a.example,https://b.example",
				"INGEST_WEBHOOK_RATE": "120", "STREAM_REPLICAS": "3", "STREAM_DEDUP_WINDOW": "72h",
				"STREAM_EVENTS_MAX_AGE": "24h", "STREAM_EVENTS_MAX_BYTES": "-1", "STREAM_DLQ_MAX_AGE": "0s", "STREAM_DLQ_MAX_BYTES": "1000",
			},
			want: func(c *Config) {
				c.NATSURL, c.Addr = "nats://a:4222,nats://b:4222", "127.0.0.1:9000"
				c.AuthToken, c.GitHubSecret, c.GitLabToken, c.RulesFile = "t", "g", "l", "/etc/rules.yaml"
				c.MaxBodyBytes, c.MaxInflightBytes, c.MaxConns = 2048, 4096, 0
				c.PublishTimeout, c.RetryAfter, c.ShutdownTimeout = time.Second, 30*time.Second, 10*time.Second
				c.WebhookOrigins, c.WebhookRate = []string{"https://a.example", "https://b.example"}, "120"
				c.Streams = bus.StreamConfig{Replicas: 3, DedupWindow: 72 * time.Hour, EventsMaxAge: 24 * time.Hour,
					EventsMaxBytes: -1, DLQMaxAge: 0, DLQMaxBytes: 1000}
			},
		},
		{name: "no org token", env: map[string]string{}, wantErr: "MEND_ORG_TOKEN: missing required value"},
		{name: "empty org token", env: map[string]string{"MEND_ORG_TOKEN": ""}, wantErr: "MEND_ORG_TOKEN: missing required value"},
		{name: "body limit not a number", env: map[string]string{"MEND_ORG_TOKEN": "o", "INGEST_MAX_BODY_BYTES": "1MiB"}, wantErr: "INGEST_MAX_BODY_BYTES: "},
		{name: "body limit zero", env: map[string]string{"MEND_ORG_TOKEN": "o", "INGEST_MAX_BODY_BYTES": "0"}, wantErr: "INGEST_MAX_BODY_BYTES: must be positive"},
		{name: "in-flight limit under the body limit", env: map[string]string{"MEND_ORG_TOKEN": "o", "INGEST_MAX_BODY_BYTES": "2048", "INGEST_MAX_INFLIGHT_BYTES": "2047"}, wantErr: "INGEST_MAX_INFLIGHT_BYTES: must be at least INGEST_MAX_BODY_BYTES (2048)"},
		{name: "negative connection limit", env: map[string]string{"MEND_ORG_TOKEN": "o", "INGEST_MAX_CONNS": "-1"}, wantErr: "INGEST_MAX_CONNS: must be 0 (no limit) or positive"},
		{name: "timeout not a duration", env: map[string]string{"MEND_ORG_TOKEN": "o", "INGEST_PUBLISH_TIMEOUT": "5"}, wantErr: "INGEST_PUBLISH_TIMEOUT: "},
		{name: "retry after too short", env: map[string]string{"MEND_ORG_TOKEN": "o", "INGEST_RETRY_AFTER": "100ms"}, wantErr: "INGEST_RETRY_AFTER: must be at least 1s"},
		{name: "bad rate", env: map[string]string{"MEND_ORG_TOKEN": "o", "INGEST_WEBHOOK_RATE": "fast"}, wantErr: "INGEST_WEBHOOK_RATE: "},
		{name: "replicas not a number", env: map[string]string{"MEND_ORG_TOKEN": "o", "STREAM_REPLICAS": "three"}, wantErr: "STREAM_REPLICAS: "},
		{name: "replicas out of range", env: map[string]string{"MEND_ORG_TOKEN": "o", "STREAM_REPLICAS": "0"}, wantErr: "STREAM_REPLICAS: must be 1 to 5"},
		{name: "dedup window", env: map[string]string{"MEND_ORG_TOKEN": "o", "STREAM_DEDUP_WINDOW": "0s"}, wantErr: "STREAM_DEDUP_WINDOW: must be positive"},
		{name: "empty NATS URL", env: map[string]string{"MEND_ORG_TOKEN": "o", "NATS_URL": ""}, wantErr: "NATS_URL: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got Config
			err := config.Load(t.Context(), envconfig.MapLookuper(tc.env), &got)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("LoadConfig error = %v, want one line starting with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			want := defaults
			tc.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("config (-want, +got):\n%s", diff)
			}
		})
	}
}

// TestRealMainRefusesToStart: what waiting would not cure stops ingest at
// once, even with NATS down.
func TestRealMainRefusesToStart(t *testing.T) {
	t.Parallel()
	down := "nats://" + servicetest.NoServer(t)
	bad := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  - name: typo\n    match: {type: x}\n    commands: [{name: project.creat}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	cases := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{name: "bad config", env: map[string]string{"NATS_URL": down}, wantErr: "MEND_ORG_TOKEN: missing required value"},
		{
			name:    "bad rules file",
			env:     map[string]string{"NATS_URL": down, "MEND_ORG_TOKEN": "o", "RULES_FILE": bad},
			wantErr: `RULES_FILE: rules file ` + bad + `: rules[0] (typo): commands[0]: unknown command "project.creat"`,
		},
		{
			name:    "address in use",
			env:     map[string]string{"NATS_URL": down, "MEND_ORG_TOKEN": "o", "INGEST_ADDR": taken.Addr().String()},
			wantErr: "INGEST_ADDR: listen on " + taken.Addr().String() + ": ",
		},
		{
			name:    "NATS URL malformed",
			env:     map[string]string{"NATS_URL": "nats://user:hunter2@127.0.0.1:42x2", "MEND_ORG_TOKEN": "o", "INGEST_ADDR": "127.0.0.1:0"},
			wantErr: `NATS_URL: connect to NATS at <unparsable URL>: invalid port after host`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := Run(ctx, envconfig.MapLookuper(tc.env), app.Telemetry{Logger: slog.New(slog.DiscardHandler)})
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("Run = %v, want an error starting with %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error holds a password: %v", err)
			}
		})
	}
}

// TestRealMainStopsGracefully starts ingest as main does and stops it, as
// SIGTERM does, while requests are in flight: some with their bodies still
// arriving, others sent one after another on kept-alive connections. Every
// request sent is answered (the only failure allowed is a connection
// refused, once ingest stopped accepting: nothing was sent), every 202's
// command is stored, and Run returns nil.
func TestRealMainStopsGracefully(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	addr, stop, done := servicetest.Start(t, func(ctx context.Context, listening func(string)) error {
		return Run(ctx, envconfig.MapLookuper(map[string]string{"NATS_URL": ns.URL(), "INGEST_ADDR": "127.0.0.1:0", "MEND_ORG_TOKEN": "o"}),
			app.Telemetry{Logger: slog.New(slog.DiscardHandler), OnListen: listening})
	})
	servicetest.WaitReady(t, addr, 10*time.Second)
	h := harnessFor(t, addr)
	url := "http://" + addr + "/events"

	var mu sync.Mutex
	accepted := map[string]bool{}
	var cut []string
	answer := func(id string, resp *http.Response, err error) bool {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil && errors.Is(err, syscall.ECONNREFUSED):
			return false
		case err != nil:
			cut = append(cut, fmt.Sprintf("%s: %v", id, err))
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		switch resp.StatusCode {
		case http.StatusAccepted:
			accepted[id] = true
		case http.StatusServiceUnavailable:
		default:
			cut = append(cut, fmt.Sprintf("%s: %d %s", id, resp.StatusCode, b))
		}
		return true
	}

	// Requests whose bodies are still arriving when the stop begins.
	const slow = 8
	var wg sync.WaitGroup
	finish := make([]func(), slow)
	held := 0
	for i := range slow {
		id := fmt.Sprintf("slow-%d", i)
		body := structured(id, "request.track", `{"requestToken":"r"}`)
		held += len(body)
		r, w := io.Pipe()
		req, err := http.NewRequest(http.MethodPost, url, r)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", mediaStructured)
		req.ContentLength = int64(len(body))
		wg.Go(func() {
			resp, err := h.client.Do(req)
			if answer(id, resp, err) && resp.StatusCode != http.StatusAccepted {
				t.Errorf("%s: answered %d, want 202", id, resp.StatusCode)
			}
		})
		if _, err := w.Write(body[:1]); err != nil {
			t.Fatal(err)
		}
		finish[i] = func() {
			if _, err := w.Write(body[1:]); err != nil {
				t.Error(err)
			}
			w.Close()
		}
	}
	// Each is in its handler once its first byte is: its body holds memory.
	h.waitMetric("mendflow_ingest_inflight_body_bytes", float64(held))

	// Senders of one request after another, each on a kept-alive connection.
	var sent atomic.Int64
	for i := range 32 {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			for j := 0; ; j++ {
				id := fmt.Sprintf("keep-%d-%d", i, j)
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(structured(id, "request.track", `{"requestToken":"r"}`)))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Content-Type", mediaStructured)
				resp, err := client.Do(req)
				sent.Add(1)
				if !answer(id, resp, err) {
					return
				}
			}
		})
	}
	for sent.Load() < 300 {
		runtime.Gosched()
	}

	stop() // SIGTERM
	// Once ingest stops accepting, the slow bodies arrive in full.
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		runtime.Gosched()
	}
	for _, f := range finish {
		f()
	}
	wg.Wait()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after a graceful stop", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
	}

	if len(cut) > 0 {
		t.Errorf("%d of %d requests got no answer: %q", len(cut), sent.Load()+slow, cut)
	}
	_, js := ns.Connect()
	stored := map[string]bool{}
	for _, m := range natstest.StreamMsgs(t, js, events.StreamCommands) {
		stored[m.Header.Get("ce-id")] = true
	}
	for id := range accepted {
		if !stored[id] {
			t.Errorf("%s was answered 202 but is not stored", id)
		}
	}
	t.Logf("%d requests sent, %d answered 202, %d stored", sent.Load()+slow, len(accepted), len(stored))
}

func TestDedupWindowAppliedToExistingStream(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	_, js := ns.Connect()
	cfg := testConfig(ns.URL())
	// Another service created the stream with its own default.
	old := cfg.Streams
	old.DedupWindow = 2 * time.Minute
	if err := bus.EnsureStreams(t.Context(), js, old); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(t.Context(), "mendflow.cmd.request.track", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	cfg.Streams.DedupWindow = 72 * time.Hour
	if err := prepareStreams(t.Context(), js, cfg.Streams, slog.New(slog.DiscardHandler), func(error, time.Duration) {}); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(t.Context(), events.StreamCommands)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Duplicates != 72*time.Hour || info.State.Msgs != 1 {
		t.Errorf("after prepareStreams: window %v, %d messages; want 72h and the message kept", info.Config.Duplicates, info.State.Msgs)
	}
}
