package ingest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
)

// fill posts commands until JetStream refuses one, and returns how many it
// took.
func (h *harness) fill() int {
	h.t.Helper()
	data := `{"requestToken":"` + strings.Repeat("r", 2000) + `"}`
	for i := range 1000 {
		status, header, body := h.do(http.MethodPost, "/events", structuredHeader, structured(fmt.Sprintf("fill-%d", i), "request.track", data))
		switch status {
		case http.StatusAccepted:
			continue
		case http.StatusServiceUnavailable:
			if p := decodeProblem(h.t, header, body); !strings.Contains(p.Detail, "jetstream") {
				h.t.Errorf("refused write: %q, want it to name the reason", p.Detail)
			}
			return i
		default:
			h.t.Fatalf("fill: %d %s", status, body)
		}
	}
	h.t.Fatal("JetStream took 1000 commands")
	return 0
}

// readyz is GET /readyz: its status and body.
func (h *harness) readyz() (int, string) {
	h.t.Helper()
	status, _, body := h.do(http.MethodGet, "/readyz", nil, nil)
	return status, string(body)
}

// waitReadyWithoutTraffic waits until /readyz answers 200 after JetStream
// was freed, while nothing is posted: an unready ingest gets no traffic
// that could tell it.
func (h *harness) waitReadyWithoutTraffic() {
	h.t.Helper()
	var status int
	var body string
	if !servicetest.Poll(10*time.Second, func() bool { status, body = h.readyz(); return status == http.StatusOK }) {
		h.t.Fatalf("not ready after JetStream was freed: %d %s", status, body)
	}
}

// purgeCommands empties MENDFLOW_COMMANDS, as the worker would by
// consuming it.
func (h *harness) purgeCommands() {
	h.t.Helper()
	s, err := h.js.Stream(h.t.Context(), events.StreamCommands)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := s.Purge(h.t.Context()); err != nil {
		h.t.Fatal(err)
	}
}

// TestReadyzReportsAFullStore: JetStream's store is full (max_file_store),
// so it refuses every write: /readyz answers 503 naming the cause, and
// once space is freed, answers 200 again with no request coming in, its
// probes having stored nothing in MENDFLOW_COMMANDS.
func TestReadyzReportsAFullStore(t *testing.T) {
	t.Parallel()
	ns := natstest.StartCore(t, func(o *natsserver.Options) {
		o.JetStream, o.StoreDir, o.JetStreamMaxStore = true, t.TempDir(), 128<<10
	})
	h := newHarnessOn(t, ns, func(c *Config) { c.Streams.EventsMaxBytes = -1 }) // a byte limit reserves its bytes of the store
	if status, body := h.readyz(); status != http.StatusOK {
		t.Fatalf("readyz before: %d %s", status, body)
	}
	taken := h.fill()
	status, body := h.readyz()
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "JetStream refuses writes") || !strings.Contains(body, "insufficient resources") {
		t.Fatalf("readyz with the store full: %d %q, want 503 naming insufficient resources", status, body)
	}
	if n := len(h.msgs()); n != taken {
		t.Fatalf("%d commands stored, want the %d accepted", n, taken)
	}

	h.purgeCommands()
	h.waitReadyWithoutTraffic()
	if n := len(h.msgs()); n != 0 {
		t.Errorf("%d messages in %s after the probes, want none", n, events.StreamCommands)
	}
	if status, _, body := h.do(http.MethodPost, "/events", structuredHeader, structured("after", "request.track", `{"requestToken":"r"}`)); status != http.StatusAccepted {
		t.Errorf("after space was freed: %d %s, want 202", status, body)
	}
}

// TestReadyzReportsAFullStream: MENDFLOW_COMMANDS refuses new messages at
// its max_bytes (discard new), while the rest of JetStream takes writes:
// /readyz answers 503 naming the stream until a command fits again.
func TestReadyzReportsAFullStream(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	s, err := h.js.Stream(t.Context(), events.StreamCommands)
	if err != nil {
		t.Fatal(err)
	}
	sc := s.CachedInfo().Config
	sc.MaxBytes, sc.Discard = 16<<10, jetstream.DiscardNew
	if _, err := h.js.UpdateStream(t.Context(), sc); err != nil {
		t.Fatal(err)
	}
	h.fill()
	status, body := h.readyz()
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "maximum bytes exceeded") || !strings.Contains(body, "stream MENDFLOW_COMMANDS is full") {
		t.Fatalf("readyz with the stream full: %d %q, want 503 naming the stream", status, body)
	}

	h.purgeCommands()
	h.waitReadyWithoutTraffic()
	if status, _, body := h.do(http.MethodPost, "/events", structuredHeader, structured("after", "request.track", `{"requestToken":"r"}`)); status != http.StatusAccepted {
		t.Errorf("after the stream was freed: %d %s, want 202", status, body)
	}
}
