package telemetry

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"

	"github.com/sethvargo/go-envconfig"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/mendflow/mendflow/internal/config"
)

// TraceConfig is the part of the standard OTEL_* variables that decides
// whether spans are exported, and the timings that are checked here. The
// exporter reads the rest itself (OTEL_EXPORTER_OTLP_HEADERS, _COMPRESSION,
// the TRACES_ forms), and the resource reads OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES.
type TraceConfig struct {
	// Exporter is otlp or none; empty means otlp when an endpoint is set,
	// else none: tracing is off unless asked for.
	Exporter string `env:"OTEL_TRACES_EXPORTER"`
	// Endpoint and TracesEndpoint are where OTLP goes.
	Endpoint       string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	TracesEndpoint string `env:"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"`
	// Protocol and TracesProtocol must be http/protobuf, the one protocol
	// built in.
	Protocol       string `env:"OTEL_EXPORTER_OTLP_PROTOCOL"`
	TracesProtocol string `env:"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"`
	// Timeout, TracesTimeout, ScheduleDelay and ExportTimeout are numbers
	// of milliseconds that the SDK reads; they are loaded only to be
	// checked. The SDK skips a value that is not a number, with a log
	// line, and takes a negative one as given: a negative timeout as none,
	// a schedule delay of 0 or below as a busy loop of exports. They are
	// strings because the SDK takes an empty one as unset.
	Timeout       string `env:"OTEL_EXPORTER_OTLP_TIMEOUT"`
	TracesTimeout string `env:"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"`
	ScheduleDelay string `env:"OTEL_BSP_SCHEDULE_DELAY"`
	ExportTimeout string `env:"OTEL_BSP_EXPORT_TIMEOUT"`
}

// Validate implements config.Validator.
func (c *TraceConfig) Validate() error {
	switch c.Exporter {
	case "", "otlp", "none":
	default:
		return fmt.Errorf("OTEL_TRACES_EXPORTER: must be otlp or none, not %q", c.Exporter)
	}
	for _, e := range []struct{ name, value string }{
		{"OTEL_EXPORTER_OTLP_ENDPOINT", c.Endpoint}, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", c.TracesEndpoint},
	} {
		// The SDK would log a URL it cannot parse, password and all, and
		// go on without it. The value is left out: it may hold credentials.
		if u, err := url.Parse(e.value); e.value != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			return fmt.Errorf("%s: must be an http or https URL with a host", e.name)
		}
	}
	for _, p := range []struct{ name, value string }{
		{"OTEL_EXPORTER_OTLP_PROTOCOL", c.Protocol}, {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", c.TracesProtocol},
	} {
		if p.value != "" && p.value != "http/protobuf" {
			return fmt.Errorf("%s: only http/protobuf is supported, not %q", p.name, p.value)
		}
	}
	for _, ms := range []struct {
		name, value string
		least       int
	}{
		{"OTEL_EXPORTER_OTLP_TIMEOUT", c.Timeout, 0}, {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", c.TracesTimeout, 0},
		{"OTEL_BSP_SCHEDULE_DELAY", c.ScheduleDelay, 1}, {"OTEL_BSP_EXPORT_TIMEOUT", c.ExportTimeout, 0},
	} {
		if n, err := strconv.Atoi(ms.value); ms.value != "" && (err != nil || n < ms.least) {
			return fmt.Errorf("%s: must be a number of milliseconds, at least %d, not %q", ms.name, ms.least, ms.value)
		}
	}
	return nil
}

// exports reports whether spans are to be sent anywhere.
func (c *TraceConfig) exports() bool {
	if c.Exporter == "none" {
		return false
	}
	return c.Exporter == "otlp" || c.Endpoint != "" || c.TracesEndpoint != ""
}

// TracerProvider makes a service's spans, and flushes those it buffered on
// Shutdown.
type TracerProvider interface {
	trace.TracerProvider
	Shutdown(ctx context.Context) error
}

// NewTracerProvider returns the tracer provider of a service named
// serviceName. Every span has a trace context of its own, so that every
// command and event gets one to carry and to log. Spans are recorded and
// exported over OTLP/HTTP only when the OTEL_* variables ask for it (see
// TraceConfig), by the OpenTelemetry SDK, which then also reads
// OTEL_TRACES_SAMPLER and its argument. Otherwise nothing is recorded:
// see IDTracerProvider.
func NewTracerProvider(ctx context.Context, env envconfig.Lookuper, serviceName string) (TracerProvider, error) {
	var cfg TraceConfig
	if err := config.Load(ctx, env, &cfg); err != nil {
		return nil, err
	}
	if !cfg.exports() {
		return IDTracerProvider{}, nil
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", serviceName)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(exp)), nil
}

// IDTracerProvider is the tracer provider of a service that exports no
// spans. Its spans record nothing, which would be wasted, but each has a
// span id of its own in the trace it continues, or in a new trace: what the
// service passes on and logs still ties its work to the trace, as the SDK's
// would. A new trace is sampled, as under the SDK's default sampler, so that
// services downstream that export keep their part of it. It costs a
// fraction of an SDK span, on ingest's path of every event.
type IDTracerProvider struct{ noop.TracerProvider }

// Tracer implements trace.TracerProvider.
func (IDTracerProvider) Tracer(string, ...trace.TracerOption) trace.Tracer { return idTracer{} }

// Shutdown implements TracerProvider: there is nothing to flush.
func (IDTracerProvider) Shutdown(context.Context) error { return nil }

type idTracer struct{ noop.Tracer }

// Start implements trace.Tracer.
func (idTracer) Start(ctx context.Context, _ string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := trace.SpanContextFromContext(ctx)
	if len(opts) > 0 {
		if cfg := trace.NewSpanStartConfig(opts...); cfg.NewRoot() {
			parent = trace.SpanContext{}
		}
	}
	c := trace.SpanContextConfig{TraceFlags: trace.FlagsSampled}
	if parent.IsValid() {
		c.TraceID, c.TraceFlags, c.TraceState = parent.TraceID(), parent.TraceFlags(), parent.TraceState()
	} else {
		binary.BigEndian.PutUint64(c.TraceID[:8], rand.Uint64())
		binary.BigEndian.PutUint64(c.TraceID[8:], rand.Uint64()|1) // never all zero
	}
	binary.BigEndian.PutUint64(c.SpanID[:], rand.Uint64()|1)
	ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(c))
	return ctx, trace.SpanFromContext(ctx)
}
