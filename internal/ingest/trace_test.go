package ingest

import (
	"net/http"
	"strings"
	"testing"
)

// TestTraceContinues sends a trace in with events, as a traceparent header
// and as the CloudEvents distributed tracing extension, and expects each
// stored command to continue it from ingest's span of the event.
func TestTraceContinues(t *testing.T) {
	t.Parallel()
	const (
		headerTrace = "0af7651916cd43dd8448eb211c80319c"
		eventTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
		parentSpan  = "00f067aa0ba902b7"
	)
	h := newHarness(t, nil)

	// Structured event, trace in the HTTP header.
	header := http.Header{"Content-Type": {mediaStructured}, "Traceparent": {"00-" + headerTrace + "-" + parentSpan + "-01"}}
	if status, _, b := h.do(http.MethodPost, "/events", header, structured("header-1", "request.track", `{"requestToken":"r1"}`)); status != http.StatusAccepted {
		t.Fatalf("POST: %d %s", status, b)
	}
	// Binary event, trace in its extension (and a header that it wins over).
	binary := http.Header{
		"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0"}, "Ce-Id": {"ext-1"}, "Ce-Source": {"/s"},
		"Ce-Type":        {"io.mendflow.command.request.track"},
		"Ce-Traceparent": {"00-" + eventTrace + "-" + parentSpan + "-01"},
		"Traceparent":    {"00-" + headerTrace + "-" + parentSpan + "-01"},
	}
	if status, _, b := h.do(http.MethodPost, "/events", binary, []byte(`{"requestToken":"r2"}`)); status != http.StatusAccepted {
		t.Fatalf("POST: %d %s", status, b)
	}
	// No trace at all: ingest starts one.
	if status, _, b := h.do(http.MethodPost, "/events", structuredHeader, structured("none-1", "request.track", `{"requestToken":"r3"}`)); status != http.StatusAccepted {
		t.Fatalf("POST: %d %s", status, b)
	}

	want := map[string]string{"header-1": headerTrace, "ext-1": eventTrace, "none-1": ""}
	msgs := h.msgs()
	if len(msgs) != len(want) {
		t.Fatalf("%d commands stored, want %d", len(msgs), len(want))
	}
	for _, m := range msgs {
		id, tp := m.Header.Get("ce-id"), m.Header.Get("ce-traceparent")
		parts := strings.Split(tp, "-")
		if len(parts) != 4 || len(parts[1]) != 32 || parts[2] == parentSpan {
			t.Errorf("command %s traceparent %q, want one of a span of ingest's", id, tp)
			continue
		}
		if trace := want[id]; trace != "" && parts[1] != trace {
			t.Errorf("command %s traceparent %q, want trace %s", id, tp, trace)
		}
	}
}
