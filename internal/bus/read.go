package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrStopReading ends ReadEvents early without an error, when its fn
// returns it.
var ErrStopReading = errors.New("stop reading")

// ReadEvents hands fn each CloudEvent of an ordered consumer (ephemeral,
// nothing to clean up) on stream, with its stream sequence, until ctx
// ends (nil), fn fails (its error; ErrStopReading: nil) or, when
// caughtUp, fn has had every message the stream held when the consumer
// began. A message that is no CloudEvent is skipped: nothing of mendflow
// publishes one, and a reader should not stop on it.
func ReadEvents(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig, caughtUp bool,
	fn func(seq uint64, e event.Event) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	if caughtUp && cons.CachedInfo().NumPending == 0 {
		return nil
	}
	msgs, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
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
			return fmt.Errorf("stream %s: %w", stream, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("stream %s: %w", stream, err)
		}
		if e, err := FromJetStreamMsg(m); err == nil {
			if err := fn(meta.Sequence.Stream, e); err != nil {
				if errors.Is(err, ErrStopReading) {
					return nil
				}
				return err
			}
		}
		if caughtUp && meta.NumPending == 0 {
			return nil
		}
	}
}
