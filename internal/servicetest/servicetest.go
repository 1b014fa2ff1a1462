// Package servicetest is what the tests of mendflow's services share about
// running one through its Run: starting it on an address of the system's
// choosing, waiting until it is ready, asking it, stopping it, and what it
// logged.
package servicetest

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// FreeAddr is a loopback address (host:port) nothing listens on: where a
// test expects to find no server (NATS not up yet). A service under test
// listens on port 0 instead (Start), as another test may take an address
// freed here before the service binds it.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Start runs a service's Run (run) in the background on a context that
// stop cancels, as SIGTERM would, and waits until it listens: run passes
// listening to the service as its app.Telemetry's OnListen, and the
// service's configuration gives it an address with port 0. It returns the
// address the service listens on; done receives what run returns.
func Start(t testing.TB, run func(ctx context.Context, listening func(addr string)) error) (addr string, stop func(), done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	listened := make(chan string, 1)
	ch := make(chan error, 1)
	go func() { ch <- run(ctx, func(addr string) { listened <- addr }) }()
	select {
	case addr = <-listened:
	case err := <-ch:
		t.Fatalf("Run returned before it listened: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not listen within 10s")
	}
	return addr, cancel, ch
}

// Get is GET http://addr+path: the status and the body.
func Get(t testing.TB, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// WaitReady waits until the service at addr answers GET /readyz with 200,
// failing the test if it does not within the time given.
func WaitReady(t testing.TB, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		status, body := Get(t, addr, "/readyz")
		if status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within %v: %d %s", within, status, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop cancels a service (stop) and expects it to return nil on done within
// the time given, as on SIGTERM, and to serve addr no more.
func Stop(t testing.TB, stop func(), done <-chan error, addr string, within time.Duration) {
	t.Helper()
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after a stop", err)
		}
	case <-time.After(within):
		t.Fatalf("Run did not return within %v of the stop", within)
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("still serving after the stop")
	}
}

// Logs collects the lines a service logs, from any of its goroutines: the
// writer of its slog handler.
type Logs struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
