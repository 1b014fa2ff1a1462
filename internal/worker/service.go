package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/backoff"
	"github.com/mendflow/mendflow/internal/budget"
	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/mendhttp"
	"github.com/mendflow/mendflow/internal/reconcile"
	"github.com/mendflow/mendflow/internal/telemetry"
	"github.com/mendflow/mendflow/internal/trail"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/handlers"
	"github.com/mendflow/mendflow/pkg/mend"
)

// service is a wired worker: its NATS connection, consumer, handlers and
// HTTP server.
type service struct {
	cfg    settings
	logger *slog.Logger
	nc     *nats.Conn
	js     jetstream.JetStream
	cons   jetstream.Consumer
	runner *bus.Runner
	budget *budget.Budget
	http   *app.Server
	served <-chan error // why http stopped serving

	// reconciler carries out reconcile commands and queues the scheduled
	// ones.
	reconciler *reconciler
}

// metricNames are the worker's metrics of its deliveries.
var metricNames = bus.MetricNames{
	Label:       "command",
	Deliveries:  "mendflow_worker_commands_total",
	Duration:    "mendflow_worker_command_duration_seconds",
	Retries:     "mendflow_worker_retries_total",
	DeadLetters: "mendflow_worker_dead_letters_total",
	InFlight:    "mendflow_worker_in_flight",
}

