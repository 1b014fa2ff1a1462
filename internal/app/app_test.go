package app

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mendflow/mendflow/internal/telemetry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sethvargo/go-envconfig"
)

func TestRunExitsWithOneLineNamingTheVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string
		err      error
		wantCode int
		wantLine string
	}{
		{name: "ok", env: map[string]string{}, wantCode: 0},
		{name: "bad level", env: map[string]string{"LOG_LEVEL": "loud"}, wantCode: 1, wantLine: `svc: LOG_LEVEL: must be debug, info, warn or error, not "loud"`},
		{name: "bad format", env: map[string]string{"LOG_FORMAT": "xml"}, wantCode: 1, wantLine: `svc: LOG_FORMAT: must be json or text, not "xml"`},
		{name: "bad exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, wantCode: 1, wantLine: `svc: OTEL_TRACES_EXPORTER: must be otlp or none, not "zipkin"`},
		{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, wantCode: 1, wantLine: `svc: OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is supported, not "grpc"`},
		{name: "endpoint not a URL", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:s3cret%zz@collector:4318"}, wantCode: 1, wantLine: `svc: OTEL_EXPORTER_OTLP_ENDPOINT: must be an http or https URL with a host`},
		{name: "endpoint without a scheme", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, wantCode: 1, wantLine: `svc: OTEL_EXPORTER_OTLP_ENDPOINT: must be an http or https URL with a host`},
		{name: "traces endpoint not a URL", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:43 18/v1/traces"}, wantCode: 1, wantLine: `svc: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: must be an http or https URL with a host`},
		// Timings the SDK reads, in milliseconds, which it would take as
		// given when negative, or skip when not a number.
		{name: "negative OTLP timeout", env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "-1"}, wantCode: 1, wantLine: `svc: OTEL_EXPORTER_OTLP_TIMEOUT: must be a number of milliseconds, at least 0, not "-1"`},
		{name: "negative traces timeout", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "-10000"}, wantCode: 1, wantLine: `svc: OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: must be a number of milliseconds, at least 0, not "-10000"`},
		{name: "OTLP timeout not a number", env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, wantCode: 1, wantLine: `svc: OTEL_EXPORTER_OTLP_TIMEOUT: must be a number of milliseconds, at least 0, not "10s"`},
		{name: "zero schedule delay", env: map[string]string{"OTEL_BSP_SCHEDULE_DELAY": "0"}, wantCode: 1, wantLine: `svc: OTEL_BSP_SCHEDULE_DELAY: must be a number of milliseconds, at least 1, not "0"`},
		{name: "negative export timeout", env: map[string]string{"OTEL_BSP_EXPORT_TIMEOUT": "-30000"}, wantCode: 1, wantLine: `svc: OTEL_BSP_EXPORT_TIMEOUT: must be a number of milliseconds, at least 0, not "-30000"`},
		// Empty is unset to the SDK, and 0 a timeout of none.
		{name: "timings empty or zero", env: map[string]string{"OTEL_BSP_SCHEDULE_DELAY": "", "OTEL_EXPORTER_OTLP_TIMEOUT": "0", "OTEL_BSP_EXPORT_TIMEOUT": "30000"}, wantCode: 0},
		{name: "realMain fails over lines", env: map[string]string{}, err: errors.Join(errors.New("A: first"), errors.New("second")), wantCode: 1, wantLine: "svc: A: first second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			ran := false
			code := run("svc", func(ctx context.Context, _ envconfig.Lookuper, tel Telemetry) error {
				ran = true
				if tel.Logger == nil || tel.Tracer == nil {
					t.Error("realMain without a logger or tracer provider")
				}
				return tt.err
			}, envconfig.MapLookuper(tt.env), &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			if got := strings.TrimSuffix(stderr.String(), "\n"); got != tt.wantLine {
				t.Errorf("stderr %q, want %q", got, tt.wantLine)
			}
			if wantRun := tt.wantLine == "" || tt.err != nil; ran != wantRun {
				t.Errorf("realMain ran: %v, want %v", ran, wantRun)
			}
		})
	}
}

func TestServer(t *testing.T) {
	t.Parallel()
	reg := telemetry.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "mendflow_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Inc()
	var notReady atomic.Bool
	srv, err := Listen("TEST_ADDR", "127.0.0.1:0", ServerConfig{
		Metrics: reg,
		Ready: func(context.Context) error {
			if notReady.Load() {
				return errors.New("NATS is gone")
			}
			return nil
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app "+r.URL.Path) }),
	})
	if err != nil {
		t.Fatal(err)
	}
	errc := srv.Start()
	base := "http://" + srv.Addr()
	get := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tt := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/healthz", 200, "ok\n"},
		{"GET", "/readyz", 200, "ok\n"},
		{"GET", "/metrics", 200, "mendflow_test_total 1"},
		{"GET", "/metrics", 200, "go_goroutines"},
		{"GET", "/events", 200, "app /events"},
		{"POST", "/healthz", 405, "method not allowed"},
	} {
		if status, body := get(tt.method, tt.path); status != tt.status || !strings.Contains(body, tt.body) {
			t.Errorf("%s %s = %d %q, want %d with %q", tt.method, tt.path, status, body, tt.status, tt.body)
		}
	}
	notReady.Store(true)
	if status, body := get("GET", "/readyz"); status != 503 || !strings.Contains(body, "NATS is gone") {
		t.Errorf("readyz not ready = %d %q", status, body)
	}
	if err := srv.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		t.Errorf("serve: %v", err)
	default:
	}
	if _, err := Listen("TEST_ADDR", "127.0.0.1:-1", ServerConfig{}); err == nil || !strings.HasPrefix(err.Error(), "TEST_ADDR: ") {
		t.Errorf("Listen on a bad address: %v, want an error naming TEST_ADDR", err)
	}
}

// TestShutdownAnswersKeptAliveConnections: a client that sends on a
// kept-alive connection after Shutdown began gets its answer, which closes
// the connection, rather than a connection closed under its request; and
// a new connection is refused.
func TestShutdownAnswersKeptAliveConnections(t *testing.T) {
	t.Parallel()
	srv, err := Listen("TEST_ADDR", "127.0.0.1:0", ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	srv.idleQuiet = time.Hour // only an answer closes the connection
	srv.Start()
	client := &http.Client{Transport: &http.Transport{}}
	get := func() (*http.Response, bool) {
		t.Helper()
		var reused bool
		ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+srv.Addr()+"/healthz", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp, reused
	}
	if resp, _ := get(); resp.Close {
		t.Fatal("the first answer closes its connection")
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	for {
		c, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			break // no longer accepting
		}
		c.Close()
		runtime.Gosched()
	}
	resp, reused := get()
	if resp.StatusCode != http.StatusOK || !resp.Close || !reused {
		t.Errorf("request on the kept-alive connection during shutdown: %d, closes %v, reused %v; want 200 closing the reused connection",
			resp.StatusCode, resp.Close, reused)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
}

// TestMaxConns: a connection beyond ServerConfig.MaxConns waits,
// unaccepted, until one closes.
func TestMaxConns(t *testing.T) {
	t.Parallel()
	srv, err := Listen("TEST_ADDR", "127.0.0.1:0", ServerConfig{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Close() })
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	first := dial()
	dial()
	third := dial()
	if _, err := io.WriteString(third, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := third.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a third connection was served (%d bytes, %v)", n, err)
	}
	first.Close()
	third.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(third).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Errorf("once a connection closed, the third got %q, %v; want 200", line, err)
	}
}
