package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"
)

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
	// stopping is set once Shutdown begins: from then on every answer
	// closes its connection.
	stopping atomic.Bool
	// idleQuiet is idleQuietDefault but in tests.
	idleQuiet time.Duration

	mu    sync.Mutex
	conns map[net.Conn]connState
	// changed receives when a connection changes state.
	changed chan struct{}
}

// connState is a connection's state, and since when.
type connState struct {
	state http.ConnState
	since time.Time
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
	s := &Server{ln: ln, idleQuiet: idleQuietDefault, conns: map[net.Conn]connState{}, changed: make(chan struct{}, 1)}
	s.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s.stopping.Load() {
				w.Header().Set("Connection", "close")
			}
			mux.ServeHTTP(w, r)
		}),
		ConnState:         s.track,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// track follows the state of each connection, for settle.
func (s *Server) track(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	if state == http.StateClosed || state == http.StateHijacked {
		delete(s.conns, c)
	} else {
		s.conns[c] = connState{state: state, since: time.Now()}
	}
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
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
		if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) && !s.stopping.Load() {
			errc <- err
		}
	}()
	return errc
}

// idleQuietDefault is how long a connection must have been idle, and
// Shutdown under way, before Shutdown closes it. A client that reuses a
// kept-alive connection may be sending on it as the server closes it, and
// then gets no answer (a POST is not sent again); one that sends within
// that time gets its answer instead.
const idleQuietDefault = 250 * time.Millisecond

// Shutdown stops accepting, answers the requests in flight and those that
// arrive on connections already open, each answer closing its
// connection, closes the connections idle for idleQuietDefault, and waits
// for the rest to be answered until ctx ends; then it closes them.
//
// net/http's Shutdown alone closes every idle connection at once: a client
// sending one request after another on a kept-alive connection had some
// of them cut without an answer.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopping.Store(true)
	if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("shutting down the HTTP server: %w", err)
	}
	s.settle(ctx, time.Now())
	// The listener, closed above, is closed again: net.ErrClosed.
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		s.srv.Close()
		return fmt.Errorf("shutting down the HTTP server: %w", err)
	}
	return nil
}

// settle waits until no connection is serving a request and every one
// left has been idle (or open without a request) for idleQuiet since the
// later of its last request and start, or until ctx ends. Meanwhile a
// connection in use closes after its next answer.
func (s *Server) settle(ctx context.Context, start time.Time) {
	for {
		s.mu.Lock()
		busy, wait := false, time.Duration(0)
		for _, c := range s.conns {
			if c.state == http.StateActive {
				busy = true
			}
			wait = max(wait, s.idleQuiet-time.Since(later(c.since, start)))
		}
		s.mu.Unlock()
		if !busy && wait <= 0 {
			return
		}
		var quiet <-chan time.Time // a connection in use: wait for a change
		if !busy {
			quiet = time.After(wait)
		}
		select {
		case <-s.changed:
		case <-quiet:
		case <-ctx.Done():
			return
		}
	}
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

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
