package telemetry

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/propagation"

	"github.com/mendflow/mendflow/pkg/events"
)

// traceContext is the W3C trace context propagator; it is a value, so no
// global propagator is needed.
var traceContext propagation.TraceContext

// ContextWithTrace returns ctx with the trace context e carries in its
// traceparent (and tracestate) extension as the remote parent of the spans
// started from it; ctx as it is when e carries none, or an invalid one.
func ContextWithTrace(ctx context.Context, e event.Event) context.Context {
	tp := events.Extension(e, events.ExtTraceparent)
	if tp == "" {
		return ctx
	}
	return traceContext.Extract(ctx, &traceCarrier{parent: tp, state: events.Extension(e, events.ExtTracestate)})
}

// SetTrace sets e's traceparent (and tracestate) to the span of ctx, so
// that who handles e next continues the trace from that span. It leaves e
// as it is when ctx holds no valid span context.
func SetTrace(e *event.Event, ctx context.Context) {
	var c traceCarrier
	traceContext.Inject(ctx, &c)
	if c.parent == "" {
		return
	}
	e.SetExtension(events.ExtTraceparent, c.parent)
	if c.state != "" {
		e.SetExtension(events.ExtTracestate, c.state)
	}
}

// traceCarrier holds the two values of a W3C trace context for the
// propagator, without the map a propagation.MapCarrier allocates for every
// event.
type traceCarrier struct{ parent, state string }

func (c *traceCarrier) Get(key string) string {
	switch key {
	case events.ExtTraceparent:
		return c.parent
	case events.ExtTracestate:
		return c.state
	}
	return ""
}

func (c *traceCarrier) Set(key, value string) {
	switch key {
	case events.ExtTraceparent:
		c.parent = value
	case events.ExtTracestate:
		c.state = value
	}
}

func (c *traceCarrier) Keys() []string { return []string{events.ExtTraceparent, events.ExtTracestate} }

// LogAttrs are the attributes of every log line about e: event_id,
// correlation_id (the chain's; e's own id when e starts it) and, when e is
// a command, command. The trace_id comes from the span in the context the
// line is logged with.
func LogAttrs(e event.Event) []any {
	correlation := events.Extension(e, events.ExtCorrelationID)
	if correlation == "" {
		correlation = e.ID()
	}
	attrs := []any{"event_id", e.ID(), "correlation_id", correlation}
	if name, ok := events.CommandName(e.Type()); ok {
		attrs = append(attrs, "command", name)
	}
	return attrs
}
