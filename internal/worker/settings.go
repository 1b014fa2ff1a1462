package worker

import (
	"fmt"
	"time"

	"github.com/mendflow/mendflow/internal/budget"
	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/trail"
	"github.com/mendflow/mendflow/pkg/mend"
)

// settings is the worker's environment: how it reaches NATS and Mend, the
// streams it creates when missing, and its own tuning.
type settings struct {
	NATSURL  string `env:"NATS_URL, default=nats://127.0.0.1:4222"`
	OrgToken string `env:"MEND_ORG_TOKEN, required"`
	Addr     string `env:"WORKER_ADDR, default=:8081"`

	Mend      mend.Config
	Budget    budget.Config
	Streams   bus.StreamConfig
	Worker    workerSettings
	Reconcile reconcileSettings
	Trail     trail.Config

	// getenv reads the variables a spec names for its sources' tokens.
	getenv func(string) string
}

// workerSettings tune the consumer, the retries and the cache.
type workerSettings struct {
	// Consumer is the durable consumer all workers share.
	Consumer string `env:"WORKER_CONSUMER, default=mendflow-worker"`
	// MaxInFlight caps the commands delivered and not yet acknowledged
	// across all workers together: the consumer's MaxAckPending. Commands
	// set aside for their organization's budget count, so that it must let
	// a backlog through: WORKER_CONCURRENCY bounds the work under way.
	MaxInFlight int `env:"WORKER_MAX_IN_FLIGHT, default=100000"`
	// Concurrency is how many commands this process carries out at once.
	Concurrency int `env:"WORKER_CONCURRENCY, default=8"`
	// AckWait is how long a delivery may go without a sign of life before
	// JetStream gives it to another worker; a handler running longer sends
	// InProgress every third of it.
	AckWait time.Duration `env:"WORKER_ACK_WAIT, default=30s"`
	// FetchWait is how long one pull request waits for commands. Stopping
	// waits for the pull in progress, so it also bounds the stop.
	FetchWait time.Duration `env:"WORKER_FETCH_WAIT, default=2s"`
	// MaxAttempts bounds the deliveries of a command failing transiently.
	MaxAttempts int `env:"WORKER_MAX_ATTEMPTS, default=10"`
	// RetryBase, RetryMax and RetryJitter shape the backoff between
	// deliveries: RetryBase doubled per attempt up to RetryMax, ±jitter.
	// A longer Retry-After from Mend wins.
	RetryBase   time.Duration `env:"WORKER_RETRY_BASE, default=1s"`
	RetryMax    time.Duration `env:"WORKER_RETRY_MAX, default=5m"`
	RetryJitter float64       `env:"WORKER_RETRY_JITTER, default=0.2"`
	// NotFoundWait is how long after its publication a command waits for
	// its target (a project, a product, a group) to appear.
	NotFoundWait time.Duration `env:"WORKER_NOT_FOUND_WAIT, default=2m"`
	// CacheTTL is how long lists of names and tokens are trusted.
	CacheTTL time.Duration `env:"WORKER_CACHE_TTL, default=30s"`
	// ShutdownGrace is how long a stopping worker lets running commands
	// finish before it cuts them short and hands them back.
	ShutdownGrace time.Duration `env:"WORKER_SHUTDOWN_GRACE, default=20s"`
}

// Validate implements config.Validator: the first value out of range,
// naming its variable; config.Load has refused negative durations already.
func (w workerSettings) Validate() error {
	switch {
	case w.Consumer == "":
		return fmt.Errorf("WORKER_CONSUMER: must not be empty")
	case w.MaxInFlight < 1:
		return fmt.Errorf("WORKER_MAX_IN_FLIGHT: must be at least 1, not %d", w.MaxInFlight)
	case w.Concurrency < 1:
		return fmt.Errorf("WORKER_CONCURRENCY: must be at least 1, not %d", w.Concurrency)
	case w.AckWait < 100*time.Millisecond:
		return fmt.Errorf("WORKER_ACK_WAIT: must be at least 100ms, not %v", w.AckWait)
	case w.FetchWait < 10*time.Millisecond:
		return fmt.Errorf("WORKER_FETCH_WAIT: must be at least 10ms, not %v", w.FetchWait)
	case w.MaxAttempts < 1:
		return fmt.Errorf("WORKER_MAX_ATTEMPTS: must be at least 1, not %d", w.MaxAttempts)
	case w.RetryBase <= 0:
		return fmt.Errorf("WORKER_RETRY_BASE: must be positive, not %v", w.RetryBase)
	case w.RetryMax < w.RetryBase:
		return fmt.Errorf("WORKER_RETRY_MAX: must be at least WORKER_RETRY_BASE, not %v", w.RetryMax)
	case w.RetryJitter < 0 || w.RetryJitter > 1:
		return fmt.Errorf("WORKER_RETRY_JITTER: must be 0 to 1, not %v", w.RetryJitter)
	}
	return nil
}
