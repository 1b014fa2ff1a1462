// Package handlers carries out mendflow commands against Mend: one typed
// handler per command, the Mux that decodes a command and dispatches it by
// name, and the middleware around them that recovers from panics
// (Recover) and keeps two copies of one command from running at once
// (Serialize). Its typed errors say what a handler met (NotFoundError,
// BusyError, PanicError); what then becomes of the delivery is the
// consumer's to decide.
//
// A handler makes its command's effect exactly once however often the
// command is delivered: it looks before it changes, and takes "already
// there" answers from Mend as success. mendflow's worker (internal/worker)
// feeds it commands from JetStream through its consumer runner, which
// decides once how each delivery ends; a program of its own can embed the
// handlers in its own consumer.
package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/pkg/events"
)

// Delivery is one delivery of a command: the command as it came, and where
// it stands among its deliveries.
type Delivery struct {
	// Event is the command as it came; result events answer it.
	Event event.Event
	// Name and Data are the decoded command; the Mux fills them in.
	Name string
	Data events.CommandData
	// Attempt counts deliveries, 1 for the first.
	Attempt int
	// Seq is the command's sequence in its stream: the same for every
	// redelivery of one stored command, distinct for each copy stored.
	Seq uint64
	// Published is when the command was first stored. Waiting for a target
	// that does not exist yet counts from it, not from this delivery.
	Published time.Time
	// Replay is set when an operator replayed the command from the
	// dead-letter stream: the dead letter's sequence there.
	Replay string
}

// ID is the command's CloudEvent id.
func (c *Delivery) ID() string { return c.Event.ID() }

// Label is the command's name as a metric label and in logs: "unknown" for
// a name that is not registered, so that arbitrary event types do not
// become label values.
func (c *Delivery) Label() string {
	if c.Name == "" {
		return "unknown"
	}
	return c.Name
}

// Result is what a command that succeeded produced.
type Result struct {
	// Type is the result event's type, such as io.mendflow.project.created;
	// empty when the command's outcome is reported by the poller.
	Type string
	// Data is the result event's data, marshalled as JSON.
	Data any
	// Track, when set, is handed to the poller to follow.
	Track *events.Track
}

// Handler carries out a command.
type Handler func(ctx context.Context, cmd *Delivery) (Result, error)

// Middleware wraps a Handler.
type Middleware func(Handler) Handler

// Typed adapts a handler of one command's data type.
func Typed[T events.CommandData](h func(ctx context.Context, cmd *Delivery, data T) (Result, error)) Handler {
	return func(ctx context.Context, cmd *Delivery) (Result, error) {
		data, ok := cmd.Data.(T)
		if !ok {
			return Result{}, fmt.Errorf("%s: data is %T, want %T", cmd.Name, cmd.Data, data)
		}
		return h(ctx, cmd, data)
	}
}

// Mux decodes commands and sends each to the handler of its name,
// through the middleware.
type Mux struct {
	registry   *events.Registry
	handlers   map[string]Handler
	middleware []Middleware
}

// NewMux returns a mux decoding commands with registry.
func NewMux(registry *events.Registry) *Mux {
	return &Mux{registry: registry, handlers: make(map[string]Handler)}
}

// Handle sets the handler of a command name. The name must be registered,
// and have no handler yet.
func (r *Mux) Handle(name string, h Handler) error {
	if _, ok := r.registry.Fields(name); !ok {
		return fmt.Errorf("handle %s: %w", name, events.ErrUnknownCommand)
	}
	if _, ok := r.handlers[name]; ok {
		return fmt.Errorf("handle %s: already has a handler", name)
	}
	r.handlers[name] = h
	return nil
}

// Use adds middleware; the first added is the outermost.
func (r *Mux) Use(m ...Middleware) { r.middleware = append(r.middleware, m...) }

// Handler returns the mux as one Handler: the middleware around
// decoding and dispatch. Decoding runs inside the middleware, so a command
// that does not decode is logged, counted and given up like any other
// failure.
func (r *Mux) Handler() Handler {
	h := r.dispatch
	for i := len(r.middleware) - 1; i >= 0; i-- {
		h = r.middleware[i](h)
	}
	return func(ctx context.Context, cmd *Delivery) (Result, error) {
		// Middleware sees the name before decoding, for logs and metric
		// labels; an unregistered name stays empty so that arbitrary types
		// do not become label values.
		if name, ok := events.CommandName(cmd.Event.Type()); ok && cmd.Name == "" {
			if _, known := r.registry.Fields(name); known {
				cmd.Name = name
			}
		}
		return h(ctx, cmd)
	}
}

func (r *Mux) dispatch(ctx context.Context, cmd *Delivery) (Result, error) {
	if cmd.Data == nil {
		c, err := r.registry.DecodeEvent(cmd.Event)
		if err != nil {
			return Result{}, err
		}
		cmd.Name, cmd.Data = c.Name, c.Data
	}
	h, ok := r.handlers[cmd.Name]
	if !ok {
		return Result{}, fmt.Errorf("%w %q: no handler", events.ErrUnknownCommand, cmd.Name)
	}
	return h(ctx, cmd)
}
