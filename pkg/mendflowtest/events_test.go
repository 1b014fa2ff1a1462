package mendflowtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/pkg/events"
)

// TestWaitForEvent picks the event of the right correlation and type among
// others in MENDFLOW_EVENTS, whether published before or during the wait,
// and gives up when its context ends.
func TestWaitForEvent(t *testing.T) {
	t.Parallel()
	_, js := natstest.Start(t).Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: events.StreamEvents, Subjects: []string{events.SubjectsEvents}}); err != nil {
		t.Fatal(err)
	}
	publish := func(id, typ, correlation string) {
		t.Helper()
		e := event.New()
		e.SetID(id)
		e.SetSource("urn:mendflowtest")
		e.SetType(typ)
		e.SetExtension(events.ExtCorrelationID, correlation)
		msg, err := bus.ToMsg(events.ResultSubject(typ), e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	publish("e1", events.TypeProjectCreated, "a")
	publish("e2", events.TypeProjectCreated, "b")
	publish("e3", events.TypeProjectTagged, "a")

	for _, tc := range []struct{ correlation, typ, want string }{
		{"a", events.TypeProjectTagged, "e3"},
		{"a", events.TypeProjectCreated, "e1"},
		{"b", "", "e2"},
	} {
		e, err := waitForEvent(ctx, js, tc.correlation, tc.typ)
		if err != nil || e.ID() != tc.want {
			t.Errorf("waitForEvent(%s, %q) = %s, %v; want %s", tc.correlation, tc.typ, e.ID(), err, tc.want)
		}
	}

	got := make(chan string, 1)
	go func() {
		e, err := waitForEvent(ctx, js, "c", events.TypeProjectDeleted)
		if err != nil {
			t.Error(err)
		}
		got <- e.ID()
	}()
	publish("e4", events.TypeProjectDeleted, "b")
	publish("e5", events.TypeProjectDeleted, "c")
	if id := <-got; id != "e5" {
		t.Errorf("waiting for an event yet to come: got %s, want e5", id)
	}

	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	if _, err := waitForEvent(short, js, "a", events.TypeProjectDeleted); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for an event that never comes: %v, want the context's deadline", err)
	}
}
