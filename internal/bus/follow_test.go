package bus_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/pkg/events"
)

// TestFollowEvents: the events come in stream order, what is no CloudEvent
// is passed over, fn's error ends the reading with that error, and the end
// of the context ends it without one.
func TestFollowEvents(t *testing.T) {
	t.Parallel()
	_, js := natstest.Start(t).Connect()
	ctx := t.Context()
	if err := bus.EnsureStreams(ctx, js, testStreams); err != nil {
		t.Fatal(err)
	}
	pub := bus.NewPublisher(js)
	publish := func(id string) {
		t.Helper()
		e := event.New()
		e.SetID(id)
		e.SetSource("/test")
		e.SetType(events.TypeProjectCreated)
		if _, err := pub.PublishEvent(ctx, events.ResultSubject(e.Type()), e, bus.Link{}); err != nil {
			t.Fatal(err)
		}
	}
	publish("e1")
	if _, err := js.Publish(ctx, events.ResultSubject(events.TypeProjectCreated), []byte("not a CloudEvent")); err != nil {
		t.Fatal(err)
	}
	publish("e2")
	publish("e3")

	stop := errors.New("enough")
	var got []string
	err := bus.FollowEvents(ctx, js, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}, func(e event.Event) error {
		got = append(got, e.ID())
		if len(got) == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !slices.Equal(got, []string{"e1", "e2", "e3"}) {
		t.Errorf("FollowEvents = %v after %v, want %v after e1 e2 e3", err, got, stop)
	}

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := bus.FollowEvents(short, js, jetstream.OrderedConsumerConfig{}, func(event.Event) error { return nil }); err != nil {
		t.Errorf("FollowEvents at the end of its context = %v, want nil", err)
	}
}
