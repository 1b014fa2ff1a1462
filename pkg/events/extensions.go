package events

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"go.opentelemetry.io/otel/propagation"
)

// Extension attributes that tie the events of one chain together. Every
// command and result event carries them.
const (
	// ExtCorrelationID is the id of the incoming event that started the chain.
	ExtCorrelationID = "correlationid"
	// ExtCausationID is the id of the event this one directly answers.
	ExtCausationID = "causationid"
	// ExtTraceparent is the W3C trace context (distributed tracing extension).
	ExtTraceparent = "traceparent"
)

// Extension is the value of an extension attribute in its canonical string
// form, or "" when the event does not carry it.
func Extension(e event.Event, name string) string {
	var v any
	var ok bool
	if ec, v1 := e.Context.(*event.EventContextV1); v1 {
		v, ok = ec.Extensions[name] // no copy of the map, unlike e.Extensions()
	} else if e.Context != nil {
		v, ok = e.Extensions()[name]
	}
	if !ok {
		return ""
	}
	s, err := types.Format(v)
	if err != nil {
		return ""
	}
	return s
}

// Propagate sets on out the extensions that tie it to cause, the event it
// was produced from: correlationid stays the chain's (cause's correlationid,
// or cause's id when cause starts the chain), causationid is cause's id, and
// traceparent is copied. Ingest uses it from an incoming event to its
// commands, the worker from a command to its result events.
func Propagate(out *event.Event, cause event.Event) {
	correlation := Extension(cause, ExtCorrelationID)
	if correlation == "" {
		correlation = cause.ID()
	}
	out.SetExtension(ExtCorrelationID, correlation)
	out.SetExtension(ExtCausationID, cause.ID())
	if tp := Extension(cause, ExtTraceparent); tp != "" {
		out.SetExtension(ExtTraceparent, tp)
	}
}

// ExtTracestate is the vendor part of the W3C trace context, carried with
// traceparent by the distributed tracing extension.
const ExtTracestate = "tracestate"

// traceContext is the W3C trace context propagator; it is a value, so no
// global propagator is needed.
var traceContext propagation.TraceContext

// ContextWithTrace returns ctx with the trace context e carries in its
// traceparent (and tracestate) extension as the remote parent of the spans
// started from it; ctx as it is when e carries none, or an invalid one.
func ContextWithTrace(ctx context.Context, e event.Event) context.Context {
	tp := Extension(e, ExtTraceparent)
	if tp == "" {
		return ctx
	}
	return traceContext.Extract(ctx, &traceCarrier{parent: tp, state: Extension(e, ExtTracestate)})
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
	e.SetExtension(ExtTraceparent, c.parent)
	if c.state != "" {
		e.SetExtension(ExtTracestate, c.state)
	}
}

// traceCarrier holds the two values of a W3C trace context for the
// propagator, without the map a propagation.MapCarrier allocates for every
// event.
type traceCarrier struct{ parent, state string }

func (c *traceCarrier) Get(key string) string {
	switch key {
	case ExtTraceparent:
		return c.parent
	case ExtTracestate:
		return c.state
	}
	return ""
}

func (c *traceCarrier) Set(key, value string) {
	switch key {
	case ExtTraceparent:
		c.parent = value
	case ExtTracestate:
		c.state = value
	}
}

func (c *traceCarrier) Keys() []string { return []string{ExtTraceparent, ExtTracestate} }

// LogAttrs are the attributes of every log line about e: event_id,
// correlation_id (the chain's; e's own id when e starts it) and, when e is
// a command, command. The trace_id comes from the span in the context the
// line is logged with.
func LogAttrs(e event.Event) []any {
	correlation := Extension(e, ExtCorrelationID)
	if correlation == "" {
		correlation = e.ID()
	}
	attrs := []any{"event_id", e.ID(), "correlation_id", correlation}
	if name, ok := CommandName(e.Type()); ok {
		attrs = append(attrs, "command", name)
	}
	return attrs
}
