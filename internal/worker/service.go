package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/mendhttp"
	"github.com/mendflow/mendflow/internal/telemetry"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/handlers"
	"github.com/mendflow/mendflow/pkg/mend"
)

// service is a wired worker: its NATS connection, consumer, handlers and
// HTTP server.
type service struct {
	cfg     settings
	logger  *slog.Logger
	nc      *nats.Conn
	js      jetstream.JetStream
	cons    jetstream.Consumer
	handle  handlers.Handler
	retry   handlers.RetryPolicy
	metrics *handlers.Metrics
	tracer  trace.Tracer
	http    *app.Server
	served  <-chan error // why http stopped serving
}

// newService wires the worker: the Mend client with its rate limit and
// instrumented transport, the health and metrics server, bound to its
// address and serving, then NATS and the streams, the shared consumer, and
// the handlers with their middleware. Until that set-up is done, waiting
// for a NATS cluster still forming, /readyz answers 503 with what it waits
// for. It returns once the worker can take commands, or when ctx ends
// first.
func newService(ctx context.Context, cfg settings, tel app.Telemetry) (_ *service, err error) {
	logger := tel.Logger
	tp := tel.TracerProvider()
	svc := &service{cfg: cfg, logger: logger, tracer: tp.Tracer("github.com/mendflow/mendflow/internal/worker")}
	defer func() {
		if err != nil {
			svc.close()
		}
	}()

	reg := telemetry.NewRegistry()
	svc.metrics = handlers.NewMetrics(reg)
	client, err := mend.NewClientFromConfig(cfg.Mend, mend.WithLogger(logger), mend.WithHTTPClient(&http.Client{
		Transport: mendhttp.NewMetrics(reg).Transport(mendhttp.NewTransport(cfg.Worker.Concurrency), tp),
	}))
	if err != nil {
		return nil, fmt.Errorf("Mend client: %w", err)
	}
	logger.Info("Mend hosts", "mend_url", client.URL(), "mend_api_url", client.APIURL())

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
	var claims, locks, repos jetstream.KeyValue
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
		return err
	})
	if err != nil {
		return nil, err
	}
	reg.MustRegister(bus.NewConsumerLag(svc.js, events.StreamCommands, cfg.Worker.Consumer))

	router := handlers.NewMux(events.NewRegistry())
	set := handlers.NewSet(client, handlers.Config{DefaultOrg: cfg.OrgToken, CacheTTL: cfg.Worker.CacheTTL,
		Claims: kvClaims{claims}, Repositories: kvRepositories{repos}})
	if err := set.Register(router); err != nil {
		return nil, fmt.Errorf("handlers: %w", err)
	}
	svc.retry = handlers.RetryPolicy{
		MaxAttempts:  cfg.Worker.MaxAttempts,
		BaseDelay:    cfg.Worker.RetryBase,
		MaxDelay:     cfg.Worker.RetryMax,
		Jitter:       cfg.Worker.RetryJitter,
		NotFoundWait: cfg.Worker.NotFoundWait,
	}
	// The user key must never reach a log line, a span, an event or a dead
	// letter. The worker holds no other secret, and only the Mend client
	// uses it: package mend keeps it, and its JWTs, out of every error it
	// returns, so that the errors need no cleaning here.
	router.Use(
		svc.metrics.Middleware(),
		handlers.Decide(svc.retry),
		handlers.Serialize(kvLocks{kv: locks, renew: cfg.Worker.AckWait / 3}),
		handlers.Recover(),
	)
	svc.handle = router.Handler()
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

	// work ends later than ctx: running commands keep their context through
	// the grace period.
	work, cut := context.WithCancel(context.WithoutCancel(ctx))
	defer cut()
	var running sync.WaitGroup
	// Fetching stops with ctx, or when the server fails: no command may
	// start while the running ones are waited for.
	fetchCtx, stopFetch := context.WithCancel(ctx)
	defer stopFetch()
	fetched := make(chan struct{})
	go func() { defer close(fetched); s.fetchLoop(fetchCtx, work, &running) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-s.served:
		err = fmt.Errorf("serving on WORKER_ADDR: %w", err)
	}
	stopFetch()
	<-fetched
	s.logger.Info("worker stopping: no more fetching", "grace", s.cfg.Worker.ShutdownGrace)

	done := make(chan struct{})
	go func() { running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.cfg.Worker.ShutdownGrace):
		s.logger.Warn("grace period over: handing back running commands")
		cut()
		<-done
	}

	err = errors.Join(err, app.Shutdown(s.logger, s.http, s.nc, app.StopTimeout))
	s.logger.Info("worker stopped")
	return err
}