// newService wires the worker: the health and metrics server, bound to
// its address and serving, then NATS and the streams, the shared consumer,
// the buckets and the shared Mend budget, the Mend client taking its calls
// from that budget through its instrumented transport, the handlers with
// their middleware, and the runner that carries them out.
// Until that set-up is done, waiting for a NATS cluster still forming,
// /readyz answers 503 with what it waits for. It returns once the worker
// can take commands, or when ctx ends first.
func newService(ctx context.Context, cfg settings, tel app.Telemetry) (_ *service, err error) {
	logger := tel.Logger
	tp := tel.TracerProvider()
	svc := &service{cfg: cfg, logger: logger}
	defer func() {
		if err != nil {
			svc.close()
		}
	}()

	reg := telemetry.NewRegistry()
	metrics, err := bus.NewMetrics(reg, metricNames)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	gate := app.NewGate()
	svc.http, err = app.Listen("WORKER_ADDR", cfg.Addr, app.ServerConfig{Metrics: reg, Ready: gate.Ready, Logger: logger})
	if err != nil {
		return nil, err
	}
	svc.served = svc.http.Start()
	logger.Info("worker listening; setting up NATS and JetStream", "addr", svc.http.Addr())
	tel.Listening(svc.http.Addr())

	svc.nc, err = app.ConnectNATS(ctx, gate, logger, cfg.NATSURL, nats.Name("mendflow-worker"))
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS_URL: %w", err)
	}
	svc.js, err = jetstream.New(svc.nc)
	if err != nil {
		return nil, fmt.Errorf("JetStream: %w", err)
	}
	// The streams, the shared consumer and the buckets are set up again
	// until a NATS cluster still forming can serve them all.
	var claims, locks, repos, records, laters jetstream.KeyValue
	var specs *reconcile.Specs
	var runs jetstream.ObjectStore
	err = bus.RetrySetup(ctx, gate.Retrying(bus.LogRetry(logger)), func(ctx context.Context) (err error) {
		if err := bus.EnsureStreams(ctx, svc.js, cfg.Streams); err != nil {
			return fmt.Errorf("streams: %w", err)
		}
		svc.cons, err = svc.js.CreateOrUpdateConsumer(ctx, events.StreamCommands, jetstream.ConsumerConfig{
			Durable:       cfg.Worker.Consumer,
			Description:   "mendflow workers, sharing the commands",
			FilterSubject: events.CommandSubject(">"),
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       cfg.Worker.AckWait,
			MaxAckPending: cfg.Worker.MaxInFlight,
			// Deliveries are bounded by the worker (WORKER_MAX_ATTEMPTS), which
			// dead-letters what is spent; a server-side bound would leave such a
			// command stuck in the work queue without a trace.
			MaxDeliver: -1,
		})
		if err != nil {
			return fmt.Errorf("consumer %s: %w", cfg.Worker.Consumer, err)
		}
		claims, err = openBucket(ctx, svc.js, claimsBucket, "mendflow worker: commands begun that Mend cannot be asked about",
			cfg.Streams.DedupWindow, cfg.Streams.Replicas)
		if err != nil {
			return err
		}
		// A lock lives as long as a delivery without a sign of life.
		locks, err = openBucket(ctx, svc.js, locksBucket, "mendflow worker: commands running", cfg.Worker.AckWait, cfg.Streams.Replicas)
		if err != nil {
			return err
		}
		repos, err = openBucket(ctx, svc.js, repositoriesBucket, "mendflow worker: the Mend project of each repository", 0, cfg.Streams.Replicas)
		if err != nil {
			return err
		}
		records, err = trail.OpenBucket(ctx, svc.js, cfg.Trail, cfg.Streams.Replicas)
		if err != nil {
			return err
		}
		specs, runs, err = openReconcileStores(ctx, svc.js, cfg)
		if err != nil {
			return err
		}
		laters, err = openBucket(ctx, svc.js, latersBucket, "mendflow worker: deliveries of each command that spent no attempt", 0, cfg.Streams.Replicas)
		if err != nil {
			return err
		}
		// The Mend budget is shared with every worker and poller
		// (MEND_RATE_LIMIT); last, as it registers its metrics once.
		svc.budget, err = budget.New(ctx, svc.js, cfg.Budget, budget.Options{
			Rate: cfg.Mend.RateLimit, Burst: cfg.Mend.RateBurst, DefaultOrg: cfg.OrgToken,
			Replicas: cfg.Streams.Replicas, Logger: logger, Registerer: reg,
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	client, err := mend.NewClientFromConfig(cfg.Mend, mend.WithLogger(logger), mend.WithLimiter(svc.budget), mend.WithHTTPClient(&http.Client{
		Transport: mendhttp.NewMetrics(reg).Transport(mendhttp.NewTransport(cfg.Worker.Concurrency), tp),
	}))
	if err != nil {
		return nil, fmt.Errorf("Mend client: %w", err)
	}
	logger.Info("Mend hosts", "mend_url", client.URL(), "mend_api_url", client.APIURL())
	reg.MustRegister(bus.NewConsumerLag(svc.js, events.StreamCommands, cfg.Worker.Consumer))

	router := handlers.NewMux(events.NewRegistry())
	set := handlers.NewSet(client, handlers.Config{DefaultOrg: cfg.OrgToken, CacheTTL: cfg.Worker.CacheTTL,
		Claims: kvClaims{claims}, Repositories: kvRepositories{repos}})
	if err := set.Register(router); err != nil {
		return nil, fmt.Errorf("handlers: %w", err)
	}
	// The user key must never reach a log line, a span, an event or a dead
	// letter. The worker holds no other secret, and only the Mend client
	// uses it: package mend keeps it, and its JWTs, out of every error it
	// returns, so that the errors need no cleaning here.
	router.Use(
		handlers.Serialize(kvLocks{kv: locks, renew: cfg.Worker.AckWait / 3}),
		handlers.Recover(),
	)
	pub := bus.NewPublisher(svc.js, bus.WithMaxPayload(svc.nc.MaxPayload()))
	svc.reconciler = newReconciler(svc.js, specs, runs, pub, client, cfg, logger)
	if err := router.Handle(events.CommandReconcile, handlers.Typed(svc.reconciler.handle)); err != nil {
		return nil, fmt.Errorf("handlers: %w", err)
	}
	// RetryBase doubled per attempt, up to RetryMax, spread by RetryJitter,
	// so that commands failing together do not come back together.
	retryBackoff := backoff.Policy{Initial: cfg.Worker.RetryBase, Max: cfg.Worker.RetryMax, Multiplier: 2, Jitter: cfg.Worker.RetryJitter}.Delay
	x := &executor{
		handle:   router.Handler(),
		failures: failures{backoff: retryBackoff, notFoundWait: cfg.Worker.NotFoundWait, now: time.Now},
		pub:      pub,
		budget:   svc.budget,
	}
	recorder, err := trail.NewRecorder(records, trail.KindCommand, logger, reg)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	svc.runner = bus.NewRunner(svc.cons, x.carryOut, bus.RunnerConfig{
		Concurrency:   cfg.Worker.Concurrency,
		AckWait:       cfg.Worker.AckWait,
		FetchWait:     cfg.Worker.FetchWait,
		ShutdownGrace: cfg.Worker.ShutdownGrace,
		Attempts:      bus.Attempts{Max: cfg.Worker.MaxAttempts, Backoff: retryBackoff},
		Laters:        bus.NewLaters(laters),
		Poison:        bus.DeadLetters(pub, source),
		Recorder:      recorder,
		Noun:          "command",
		Metrics:       metrics,
		Logger:        logger,
		Tracer:        tp.Tracer("github.com/mendflow/mendflow/internal/worker"),
	})
	gate.Open(svc.ready)
	return svc, nil
}

// ready reports why the worker cannot take commands: NATS not connected or
// a stream missing.
func (s *service) ready(ctx context.Context) error {
	if st := s.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("NATS is %s", st)
	}
	return bus.CheckStreams(ctx, s.js)
}

// close releases what newService acquired; run closes them in order first
// when it stops normally.
func (s *service) close() {
	if s.budget != nil {
		s.budget.Close()
	}
	if s.http != nil {
		s.http.Close()
	}
	if s.nc != nil {
		s.nc.Close()
	}
}

// run serves health and metrics and carries out commands until ctx ends,
// then stops fetching, lets running commands finish for the grace period,
// hands back what is still running, and drains the NATS connection.
func (s *service) run(ctx context.Context) error {
	s.logger.Info("worker started", "addr", s.http.Addr(), "consumer", s.cfg.Worker.Consumer,
		"concurrency", s.cfg.Worker.Concurrency, "max_in_flight", s.cfg.Worker.MaxInFlight)

	// The runner stops with ctx, or when the server fails: no command may
	// start while the running ones are waited for. It hands back what it
	// still holds after WORKER_SHUTDOWN_GRACE.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	ran := make(chan error, 1)
	go s.reconciler.schedule(runCtx)
	go func() {
		if err := s.runner.Run(runCtx); err != nil {
			ran <- fmt.Errorf("consumer %s: %w", s.cfg.Worker.Consumer, err)
		}
		close(ran)
	}()
	var err error
	select {
	case err = <-ran:
	case serr := <-s.served:
		stop()
		err = errors.Join(fmt.Errorf("serving on WORKER_ADDR: %w", serr), <-ran)
	}

	err = errors.Join(err, app.Shutdown(s.logger, s.http, s.nc, app.StopTimeout))
	s.logger.Info("worker stopped")
	return err
}
