package events

import (
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
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

// Continue sets on out the chain of from as it is: out answers what from
// answers rather than from itself. The poller's completion event ends a
// Track item and answers the command that handed the item over, as the
// item does. An event from that carries no chain is its own cause.
func Continue(out *event.Event, from event.Event) {
	correlation, causation := Extension(from, ExtCorrelationID), Extension(from, ExtCausationID)
	if correlation == "" {
		correlation = from.ID()
	}
	if causation == "" {
		causation = from.ID()
	}
	out.SetExtension(ExtCorrelationID, correlation)
	out.SetExtension(ExtCausationID, causation)
	if tp := Extension(from, ExtTraceparent); tp != "" {
		out.SetExtension(ExtTraceparent, tp)
	}
}

// ExtTracestate is the vendor part of the W3C trace context, carried with
// traceparent by the distributed tracing extension.
const ExtTracestate = "tracestate"
