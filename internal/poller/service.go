package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/budget"
	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/config"
	"github.com/mendflow/mendflow/internal/mendhttp"
	"github.com/mendflow/mendflow/internal/telemetry"
	"github.com/mendflow/mendflow/internal/trail"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// settings is the poller's environment.
type settings struct {
	NATSURL  string `env:"NATS_URL, default=nats://127.0.0.1:4222"`
	Addr     string `env:"POLLER_ADDR, default=:8082"`
	OrgToken string `env:"MEND_ORG_TOKEN, required"`

	Mend    mend.Config
	Budget  budget.Config
	Streams bus.StreamConfig
	Poller  Config
	Trail   trail.Config
}

// Run runs the poller service until ctx ends; it is an app.RealMain. It
// serves /healthz, /readyz and /metrics before it connects to NATS and
// sets up JetStream, waiting for a cluster still forming; meanwhile
// /readyz answers 503 with what it waits for.
func Run(ctx context.Context, env envconfig.Lookuper, tel app.Telemetry) error {
	logger, tp := tel.Logger, tel.TracerProvider()
	var cfg settings
	if err := config.Load(ctx, env, &cfg); err != nil {
		return err
	}
	reg := telemetry.NewRegistry()
	gate := app.NewGate()
	var stopping atomic.Bool
	defer context.AfterFunc(ctx, func() { stopping.Store(true) })()
	srv, err := app.Listen("POLLER_ADDR", cfg.Addr, app.ServerConfig{Metrics: reg, Ready: gate.Ready, Logger: logger})
	if err != nil {
		return err
	}
	served := srv.Start()
	defer srv.Close()
	logger.Info("poller listening; setting up NATS and JetStream", "addr", srv.Addr())
	tel.Listening(srv.Addr())

	nc, err := app.ConnectNATS(ctx, gate, logger, cfg.NATSURL, nats.Name("mendflow-poller"))
	if err != nil {
		// The URL is left out: it may hold credentials.
		return app.SetUpFailed(ctx, logger, fmt.Errorf("connecting to NATS_URL: %w", err))
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}
	if err := bus.WaitForStreams(ctx, js, cfg.Streams, gate.Retrying(bus.LogRetry(logger))); err != nil {
		return app.SetUpFailed(ctx, logger, fmt.Errorf("streams: %w", err))
	}
	var records jetstream.KeyValue
	err = bus.RetrySetup(ctx, gate.Retrying(bus.LogRetry(logger)), func(ctx context.Context) (err error) {
		records, err = trail.OpenBucket(ctx, js, cfg.Trail, cfg.Streams.Replicas)
		return err
	})
	if err != nil {
		return app.SetUpFailed(ctx, logger, err)
	}
	warnDedupWindow(ctx, js, cfg.Poller.AckWait, logger)
	// The Mend budget is shared with every worker and poller (MEND_RATE_LIMIT).
	var shared *budget.Budget
	err = bus.RetrySetup(ctx, gate.Retrying(bus.LogRetry(logger)), func(ctx context.Context) (err error) {
		shared, err = budget.New(ctx, js, cfg.Budget, budget.Options{
			Rate: cfg.Mend.RateLimit, Burst: cfg.Mend.RateBurst, DefaultOrg: cfg.OrgToken,
			Replicas: cfg.Streams.Replicas, Logger: logger, Registerer: reg,
		})
		return err
	})
	if err != nil {
		return app.SetUpFailed(ctx, logger, err)
	}
	defer shared.Close()
	client, err := mend.NewClientFromConfig(cfg.Mend, mend.WithUserAgent("mendflow-poller"), mend.WithLogger(logger),
		mend.WithLimiter(shared),
		mend.WithHTTPClient(&http.Client{Transport: mendhttp.NewMetrics(reg).Transport(mendhttp.NewTransport(cfg.Poller.Concurrency), tp)}))
	if err != nil {
		return fmt.Errorf("Mend client: %w", err)
	}
	logger.Info("Mend hosts", "mend_url", client.URL(), "mend_api_url", client.APIURL())

	metrics, err := NewMetrics(reg, js)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	reg.MustRegister(bus.NewConsumerLag(js, events.StreamTracking, ConsumerName))
	p, err := New(js, NewMendSource(client), cfg.Poller, cfg.OrgToken, logger, metrics, tp)
	if err != nil {
		return err
	}
	if p.recorder, err = trail.NewRecorder(records, trail.KindItem, logger, reg); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}

	gate.Open(func(ctx context.Context) error {
		return readiness(ctx, nc, js, stopping.Load())
	})
	logger.Info("poller started", "consumer", ConsumerName,
		"first_interval", cfg.Poller.FirstInterval.String(), "max_interval", cfg.Poller.MaxInterval.String(),
		"deadline", cfg.Poller.Deadline.String(), "concurrency", cfg.Poller.Concurrency)

	// The poller stops on ctx, or on its own when consuming fails; the
	// server's failure stops the poller too.
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	ran := make(chan error, 1)
	go func() { ran <- p.Run(runCtx) }()
	var runErr error
	select {
	case runErr = <-ran:
		if runErr != nil {
			runErr = fmt.Errorf("poller: %w", runErr)
		}
	case err := <-served:
		cancelRun()
		<-ran
		runErr = fmt.Errorf("serving POLLER_ADDR: %w", err)
	}
	// NATS drains, after the HTTP server, the acknowledgements and
	// hand-backs still buffered.
	runErr = errors.Join(runErr, app.Shutdown(logger, srv, nc, app.StopTimeout))
	logger.Info("poller stopped")
	return runErr
}

// readiness reports why the poller cannot work: NATS not connected, a
// stream it needs missing, its consumer gone, or shutting down.
func readiness(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, stopping bool) error {
	if stopping {
		return errors.New("shutting down")
	}
	if !nc.IsConnected() {
		return errors.New("NATS not connected")
	}
	for _, name := range []string{events.StreamTracking, events.StreamEvents} {
		if _, err := js.Stream(ctx, name); err != nil {
			return fmt.Errorf("stream %s: %w", name, err)
		}
	}
	if _, err := js.Consumer(ctx, events.StreamTracking, ConsumerName); err != nil {
		return fmt.Errorf("consumer %s: %w", ConsumerName, err)
	}
	return nil
}

// warnDedupWindow warns when MENDFLOW_EVENTS forgets a Nats-Msg-Id sooner
// than a dead poller's item comes back: a second completion event could
// then be stored.
func warnDedupWindow(ctx context.Context, js jetstream.JetStream, ackWait time.Duration, logger *slog.Logger) {
	s, err := js.Stream(ctx, events.StreamEvents)
	if err != nil {
		return
	}
	if window := s.CachedInfo().Config.Duplicates; window < 2*ackWait {
		logger.Warn("poller: the duplicate window of MENDFLOW_EVENTS is shorter than twice POLLER_ACK_WAIT; a poller that dies between publishing and acknowledging may cause a second completion event",
			"duplicate_window", window, "ack_wait", ackWait)
	}
}
