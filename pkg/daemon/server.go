package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"
)

// NewRegistry returns a Prometheus registry of a process's own, with the
// Go runtime and process collectors on it. Each program makes one and
// registers its metrics there: no metric lands on the global registry.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// ServerConfig is what a Server serves.
type ServerConfig struct {
	// Metrics is served on GET /metrics.
	Metrics prometheus.Gatherer
	// Ready says why the service cannot take work, on GET /readyz (503
	// with the reason); nil means always ready. It gets readyTimeout. A
	// service that sets itself up while serving passes Gate.Ready.
	Ready func(ctx context.Context) error
	// Handler serves every other path; nil answers 404.
	Handler http.Handler
	// Logger logs what the HTTP server itself reports.
	Logger *slog.Logger
	// MaxConns, when positive, bounds the connections served at once:
	// those beyond it wait, unaccepted, until one closes. It bounds what
	// idle and slow connections hold of memory (a goroutine and buffers
	// each). /healthz and /readyz wait with them.
	MaxConns int
}

// readyTimeout bounds a readiness check, so that a NATS server that does
// not answer makes /readyz answer 503 rather than hang.
const readyTimeout = 2 * time.Second

// Server is a service's HTTP server, bound to its address: GET /healthz
// (the process is alive), GET /readyz and GET /metrics, and the service's
// own endpoints.
type Server struct {
	ln  net.Listener
	srv *http.Server
}

// Listen binds addr (named by variable in errors, such as WORKER_ADDR) and
// returns the server, not yet serving.
func Listen(variable, addr string, cfg ServerConfig) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", variable, addr, err)
	}
	if cfg.MaxConns > 0 {
		ln = netutil.LimitListener(ln, cfg.MaxConns)
	}
	mux := http.NewServeMux()
	mux.Handle("/healthz", getOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})))
	mux.Handle("/readyz", getOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cfg.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			if err := cfg.Ready(ctx); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})))
	if cfg.Metrics != nil {
		mux.Handle("/metrics", getOnly(promhttp.HandlerFor(cfg.Metrics, promhttp.HandlerOpts{})))
	}
	if cfg.Handler != nil {
		mux.Handle("/", cfg.Handler)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{ln: ln, srv: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}}, nil
}

// getOnly answers 405 to anything but GET (and HEAD).
func getOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Start serves in the background. The channel receives why serving
// stopped, unless Shutdown or Close stopped it.
func (s *Server) Start() <-chan error {
	errc := make(chan error, 1)
	go func() {
		if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	return errc
}

// Shutdown stops accepting and waits, until ctx ends, for the requests in
// flight to be answered.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutting down the HTTP server: %w", err)
	}
	return nil
}

// Close stops the server at once; it also releases the address of a server
// never started.
func (s *Server) Close() error {
	err := s.srv.Close()
	if cerr := s.ln.Close(); err == nil && !errors.Is(cerr, net.ErrClosed) {
		err = cerr
	}
	return err
}
