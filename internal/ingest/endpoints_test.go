package ingest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestHandshake(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		edit     func(*Config)
		wantRate string
	}{
		{name: "any origin, no rate limit", edit: nil, wantRate: "*"},
		{name: "allowed origin and rate", edit: func(c *Config) {
			c.WebhookOrigins, c.WebhookRate = []string{"eventgrid.azure.net"}, "120"
		}, wantRate: "120"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tc.edit)
			// The callback must never be called: it points at a server that
			// fails the test if it is.
			called := make(chan struct{}, 1)
			cb := newTrap(t, called)
			status, header, body := h.do(http.MethodOptions, "/events", http.Header{
				"Webhook-Request-Origin":   {"eventgrid.azure.net"},
				"Webhook-Request-Callback": {cb},
				"Webhook-Request-Rate":     {"120"},
			}, nil)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			if got := header.Get("WebHook-Allowed-Origin"); got != "eventgrid.azure.net" {
				t.Errorf("WebHook-Allowed-Origin = %q", got)
			}
			if got := header.Get("WebHook-Allowed-Rate"); got != tc.wantRate {
				t.Errorf("WebHook-Allowed-Rate = %q, want %q", got, tc.wantRate)
			}
			if got := header.Get("Allow"); got != "OPTIONS, POST" {
				t.Errorf("Allow = %q", got)
			}
			select {
			case <-called:
				t.Error("the handshake called the callback URL")
			default:
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	body := readFile(t, "github/repository.created.json")
	for range 2 {
		h.do(http.MethodPost, "/webhooks/github", githubHeaders("repository", "m-1", body), body)
	}
	h.do(http.MethodPost, "/events", structuredHeader, []byte(`{}`))
	h.do(http.MethodPost, "/events", structuredHeader, []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"com.example.unknown"}`))
	// Refused before any event is read: counted invalid on every endpoint.
	h.do(http.MethodPost, "/events", http.Header{"Content-Type": {"text/plain"}}, []byte(`hello`))
	h.do(http.MethodPost, "/webhooks/github", http.Header{"Content-Type": {"application/json"}, "X-Github-Event": {"repository"}}, body)

	status, _, b := h.do(http.MethodGet, "/metrics", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("metrics: %d", status)
	}
	text := string(b)
	for _, want := range []string{
		`mendflow_ingest_events_total{outcome="queued",type="com.github.repository.created"} 1`,
		`mendflow_ingest_events_total{outcome="duplicate",type="com.github.repository.created"} 1`,
		`mendflow_ingest_events_total{outcome="ignored",type="other"} 1`,
		`mendflow_ingest_events_total{outcome="invalid",type="other"} 3`,
		`mendflow_ingest_duplicate_commands_total 1`,
		`mendflow_ingest_request_duration_seconds_count{code="202",path="/webhooks/github"} 2`,
		`mendflow_ingest_request_duration_seconds_count{code="400",path="/events"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestCommandTooLargeCountsInvalid: a command too large to store (headers
// over the limit: 413) is the sender's doing, counted as an invalid event
// and a too_large publish failure, not as JetStream unavailable.
func TestCommandTooLargeCountsInvalid(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	var ext strings.Builder
	for i := range 20 {
		fmt.Fprintf(&ext, `,"x%d":%q`, i, strings.Repeat("v", maxAttributeBytes))
	}
	body := []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"io.mendflow.command.request.track"` + ext.String() + `,"data":{"requestToken":"r"}}`)
	if status, _, b := h.do(http.MethodPost, "/events", structuredHeader, body); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %.300s", status, b)
	}
	_, _, b := h.do(http.MethodGet, "/metrics", nil, nil)
	text := string(b)
	for _, want := range []string{
		`mendflow_ingest_events_total{outcome="invalid",type="other"} 1`,
		`mendflow_ingest_publish_failures_total{reason="too_large"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(text, `outcome="unavailable"`) {
		t.Errorf("a command too large counted as unavailable:\n%s", text)
	}
}

// TestChunkedBody sends bodies without a Content-Length: read up to the
// limit, and refused with 413 beyond it.
func TestChunkedBody(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.MaxBodyBytes = 4 << 10 })
	post := func(body []byte) (int, []byte) {
		// A reader of unknown length: the client sends it chunked.
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+h.addr+"/events", io.MultiReader(bytes.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = structuredHeader.Clone()
		resp, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if status, b := post(structured("chunked-1", "request.track", `{"requestToken":"r"}`)); status != http.StatusAccepted {
		t.Errorf("chunked event: %d %s, want 202", status, b)
	}
	big := structured("chunked-2", "request.track", `{"requestToken":"`+strings.Repeat("r", 5<<10)+`"}`)
	if status, b := post(big); status != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body over the limit: %d %s, want 413", status, b)
	}
	if n := len(h.msgs()); n != 1 {
		t.Errorf("%d commands stored, want the one of the event within the limit", n)
	}
}
