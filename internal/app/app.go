// Package app is how every mendflow service starts, stops and what it
// serves besides its work: the logger and the tracer provider built from
// the environment, realMain run under a context that SIGINT and SIGTERM
// cancel, the exit status, and the HTTP server of GET /healthz, GET
// /readyz and GET /metrics. A service serves it before it connects to
// NATS (ConnectNATS) and sets up JetStream, with a Gate as its readiness,
// so that it answers while a NATS cluster forms; it ends with Shutdown,
// which holds the one policy for a NATS drain that runs out of time.
//
// It holds no global state: Main builds the logger and the tracer provider
// and hands them to realMain, which passes them on.
package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mendflow/mendflow/internal/telemetry"
	"github.com/sethvargo/go-envconfig"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Telemetry is what a service tells those who watch it: its logs, its
// spans, and where it listens.
type Telemetry struct {
	// Logger is the service's logger; see NewLogger.
	Logger *slog.Logger
	// Tracer makes the service's spans. Nil means no spans of the
	// service's own: a trace context that arrives is still passed on.
	Tracer trace.TracerProvider
	// OnListen, when set, hears the address of the service's HTTP server
	// as soon as it listens, before the service sets itself up: a test
	// gives an address with port 0 and learns the port from it, then
	// follows the set-up on GET /readyz. Main leaves it nil.
	OnListen func(addr string)
}

// Listening tells t.OnListen, when set, that the service listens at addr.
func (t Telemetry) Listening(addr string) {
	if t.OnListen != nil {
		t.OnListen(addr)
	}
}

// TracerProvider is t.Tracer, or a provider that makes no spans of its own
// when it is nil (tests that do not look at spans leave it so).
func (t Telemetry) TracerProvider() trace.TracerProvider {
	if t.Tracer == nil {
		return noop.NewTracerProvider()
	}
	return t.Tracer
}

// RealMain is a service's wiring, the one shape of every service's Run:
// it loads its configuration from env (config.Load), listens (Listen,
// then tel.Listening), sets itself up behind a Gate (a stop meanwhile is
// clean: SetUpFailed), works until ctx ends, then stops gracefully
// (Shutdown), and returns why it could not start or carry on.
type RealMain func(ctx context.Context, env envconfig.Lookuper, tel Telemetry) error

// tracerShutdownTimeout bounds the flush of the spans still buffered when
// the program ends.
const tracerShutdownTimeout = 5 * time.Second

// Main runs a program and exits: 0 when realMain returns nil, after SIGINT
// or SIGTERM; 1 with one line on stderr, "<name>: <error>", when the
// logging or tracing variables are bad or realMain fails. name is also the
// default service name of the spans (OTEL_SERVICE_NAME overrides it).
func Main(name string, realMain RealMain) {
	os.Exit(run(name, realMain, envconfig.OsLookuper(), os.Stderr))
}

func run(name string, realMain RealMain, env envconfig.Lookuper, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fail := func(err error) int {
		// One line, whatever the error: errors.Join and wrapped multi-line
		// causes would otherwise spread over several.
		fmt.Fprintf(stderr, "%s: %s\n", name, strings.Join(strings.Fields(err.Error()), " "))
		return 1
	}
	logger, err := telemetry.NewLogger(ctx, env, stderr)
	if err != nil {
		return fail(err)
	}
	tp, err := telemetry.NewTracerProvider(ctx, env, "mendflow-"+name)
	if err != nil {
		return fail(err)
	}
	err = realMain(ctx, env, Telemetry{Logger: logger, Tracer: tp})
	flushCtx, cancel := context.WithTimeout(context.Background(), tracerShutdownTimeout)
	defer cancel()
	if terr := tp.Shutdown(flushCtx); terr != nil {
		logger.Warn("flushing spans failed", "error", terr)
	}
	if err != nil {
		return fail(err)
	}
	return 0
}
