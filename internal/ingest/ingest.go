// Package ingest is the core of cmd/ingest, the door of mendflow: an HTTP
// server that takes CloudEvents (POST /events) and GitHub and GitLab
// webhooks, routes each event to Mend commands, and stores them durably,
// deduplicated, in JetStream, answering only once they are stored. See
// README.md, "Ingest".
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/config"
	"github.com/mendflow/mendflow/internal/redact"
	"github.com/mendflow/mendflow/internal/routing"
	"github.com/mendflow/mendflow/pkg/events"
)

// Run wires ingest from its environment and serves until ctx ends; it is
// an app.RealMain.
func Run(ctx context.Context, env envconfig.Lookuper, tel app.Telemetry) error {
	var cfg Config
	if err := config.Load(ctx, env, &cfg); err != nil {
		return err
	}
	svc, err := newService(ctx, &cfg, tel)
	if err != nil {
		return app.SetUpFailed(ctx, tel.Logger, err)
	}
	return svc.run(ctx)
}

// service is a running ingest: NATS connection and HTTP server.
type service struct {
	cfg    *Config
	logger *slog.Logger
	nc     *nats.Conn
	srv    *app.Server
	served <-chan error
}

// newService loads the rules, binds the listener and serves on it, then
// connects to NATS and makes sure the streams exist, waiting for a cluster
// still forming; any failure names the step. Meanwhile /healthz and
// /metrics answer, /readyz answers 503 with what the set-up waits for, and
// the event endpoints answer 503: nothing is taken that could not be
// stored. It returns once ingest takes events, or when ctx ends first.
func newService(ctx context.Context, cfg *Config, tel app.Telemetry) (_ *service, err error) {
	logger, tp := tel.Logger, tel.TracerProvider()
	reg := events.NewRegistry()
	var router *routing.Router
	if cfg.RulesFile != "" {
		router, err = routing.Load(cfg.RulesFile, reg)
	} else {
		router, err = routing.New(reg)
	}
	if err != nil {
		return nil, fmt.Errorf("RULES_FILE: %w", err)
	}

	metrics := newMetrics()
	bodies := newBodyBudget(cfg.MaxInflightBytes)
	metrics.watchBodies(bodies)
	gate := app.NewGate()
	endpoints := &startingHandler{retryAfter: cfg.RetryAfter, refused: metrics.publishFailures.WithLabelValues(reasonStarting)}
	srv, err := app.Listen("INGEST_ADDR", cfg.Addr, app.ServerConfig{
		Metrics:  metrics.registry,
		Ready:    gate.Ready,
		Handler:  endpoints,
		Logger:   logger,
		MaxConns: cfg.MaxConns,
	})
	if err != nil {
		return nil, err
	}
	served := srv.Start()
	defer func() {
		if err != nil {
			srv.Close()
		}
	}()
	logger.Info("ingest listening; setting up NATS and JetStream", "addr", srv.Addr(), "nats", redact.URLs(cfg.NATSURL))
	tel.Listening(srv.Addr())

	nc, err := app.ConnectNATS(ctx, gate, logger, cfg.NATSURL,
		nats.Name("mendflow-ingest"),
		nats.ReconnectWait(250*time.Millisecond),
		// Fail publishes at once while disconnected instead of buffering
		// them: a buffered publish could be stored after the sender was
		// answered 503.
		nats.ReconnectBufSize(-1),
	)
	if err != nil {
		return nil, fmt.Errorf("NATS_URL: connect to NATS at %s: %w", redact.URLs(cfg.NATSURL), err)
	}
	defer func() {
		if err != nil {
			nc.Close()
		}
	}()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("JetStream: %w", err)
	}
	if err := prepareStreams(ctx, js, cfg.Streams, logger, gate.Retrying(bus.LogRetry(logger))); err != nil {
		return nil, err
	}
	writes := &writeHealth{logger: logger}
	// The limits are as the server said on connecting; one reached on
	// reconnection may take less, which the publish still catches.
	pub := bus.NewPublisher(js, bus.WithMaxPayload(nc.MaxPayload()), bus.WithMaxHeaderBytes(maxCommandHeaderBytes),
		bus.WithPublishTimeout(cfg.PublishTimeout))

	s := &server{
		cfg:     cfg,
		router:  router,
		pub:     pub,
		trails:  js,
		bodies:  bodies,
		writes:  writes,
		metrics: metrics,
		logger:  logger,
		tracer:  tp.Tracer("github.com/mendflow/mendflow/internal/ingest"),
		now:     time.Now,
	}
	endpoints.serve(s.handler())
	gate.Open(func(ctx context.Context) error {
		if st := nc.Status(); st != nats.CONNECTED {
			return fmt.Errorf("NATS connection is %s", st)
		}
		if err := bus.CheckStreams(ctx, js); err != nil {
			return err
		}
		return writes.check(ctx, func(ctx context.Context, need int64) error {
			return probeWrites(ctx, js, pub, cfg.Streams.Replicas, need)
		})
	})
	logger.Info("ingest ready")
	return &service{cfg: cfg, logger: logger, nc: nc, srv: srv, served: served}, nil
}

// streamAdmin is what prepareStreams needs of a jetstream.JetStream.
type streamAdmin interface {
	bus.StreamManager
	UpdateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error)
}

// prepareStreams creates missing streams, ingest's probe stream among
// them (see probeWrites), waiting for a cluster still forming, and applies
// the duplicate window to an existing MENDFLOW_COMMANDS: ingest is the one
// publisher that deduplicates, so its setting wins. Changing the window
// keeps every message; nothing else of an existing stream is touched.
// onRetry hears of each failure that may pass.
func prepareStreams(ctx context.Context, js streamAdmin, cfg bus.StreamConfig, logger *slog.Logger, onRetry func(err error, wait time.Duration)) error {
	return bus.RetrySetup(ctx, onRetry, func(ctx context.Context) error {
		if err := bus.EnsureStreams(ctx, js, cfg); err != nil {
			return fmt.Errorf("streams: %w", err)
		}
		if _, err := js.CreateStream(ctx, probeStreamConfig(cfg.Replicas)); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("streams: create stream %s: %w", streamProbe, err)
		}
		stream, err := js.Stream(ctx, events.StreamCommands)
		if err != nil {
			return fmt.Errorf("streams: %w", err)
		}
		sc := stream.CachedInfo().Config
		if sc.Duplicates == cfg.DedupWindow {
			return nil
		}
		logger.Info("changing the duplicate window of "+events.StreamCommands, "from", sc.Duplicates, "to", cfg.DedupWindow)
		sc.Duplicates = cfg.DedupWindow
		if _, err := js.UpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("STREAM_DEDUP_WINDOW: apply to %s: %w", events.StreamCommands, err)
		}
		return nil
	})
}

// run serves until ctx ends, then stops accepting, answers the requests in
// flight (see app.Server.Shutdown) and drains NATS, so that every 202
// given was stored; INGEST_SHUTDOWN_TIMEOUT bounds the whole stop. NATS is
// drained after the last answer: a request still publishing would be
// refused by a draining connection.
func (s *service) run(ctx context.Context) error {
	var err error
	select {
	case err = <-s.served:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		s.logger.Info("shutting down")
	}
	return errors.Join(err, app.Shutdown(s.logger, s.srv, s.nc, s.cfg.ShutdownTimeout))
}

// Addr is the address the service listens on.
func (s *service) Addr() string { return s.srv.Addr() }
