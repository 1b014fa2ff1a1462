// Command ingest is the door of mendflow: it takes CloudEvents (POST
// /events) and GitHub and GitLab webhooks, routes each event to Mend
// commands, and stores them durably, deduplicated, in JetStream. See
// README.md, "Ingest".
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/pkg/config"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/events/routing"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	err := realMain(ctx, envconfig.OsLookuper(), logger)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ingest: %v\n", err)
		os.Exit(1)
	}
}

// realMain wires ingest from its environment and serves until ctx ends.
func realMain(ctx context.Context, env envconfig.Lookuper, logger *slog.Logger) error {
	var cfg Config
	if err := config.Load(ctx, env, &cfg); err != nil {
		return err
	}
	svc, err := newService(ctx, &cfg, logger)
	if err != nil {
		return err
	}
	return svc.run(ctx)
}

// service is a running ingest: NATS connection, HTTP listener and server.
type service struct {
	cfg      *Config
	logger   *slog.Logger
	nc       *nats.Conn
	listener net.Listener
	srv      *http.Server
}

// newService connects to NATS, makes sure the streams exist, loads the
// rules and binds the listener; any failure names the step.
func newService(ctx context.Context, cfg *Config, logger *slog.Logger) (*service, error) {
	reg := events.NewRegistry()
	router, err := routing.New(reg)
	if cfg.RulesFile != "" {
		router, err = routing.Load(cfg.RulesFile, reg)
	}
	if err != nil {
		return nil, fmt.Errorf("RULES_FILE: %w", err)
	}

	nc, err := nats.Connect(cfg.NATSURL,
		nats.Name("mendflow-ingest"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		// Fail publishes at once while disconnected instead of buffering
		// them: a buffered publish could be stored after the sender was
		// answered 503.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: we closed it
				logger.Warn("NATS disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("NATS reconnected", "server", redactURL(nc.ConnectedUrl()))
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", redactURLs(cfg.NATSURL), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("JetStream: %w", err)
	}
	if err := prepareStreams(ctx, js, cfg.Streams, logger); err != nil {
		nc.Close()
		return nil, err
	}

	listener, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("INGEST_ADDR: listen on %s: %w", cfg.Addr, err)
	}
	s := &server{
		cfg:     cfg,
		router:  router,
		js:      js,
		metrics: newMetrics(),
		logger:  logger,
		now:     time.Now,
		ready: func(ctx context.Context) error {
			if st := nc.Status(); st != nats.CONNECTED {
				return fmt.Errorf("NATS connection is %s", st)
			}
			return events.CheckStreams(ctx, js)
		},
	}
	return &service{
		cfg:      cfg,
		logger:   logger,
		nc:       nc,
		listener: listener,
		srv: &http.Server{
			Handler:           s.handler(),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       time.Minute,
			WriteTimeout:      time.Minute,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		},
	}, nil
}

// streamAdmin is what prepareStreams needs of a jetstream.JetStream.
type streamAdmin interface {
	events.StreamManager
	UpdateStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error)
}

// prepareStreams creates missing streams, waiting for a cluster still
// forming, and applies the duplicate window to an existing
// MENDFLOW_COMMANDS: ingest is the one publisher that deduplicates, so its
// setting wins. Changing the window keeps every message; nothing else of an
// existing stream is touched.
func prepareStreams(ctx context.Context, js streamAdmin, cfg events.StreamConfig, logger *slog.Logger) error {
	return events.RetrySetup(ctx, events.LogRetry(logger), func(ctx context.Context) error {
		if err := events.EnsureStreams(ctx, js, cfg); err != nil {
			return fmt.Errorf("streams: %w", err)
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

// run serves until ctx ends, then stops accepting, lets in-flight requests
// finish and drains NATS, so that every 202 given was stored.
func (s *service) run(ctx context.Context) error {
	s.logger.Info("ingest listening", "addr", s.listener.Addr().String(), "nats", redactURLs(s.cfg.NATSURL))
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.srv.Serve(s.listener) }()

	var err error
	select {
	case err = <-serveErr:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		s.logger.Info("shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
		defer cancel()
		if serr := s.srv.Shutdown(shutdownCtx); serr != nil {
			err = fmt.Errorf("shutdown: %w", serr)
		}
	}

	closed := make(chan struct{})
	s.nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if derr := s.nc.Drain(); derr != nil {
		s.nc.Close()
		return errors.Join(err, fmt.Errorf("drain NATS: %w", derr))
	}
	select {
	case <-closed:
	case <-time.After(s.cfg.ShutdownTimeout):
		s.nc.Close()
	}
	return err
}

// Addr is the address the service listens on.
func (s *service) Addr() string { return s.listener.Addr().String() }

// redactURLs hides passwords in a comma-separated NATS URL list.
func redactURLs(list string) string {
	parts := strings.Split(list, ",")
	for i, p := range parts {
		parts[i] = redactURL(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	if u.User != nil {
		u.User = url.User("redacted")
	}
	return u.String()
}
