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

// TestReadEvents: the events come in stream order with their sequences,
// what is no CloudEvent is passed over, fn's error ends the reading with
// that error (ErrStopReading without one), caughtUp ends it at the last
// message, and the end of the context ends it without an error.
func TestReadEvents(t *testing.T) {
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

	all := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	stop := errors.New("enough")
	var got []string
	var seqs []uint64
	err := bus.ReadEvents(ctx, js, events.StreamEvents, all, false, func(seq uint64, e event.Event) error {
		got, seqs = append(got, e.ID()), append(seqs, seq)
		if len(got) == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !slices.Equal(got, []string{"e1", "e2", "e3"}) || !slices.Equal(seqs, []uint64{1, 3, 4}) {
		t.Errorf("ReadEvents = %v after %v at %v, want %v after e1 e2 e3 at 1 3 4", err, got, seqs, stop)
	}

	got = nil
	err = bus.ReadEvents(ctx, js, events.StreamEvents, all, false, func(_ uint64, e event.Event) error {
		got = append(got, e.ID())
		return bus.ErrStopReading
	})
	if err != nil || !slices.Equal(got, []string{"e1"}) {
		t.Errorf("ReadEvents stopped by ErrStopReading = %v after %v, want nil after e1", err, got)
	}

	got = nil
	err = bus.ReadEvents(ctx, js, events.StreamEvents, all, true, func(_ uint64, e event.Event) error {
		got = append(got, e.ID())
		return nil
	})
	if err != nil || !slices.Equal(got, []string{"e1", "e2", "e3"}) {
		t.Errorf("ReadEvents caught up = %v after %v, want nil after e1 e2 e3", err, got)
	}

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := bus.ReadEvents(short, js, events.StreamEvents, jetstream.OrderedConsumerConfig{}, false, func(uint64, event.Event) error { return nil }); err != nil {
		t.Errorf("ReadEvents at the end of its context = %v, want nil", err)
	}
}
