package bus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
)

// runnerBed is a work-queue stream with one durable consumer, and what
// runners on it logged and counted.
type runnerBed struct {
	js      jetstream.JetStream
	cons    jetstream.Consumer
	reg     *prometheus.Registry
	metrics *bus.Metrics
	logs    *servicetest.Logs
}

func newRunnerBed(t *testing.T, ackWait time.Duration) *runnerBed {
	t.Helper()
	_, js := natstest.Start(t).Connect()
	ctx := t.Context()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "WORK", Subjects: []string{"work.>"}, Retention: jetstream.WorkQueuePolicy}); err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, "WORK", jetstream.ConsumerConfig{
		Durable: "runner", AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait, MaxDeliver: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := bus.NewMetrics(reg, bus.MetricNames{
		Label: "kind", Deliveries: "test_deliveries_total", Retries: "test_retries_total",
		DeadLetters: "test_dead_letters_total", InFlight: "test_in_flight", Duration: "test_duration_seconds",
	})
	if err != nil {
		t.Fatal(err)
	}
	return &runnerBed{js: js, cons: cons, reg: reg, metrics: m, logs: &servicetest.Logs{}}
}

// send stores a CloudEvent of the given id on work.<id>.
func (b *runnerBed) send(t *testing.T, id string) {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetSource("/test")
	e.SetType("test.work")
	m, err := bus.ToMsg("work."+id, e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.js.PublishMsg(t.Context(), m); err != nil {
		t.Fatal(err)
	}
}

func (b *runnerBed) config(attempts bus.Attempts) bus.RunnerConfig {
	if attempts.Backoff == nil {
		attempts.Backoff = func(int) time.Duration { return 10 * time.Millisecond }
	}
	return bus.RunnerConfig{
		Concurrency: 4, AckWait: 30 * time.Second, FetchWait: 100 * time.Millisecond, ShutdownGrace: 5 * time.Second,
		Attempts: attempts, Noun: "work", Metrics: b.metrics,
		Logger: slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Tracer: noop.NewTracerProvider().Tracer("test"),
	}
}

// start runs a runner until the test ends, or until stop is called, which
// returns what Run returned.
func (b *runnerBed) start(t *testing.T, h bus.Handler, cfg bus.RunnerConfig) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bus.NewRunner(b.cons, h, cfg).Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				err = errors.New("the runner did not stop")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// left is how many messages the work queue still holds.
func (b *runnerBed) left(t *testing.T) uint64 {
	t.Helper()
	s, err := b.js.Stream(t.Context(), "WORK")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// count is the value of a counter of the bed's metrics.
func (b *runnerBed) count(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	families, err := b.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for i, l := range m.GetLabel() {
				if i >= len(labels) || l.GetValue() != labels[i] {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// logged counts the times sub appears in what the runners logged.
func (b *runnerBed) logged(sub string) int { return strings.Count(b.logs.String(), sub) }

// TestRunnerEndsEachDelivery: every delivery ends in exactly one answer,
// decided from what its handler said, and is logged in one line and
// counted once, with the label its handler gave.
func TestRunnerEndsEachDelivery(t *testing.T) {
	t.Parallel()
	transient := errors.New("down for now")
	tests := []struct {
		name     string
		max      int
		handler  func(d *bus.Delivery) error
		wantEnds map[string]float64 // outcome → deliveries
		wantLine string             // in the log, once per delivery counted
		poisoned string             // the reason the poison callback heard
	}{
		{
			name:     "done",
			handler:  func(*bus.Delivery) error { return nil },
			wantEnds: map[string]float64{bus.OutcomeSuccess: 1}, wantLine: `msg="work done"`,
		},
		{
			name: "later, then done",
			handler: func(d *bus.Delivery) error {
				if d.Attempt == 1 {
					return bus.Later(10*time.Millisecond, "not yet", nil)
				}
				return nil
			},
			wantEnds: map[string]float64{bus.OutcomeRetry: 1, bus.OutcomeSuccess: 1}, wantLine: `level=INFO msg="work done"`,
		},
		{
			name: "transient until the attempts are spent", max: 3,
			handler:  func(*bus.Delivery) error { return bus.Transient(bus.ReasonTransient, transient) },
			wantEnds: map[string]float64{bus.OutcomeRetry: 2, bus.OutcomeFailed: 1}, wantLine: `reason="attempts spent"`,
			poisoned: events.FailAttemptsSpent,
		},
		{
			name:     "permanent at once",
			handler:  func(*bus.Delivery) error { return bus.Permanent(events.FailPermanent, errors.New("refused")) },
			wantEnds: map[string]float64{bus.OutcomeFailed: 1}, wantLine: `msg="work failed"`,
			poisoned: events.FailPermanent,
		},
		{
			name:     "a result not stored, too large ever to be",
			handler:  func(*bus.Delivery) error { return &bus.PublishError{What: "r", Err: bus.ErrTooLarge} },
			wantEnds: map[string]float64{bus.OutcomeFailed: 1}, wantLine: `reason="too large"`,
			poisoned: events.FailTooLarge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newRunnerBed(t, 30*time.Second)
			var (
				mu       sync.Mutex
				poisoned []string
			)
			cfg := b.config(bus.Attempts{Max: tt.max})
			cfg.Poison = func(_ context.Context, d *bus.Delivery, reason string, err error) error {
				mu.Lock()
				defer mu.Unlock()
				poisoned = append(poisoned, reason)
				d.Note("kept", "yes")
				return nil
			}
			b.start(t, func(_ context.Context, d *bus.Delivery) error {
				d.Label = "thing"
				return tt.handler(d)
			}, cfg)
			b.send(t, "w1")
			servicetest.Eventually(t, 10*time.Second, func() bool { return b.left(t) == 0 }, "the message to leave the work queue")
			var total float64
			for outcome, want := range tt.wantEnds {
				servicetest.Eventually(t, 10*time.Second, func() bool {
					return b.count(t, "test_deliveries_total", "thing", outcome) == want
				}, fmt.Sprintf("%v deliveries counted %s", want, outcome))
				total += want
			}
			if got := b.logged(`msg="work `); float64(got) != total {
				t.Errorf("%d log lines, want one per delivery: %v", got, total)
			}
			if b.logged(tt.wantLine) != 1 {
				t.Errorf("no log line says %s", tt.wantLine)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.poisoned == "" && len(poisoned) > 0 || tt.poisoned != "" && (len(poisoned) != 1 || poisoned[0] != tt.poisoned) {
				t.Errorf("poison heard %v, want %q", poisoned, tt.poisoned)
			}
			if tt.poisoned != "" && b.logged("kept=yes") != 1 {
				t.Error("the line of the end lacks what the poison callback noted")
			}
		})
	}
}

// TestRunnerPoisonNotKept: a delivery whose dead letter cannot be kept
// comes back, counted as a retry, and gives up once it is kept.
func TestRunnerPoisonNotKept(t *testing.T) {
	t.Parallel()
	b := newRunnerBed(t, 30*time.Second)
	cfg := b.config(bus.Attempts{Max: 1})
	var calls int
	cfg.Poison = func(context.Context, *bus.Delivery, string, error) error {
		if calls++; calls == 1 {
			return errors.New("no dead-letter stream")
		}
		return nil
	}
	b.start(t, func(context.Context, *bus.Delivery) error {
		return bus.Permanent(events.FailPermanent, errors.New("refused"))
	}, cfg)
	b.send(t, "w1")
	servicetest.Eventually(t, 10*time.Second, func() bool { return b.left(t) == 0 }, "the message to leave the work queue")
	if got := b.count(t, "test_retries_total", "unknown", bus.ReasonPublishFailed); got != 1 {
		t.Errorf("%v retries for the dead letter not kept, want 1", got)
	}
	if got := b.count(t, "test_dead_letters_total", "unknown", events.FailPermanent); got != 1 {
		t.Errorf("%v dead letters, want 1", got)
	}
	if b.logged("keeping the work as a dead letter") != 1 {
		t.Error("no log line says the dead letter was not kept")
	}
}

// TestRunnerHeartbeat: work longer than the ack wait keeps its delivery,
// thanks to InProgress: it is delivered once.
func TestRunnerHeartbeat(t *testing.T) {
	t.Parallel()
	b := newRunnerBed(t, time.Second)
	cfg := b.config(bus.Attempts{})
	cfg.AckWait = time.Second
	var (
		mu       sync.Mutex
		attempts []int
	)
	b.start(t, func(ctx context.Context, d *bus.Delivery) error {
		mu.Lock()
		attempts = append(attempts, d.Attempt)
		mu.Unlock()
		// The work itself: two and a half ack waits.
		select {
		case <-time.After(2500 * time.Millisecond):
		case <-ctx.Done():
		}
		return nil
	}, cfg)
	b.send(t, "w1")
	servicetest.Eventually(t, 10*time.Second, func() bool { return b.left(t) == 0 }, "the message to leave the work queue")
	mu.Lock()
	defer mu.Unlock()
	if len(attempts) != 1 {
		t.Errorf("delivered %v, want once", attempts)
	}
}

// TestRunnerHandsBackOnStop: a runner stopping lets its deliveries finish
// for the grace, then cuts them short and hands them back, within about
// the grace; another runner then takes them without waiting for the ack
// wait.
func TestRunnerHandsBackOnStop(t *testing.T) {
	t.Parallel()
	b := newRunnerBed(t, time.Minute)
	cfg := b.config(bus.Attempts{})
	cfg.ShutdownGrace = 300 * time.Millisecond
	started := make(chan struct{}, 3)
	stop := b.start(t, func(ctx context.Context, d *bus.Delivery) error {
		d.Label = "thing"
		started <- struct{}{}
		<-ctx.Done() // work that only ends when cut short
		return ctx.Err()
	}, cfg)
	for i := range 3 {
		b.send(t, fmt.Sprint("w", i))
	}
	for range 3 {
		<-started
	}
	begin := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if took, most := time.Since(begin), cfg.ShutdownGrace+cfg.FetchWait+time.Second; took > most {
		t.Errorf("stopped after %v, want within %v", took, most)
	}
	if got := b.count(t, "test_deliveries_total", "thing", bus.OutcomeHandedBack); got != 3 {
		t.Errorf("%v deliveries handed back, want 3", got)
	}

	var mu sync.Mutex
	again := map[int]int{}
	b.start(t, func(_ context.Context, d *bus.Delivery) error {
		mu.Lock()
		again[d.Attempt]++
		mu.Unlock()
		return nil
	}, b.config(bus.Attempts{}))
	servicetest.Eventually(t, 10*time.Second, func() bool { return b.left(t) == 0 }, "the work queue to be empty")
	mu.Lock()
	defer mu.Unlock()
	if again[2] != 3 {
		t.Errorf("deliveries by attempt %v, want the 3 handed back delivered a second time", again)
	}
}

// TestRunnerConsumerDeleted: a runner whose consumer is deleted returns an
// error saying so, rather than fetching in vain: deleted while a pull
// waits (JetStream answers it "consumer deleted"), or before a pull is
// sent (no one answers it).
func TestRunnerConsumerDeleted(t *testing.T) {
	t.Parallel()
	for _, whilePulling := range []bool{true, false} {
		b := newRunnerBed(t, 30*time.Second)
		deleteConsumer := func() {
			if err := b.js.DeleteConsumer(t.Context(), "WORK", "runner"); err != nil {
				t.Fatal(err)
			}
		}
		if !whilePulling {
			deleteConsumer()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		done := make(chan error, 1)
		go func() {
			done <- bus.NewRunner(b.cons, func(context.Context, *bus.Delivery) error { return nil }, b.config(bus.Attempts{})).Run(ctx)
		}()
		if whilePulling {
			b.send(t, "w1")
			servicetest.Eventually(t, 10*time.Second, func() bool { return b.left(t) == 0 }, "the runner to consume")
			deleteConsumer()
		}
		if err := <-done; !errors.Is(err, bus.ErrConsumerGone) {
			t.Errorf("deleted while pulling %v: Run = %v, want ErrConsumerGone", whilePulling, err)
		}
		if ctx.Err() != nil {
			t.Errorf("deleted while pulling %v: Run returned only when its context ended", whilePulling)
		}
		cancel()
	}
}

// TestLatersSpendNoAttempts: with Laters, the deliveries asked for later,
// however many, leave a message all its attempts; without, each later
// spends one.
func TestLatersSpendNoAttempts(t *testing.T) {
	t.Parallel()
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("laters=%v", keep), func(t *testing.T) {
			t.Parallel()
			const waits, max = 5, 3
			b := newRunnerBed(t, 30*time.Second)
			cfg := b.config(bus.Attempts{Max: max})
			if keep {
				kv, err := b.js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "LATERS"})
				if err != nil {
					t.Fatal(err)
				}
				cfg.Laters = bus.NewLaters(kv)
			}
			var mu sync.Mutex
			deliveries := 0
			b.start(t, func(_ context.Context, d *bus.Delivery) error {
				mu.Lock()
				defer mu.Unlock()
				deliveries++
				if deliveries <= waits {
					return bus.Later(time.Millisecond, "not yet", nil)
				}
				return bus.Transient(bus.ReasonTransient, errors.New("down for now"))
			}, cfg)
			b.send(t, "waiting")
			servicetest.Eventually(t, 10*time.Second, func() bool { return b.left(t) == 0 }, "the message to give up")
			want := waits + max
			if !keep {
				want = waits + 1 // the first failure after the waits is its last
			}
			mu.Lock()
			defer mu.Unlock()
			if deliveries != want {
				t.Errorf("%d deliveries before the message gave up, want %d", deliveries, want)
			}
		})
	}
}
