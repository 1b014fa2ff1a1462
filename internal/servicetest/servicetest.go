// Package servicetest is what the tests of mendflow's services share about
// running one through its Run: starting it on an address of the system's
// choosing, waiting until it is ready, asking it, stopping it, and what it
// logged.
package servicetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// NoServer is a loopback address (host:port) at which no server answers:
// where a test expects to find none (NATS not up). The test holds a
// listener there until it ends, which closes each connection at once, so
// that no other test can take the port meanwhile, as one could take a port
// freed for the purpose.
func NoServer(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return // closed at the end of the test
			}
			c.Close()
		}
	}()
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

// ListenAddr is the address in line if it is the JSON log line a service
// writes once it listens ("worker listening; ...", with addr), or "": how
// a test that runs a service's binary, on port 0, learns its address.
func ListenAddr(line string) string {
	var l struct{ Msg, Addr string }
	if json.Unmarshal([]byte(line), &l) != nil || !strings.Contains(l.Msg, " listening") {
		return ""
	}
	return l.Addr
}

// Get is GET http://addr+path: the status and the body.
func Get(t testing.TB, addr, path string) (int, string) {
	t.Helper()
	return Do(t, http.MethodGet, "http://"+addr+path, nil, nil)
}

// Do sends a request of method to url with header and body (none when
// nil), and returns the status and the body of the answer.
func Do(t testing.TB, method, url string, header http.Header, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if header != nil {
		req.Header = header
	}
	resp, err := http.DefaultClient.Do(req)
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
	var status int
	var body string
	if !Poll(within, func() bool {
		status, body = Get(t, addr, "/readyz")
		return status == http.StatusOK
	}) {
		t.Fatalf("not ready within %v: %d %s", within, status, body)
	}
}

// Eventually polls cond until it holds, failing the test with what it
// waited for if it does not within the time given: how a test waits on
// state it can observe (a call counted, a line logged, a stream emptied)
// rather than sleeping for a guess.
func Eventually(t testing.TB, within time.Duration, cond func() bool, what string) {
	t.Helper()
	if !Poll(within, cond) {
		t.Fatalf("timed out after %v waiting for %s", within, what)
	}
}

// Poll polls cond until it holds or within passes, and says whether it
// held: Eventually for a test that reports the failure itself, with what it
// saw last.
func Poll(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pollEvery)
	}
	return true
}

// pollEvery is how often Poll asks: often enough that a test does not wait
// long past the moment, seldom enough not to load what it asks.
const pollEvery = 10 * time.Millisecond

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

// Payload reads the JSON document in file (a payload of testdata/) and
// sets the values of dotted paths in it ("repository.name"), making the
// objects on a path that are missing, so that a test sends what GitHub,
// GitLab or a CDEvents producer sends with only its own values changed.
func Payload(t testing.TB, file string, set map[string]any) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for path, v := range set {
		keys := strings.Split(path, ".")
		m := doc
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[keys[len(keys)-1]] = v
	}
	return doc
}

// Gathered is the sum of the counter and gauge values of the metric name
// that g holds, over all its labels.
func Gathered(t testing.TB, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}
