package mendflowtest

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/pkg/events"
)

// WaitForEvent waits until MENDFLOW_EVENTS holds a result event of the
// chain started by the incoming event correlationID (its correlationid
// extension), of type eventType (io.mendflow.project.created, ...; empty:
// any type), and returns the first such event. It reads the stream from
// its start, so an event published before the call is found too. It fails
// when ctx ends first: give ctx a deadline.
func (c *Container) WaitForEvent(ctx context.Context, correlationID, eventType string) (event.Event, error) {
	url, err := c.NATSURL(ctx)
	if err != nil {
		return event.Event{}, err
	}
	nc, err := nats.Connect(url)
	if err != nil {
		return event.Event{}, fmt.Errorf("mendflowtest: connecting to NATS: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return event.Event{}, fmt.Errorf("mendflowtest: %w", err)
	}
	return waitForEvent(ctx, js, correlationID, eventType)
}

// waitForEvent reads MENDFLOW_EVENTS from its start, filtered by the
// server to the type's subject.
func waitForEvent(ctx context.Context, js jetstream.JetStream, correlationID, eventType string) (event.Event, error) {
	subject := events.ResultSubject("io.mendflow.>")
	if eventType != "" {
		subject = events.ResultSubject(eventType)
	}
	var found event.Event
	err := bus.ReadEvents(ctx, js, events.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverAllPolicy,
	}, false, func(_ uint64, e event.Event) error {
		if events.Extension(e, events.ExtCorrelationID) != correlationID || (eventType != "" && e.Type() != eventType) {
			return nil
		}
		found = e
		return bus.ErrStopReading
	})
	switch {
	case err == nil && found.Context != nil:
		return found, nil
	case err == nil:
		err = ctx.Err() // ReadEvents ends without an error with its context
	}
	what := eventType
	if what == "" {
		what = "result"
	}
	return event.Event{}, fmt.Errorf("mendflowtest: waiting for the %s event of correlation id %s: %w", what, correlationID, err)
}
