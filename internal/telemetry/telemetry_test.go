package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func TestLoggerLevelFormatAndTrace(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger, err := NewLogger(t.Context(), envconfig.MapLookuper(map[string]string{"LOG_LEVEL": "warn"}), &buf)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(context.Background(), "s")
	defer span.End()
	logger.InfoContext(ctx, "dropped")
	logger.With("event_id", "e-1").WarnContext(ctx, "kept")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("one JSON line expected: %v: %s", err, buf.String())
	}
	if line["msg"] != "kept" || line["event_id"] != "e-1" || line["trace_id"] != span.SpanContext().TraceID().String() ||
		line["span_id"] != span.SpanContext().SpanID().String() {
		t.Errorf("line %v, want the warning with event_id and the span's trace_id and span_id", line)
	}

	buf.Reset()
	logger, err = NewLogger(t.Context(), envconfig.MapLookuper(map[string]string{"LOG_FORMAT": "text", "LOG_LEVEL": "debug"}), &buf)
	if err != nil {
		t.Fatal(err)
	}
	logger.Debug("no span", "k", "v")
	if got := buf.String(); !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, "k=v") || strings.Contains(got, "trace_id") {
		t.Errorf("text line %q", got)
	}
}

func TestExportOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  TraceConfig
		want bool
	}{
		{TraceConfig{}, false},
		{TraceConfig{Endpoint: "http://collector:4318"}, true},
		{TraceConfig{TracesEndpoint: "http://collector:4318/v1/traces"}, true},
		{TraceConfig{Exporter: "otlp"}, true},
		{TraceConfig{Exporter: "none", Endpoint: "http://collector:4318"}, false},
	}
	for _, tt := range tests {
		if got := tt.cfg.exports(); got != tt.want {
			t.Errorf("%+v exports = %v, want %v", tt.cfg, got, tt.want)
		}
	}
}

// TestIDTracer checks the spans of a service that exports none: each has
// ids of its own, continues the trace it is started in, keeps that trace's
// sampled flag, and records nothing.
func TestIDTracer(t *testing.T) {
	t.Parallel()
	tp, err := NewTracerProvider(t.Context(), envconfig.MapLookuper(nil), "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tp.(IDTracerProvider); !ok {
		t.Fatalf("without OTEL_* variables the provider is %T, want IDTracerProvider", tp)
	}
	tracer := tp.Tracer("test")

	ctx, root := tracer.Start(t.Context(), "root")
	rsc := root.SpanContext()
	if !rsc.IsValid() || !rsc.IsSampled() || root.IsRecording() {
		t.Fatalf("root span %+v: want valid ids, sampled, not recording", rsc)
	}
	_, other := tracer.Start(t.Context(), "root")
	if other.SpanContext().TraceID() == rsc.TraceID() {
		t.Error("two new traces share a trace id")
	}

	_, child := tracer.Start(ctx, "child")
	csc := child.SpanContext()
	if csc.TraceID() != rsc.TraceID() || csc.SpanID() == rsc.SpanID() || !csc.IsValid() {
		t.Errorf("child %v of %v: want the same trace and a span id of its own", csc, rsc)
	}

	unsampled := trace.NewSpanContext(trace.SpanContextConfig{TraceID: rsc.TraceID(), SpanID: rsc.SpanID(), Remote: true})
	_, span := tracer.Start(trace.ContextWithRemoteSpanContext(t.Context(), unsampled), "child of unsampled")
	if span.SpanContext().IsSampled() || span.SpanContext().TraceID() != rsc.TraceID() {
		t.Errorf("child of an unsampled parent: %v, want the parent's trace, unsampled", span.SpanContext())
	}

	_, newRoot := tracer.Start(ctx, "new root", trace.WithNewRoot())
	if newRoot.SpanContext().TraceID() == rsc.TraceID() {
		t.Error("WithNewRoot continued the trace in the context")
	}

	tp, err = NewTracerProvider(t.Context(), envconfig.MapLookuper(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Shutdown(context.Background())
	if _, ok := tp.(*sdktrace.TracerProvider); !ok {
		t.Errorf("with an OTLP endpoint the provider is %T, want the SDK's", tp)
	}
}
