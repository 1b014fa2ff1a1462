package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

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
	redact  *strings.Replacer
	ln      net.Listener
	http    *http.Server
}

// newService wires the worker: NATS and the streams, the shared consumer,
// the Mend client with its rate limit and instrumented transport, the
// handlers with their middleware, and the health and metrics server,
// bound to its address.
func newService(ctx context.Context, cfg settings, logger *slog.Logger) (_ *service, err error) {
	svc := &service{cfg: cfg, logger: logger}
	defer func() {
		if err != nil {
			svc.close()
		}
	}()

	// The Mend client first: its settings are checked without any I/O.
	reg := prometheus.NewRegistry()
	svc.metrics = handlers.NewMetrics(reg)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// Every running command may hold a connection to the one Mend host;
	// the default of two idle ones would open and close the rest each time.
	transport.MaxIdleConnsPerHost = cfg.Worker.Concurrency
	client, err := mend.NewClientFromConfig(cfg.Mend, mend.WithHTTPClient(&http.Client{
		Transport: svc.metrics.InstrumentTransport(transport),
	}))
	if err != nil {
		return nil, fmt.Errorf("Mend client: %w", err)
	}

	svc.nc, err = nats.Connect(cfg.NATSURL, nats.Name("mendflow-worker"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS_URL: %w", err)
	}
	svc.js, err = jetstream.New(svc.nc)
	if err != nil {
		return nil, fmt.Errorf("JetStream: %w", err)
	}
	// The streams, the shared consumer and the buckets are set up again
	// until a NATS cluster still forming can serve them all.
	var claims, locks jetstream.KeyValue
	err = events.RetrySetup(ctx, events.LogRetry(logger), func(ctx context.Context) (err error) {
		if err := events.EnsureStreams(ctx, svc.js, cfg.Streams); err != nil {
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
		return err
	})
	if err != nil {
		return nil, err
	}
	router := handlers.NewRouter(events.NewRegistry())
	set := handlers.NewSet(client, handlers.Config{DefaultOrg: cfg.OrgToken, CacheTTL: cfg.Worker.CacheTTL, Claims: kvClaims{claims}})
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
	// The user key must never reach a log line, an event or a dead letter;
	// package mend never prints it, and this is the second lock.
	svc.redact = strings.NewReplacer(cfg.Mend.UserKey.Reveal(), "[redacted]")
	router.Use(
		handlers.Logging(logger),
		svc.metrics.Middleware(),
		handlers.Decide(svc.retry),
		handlers.Serialize(kvLocks{kv: locks, renew: cfg.Worker.AckWait / 3}),
		handlers.Redact(svc.redact),
		handlers.Recover(),
	)
	svc.handle = router.Handler()

	svc.ln, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on WORKER_ADDR %s: %w", cfg.Addr, err)
	}
	svc.http = &http.Server{Handler: svc.routes(reg), ReadHeaderTimeout: 10 * time.Second}
	return svc, nil
}

// close releases what newService acquired; run closes them in order first
// when it stops normally.
func (s *service) close() {
	if s.ln != nil {
		s.ln.Close()
	}
	if s.nc != nil {
		s.nc.Close()
	}
}

// run serves health and metrics and carries out commands until ctx ends,
// then stops fetching, lets running commands finish for the grace period,
// hands back what is still running, and drains the NATS connection.
func (s *service) run(ctx context.Context, ready chan<- string) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.http.Serve(s.ln) }()
	s.logger.Info("worker started", "addr", s.ln.Addr().String(), "consumer", s.cfg.Worker.Consumer,
		"concurrency", s.cfg.Worker.Concurrency, "max_in_flight", s.cfg.Worker.MaxInFlight)
	if ready != nil {
		ready <- s.ln.Addr().String()
	}

	// work ends later than ctx: running commands keep their context through
	// the grace period.
	work, cut := context.WithCancel(context.WithoutCancel(ctx))
	defer cut()
	var running sync.WaitGroup
	fetchErr := make(chan error, 1)
	go func() { fetchErr <- s.fetchLoop(ctx, work, &running) }()

	var err error
	select {
	case <-ctx.Done():
		err = <-fetchErr
	case err = <-fetchErr:
	case err = <-serveErr:
		err = fmt.Errorf("serving on WORKER_ADDR: %w", err)
	}
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

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if herr := s.http.Shutdown(shutdownCtx); herr != nil && !errors.Is(herr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("stopping the HTTP server: %w", herr))
	}
	closed := make(chan struct{})
	s.nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if derr := s.nc.Drain(); derr != nil {
		err = errors.Join(err, fmt.Errorf("draining NATS: %w", derr))
	} else {
		select {
		case <-closed:
		case <-shutdownCtx.Done():
			err = errors.Join(err, errors.New("draining NATS: timed out"))
		}
	}
	s.logger.Info("worker stopped")
	return err
}
