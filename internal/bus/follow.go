package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/pkg/events"
)

// FollowEvents hands the result events on MENDFLOW_EVENTS that cfg selects
// to fn, in stream order, until ctx ends (it returns nil) or fn returns an
// error (it returns that error): how mendflowctl tails the stream and
// pkg/mendflowtest waits for an event. It reads through an ordered
// consumer, which is ephemeral: nothing is left to clean up. A message
// that is no CloudEvent is skipped: nothing of mendflow publishes one, and
// a reader should not stop on it.
func FollowEvents(ctx context.Context, js jetstream.JetStream, cfg jetstream.OrderedConsumerConfig, fn func(event.Event) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, events.StreamEvents, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("stream %s: %w", events.StreamEvents, err)
	}
	msgs, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("stream %s: %w", events.StreamEvents, err)
	}
	defer msgs.Stop()
	// Next blocks without a context; stopping the iterator wakes it.
	go func() {
		<-ctx.Done()
		msgs.Stop()
	}()
	for {
		m, err := msgs.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return fmt.Errorf("stream %s: %w", events.StreamEvents, err)
		}
		e, err := FromJetStreamMsg(m)
		if err != nil {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}
