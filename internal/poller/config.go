package poller

import (
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/backoff"
	"github.com/mendflow/mendflow/pkg/events"
)

// ConsumerName is the durable consumer on MENDFLOW_TRACKING that every
// poller process binds to: the server hands each item to one of them at a
// time and keeps its schedule, so pollers share the load and a restart
// loses nothing.
const ConsumerName = "poller"

// Config is the poller's own settings, read from the environment.
type Config struct {
	// FirstInterval is how long after an item starts it is first polled.
	// After that, an item of age a is polled again at a*Multiplier, so the
	// waits grow exponentially, up to MaxInterval: a 10-minute process is
	// seen about a dozen times rather than once every few seconds.
	FirstInterval time.Duration `env:"POLLER_FIRST_INTERVAL, default=2s"`
	MaxInterval   time.Duration `env:"POLLER_MAX_INTERVAL, default=2m"`
	Multiplier    float64       `env:"POLLER_MULTIPLIER, default=2"`
	// Jitter randomises each wait by ±Jitter (0 to 1), so that items
	// started together do not keep polling together.
	Jitter float64 `env:"POLLER_JITTER, default=0.1"`

	// Deadline is how long after it started an item may run; then it ends
	// with a failed event, reason timeout.
	Deadline time.Duration `env:"POLLER_DEADLINE, default=2h"`
	// UnknownGrace is how long a plugin request may be UNKNOWN: Mend may not
	// know a request token yet when the scan that printed it has just ended.
	UnknownGrace time.Duration `env:"POLLER_UNKNOWN_GRACE, default=5m"`
	// UpdatedIsDone ends a plugin request at UPDATED (inventory changed,
	// alerts not yet calculated) rather than waiting for FINISHED.
	UpdatedIsDone bool `env:"POLLER_UPDATED_IS_DONE, default=false"`

	// MaxInFlight is how many items the pollers together may follow at
	// once. An item waiting for its next poll counts, so this is the
	// consumer's MaxAckPending: items beyond it wait in the stream.
	MaxInFlight int `env:"POLLER_MAX_IN_FLIGHT, default=100000"`
	// Concurrency is how many polls this process makes at once.
	Concurrency int `env:"POLLER_CONCURRENCY, default=16"`
	// AckWait is how long a delivery may stay unanswered before the server
	// hands it to another poller. Each poll is given half of it, so that a
	// slow Mend does not make two pollers follow the same item at once.
	AckWait time.Duration `env:"POLLER_ACK_WAIT, default=1m"`
	// ShutdownGrace is how long polls under way may finish after SIGTERM
	// before they are abandoned and their items handed back.
	ShutdownGrace time.Duration `env:"POLLER_SHUTDOWN_GRACE, default=10s"`
	// FetchWait is how long one pull waits for items. Stopping waits for
	// the pull in progress, so it also bounds the stop.
	FetchWait time.Duration `env:"POLLER_FETCH_WAIT, default=2s"`
}

// Validate reports the first out-of-range value, naming its variable.
func (c Config) Validate() error {
	switch {
	case c.FirstInterval <= 0:
		return fmt.Errorf("POLLER_FIRST_INTERVAL: must be positive, not %v", c.FirstInterval)
	case c.MaxInterval < c.FirstInterval:
		return fmt.Errorf("POLLER_MAX_INTERVAL: must be at least POLLER_FIRST_INTERVAL (%v), not %v", c.FirstInterval, c.MaxInterval)
	case c.Multiplier <= 1:
		return fmt.Errorf("POLLER_MULTIPLIER: must be greater than 1, not %v", c.Multiplier)
	case c.Jitter < 0 || c.Jitter >= 1:
		return fmt.Errorf("POLLER_JITTER: must be at least 0 and below 1, not %v", c.Jitter)
	case c.Deadline <= 0:
		return fmt.Errorf("POLLER_DEADLINE: must be positive, not %v", c.Deadline)
	case c.UnknownGrace < 0:
		return fmt.Errorf("POLLER_UNKNOWN_GRACE: must not be negative, not %v", c.UnknownGrace)
	case c.MaxInFlight < 1:
		return fmt.Errorf("POLLER_MAX_IN_FLIGHT: must be positive, not %d", c.MaxInFlight)
	case c.Concurrency < 1:
		return fmt.Errorf("POLLER_CONCURRENCY: must be positive, not %d", c.Concurrency)
	case c.AckWait < time.Second:
		return fmt.Errorf("POLLER_ACK_WAIT: must be at least 1s, not %v", c.AckWait)
	case c.ShutdownGrace < 0:
		return fmt.Errorf("POLLER_SHUTDOWN_GRACE: must not be negative, not %v", c.ShutdownGrace)
	case c.FetchWait < 10*time.Millisecond:
		return fmt.Errorf("POLLER_FETCH_WAIT: must be at least 10ms, not %v", c.FetchWait)
	}
	return nil
}

// consumer is the durable consumer that holds the items and their schedule.
func (c Config) consumer() jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:     ConsumerName,
		Description: "mendflow pollers: one delivery is one poll of one item",
		AckPolicy:   jetstream.AckExplicitPolicy,
		AckWait:     c.AckWait,
		// An item is redelivered once per poll until it ends: there is no
		// count after which it should be dropped; Deadline ends it instead.
		MaxDeliver:    -1,
		MaxAckPending: c.MaxInFlight,
		FilterSubject: events.TrackSubject(">"),
	}
}

// wait is how long an item of the given age that has not ended waits for
// its next poll; rnd is uniform in [0, 1) and spreads the waits. The
// schedule grows with the item's age, not with its polls: an item handed
// back late, or redelivered after a poller died, keeps its place.
func (c Config) wait(age time.Duration, rnd float64) time.Duration {
	schedule := backoff.Policy{Initial: c.FirstInterval, Max: c.MaxInterval, Multiplier: c.Multiplier, Jitter: c.Jitter}
	return schedule.DelayAt(age, rnd)
}
