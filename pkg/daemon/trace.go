package daemon

import (
	"context"
	"fmt"

	"github.com/sethvargo/go-envconfig"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/mendflow/mendflow/pkg/config"
)

// TraceConfig is the part of the standard OTEL_* variables that decides
// whether spans are exported. The exporter reads the rest itself
// (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION, the TRACES_ forms),
// and the resource reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
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
}

// Validate implements config.Validator.
func (c *TraceConfig) Validate() error {
	switch c.Exporter {
	case "", "otlp", "none":
	default:
		return fmt.Errorf("OTEL_TRACES_EXPORTER: must be otlp or none, not %q", c.Exporter)
	}
	for _, p := range []struct{ name, value string }{
		{"OTEL_EXPORTER_OTLP_PROTOCOL", c.Protocol}, {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", c.TracesProtocol},
	} {
		if p.value != "" && p.value != "http/protobuf" {
			return fmt.Errorf("%s: only http/protobuf is supported, not %q", p.name, p.value)
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

// NewTracerProvider returns the tracer provider of a service named
// serviceName. Spans are always made, so that every command and event gets
// a trace context of its own to carry and to log; they are exported over
// OTLP/HTTP only when the OTEL_* variables ask for it (see TraceConfig),
// so that without them nothing is sent and no exporter exists. The SDK
// itself reads OTEL_TRACES_SAMPLER and its argument.
func NewTracerProvider(ctx context.Context, env envconfig.Lookuper, serviceName string) (*sdktrace.TracerProvider, error) {
	var cfg TraceConfig
	if err := config.Load(ctx, env, &cfg); err != nil {
		return nil, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", serviceName)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if cfg.exports() {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	return sdktrace.NewTracerProvider(opts...), nil
}
