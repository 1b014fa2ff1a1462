package ingest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/mendflow/mendflow/internal/servicetest"
)

// stall opens a connection that posts to path a body announced as
// announced bytes long, sends sent bytes of it and waits; the test closes
// it when it ends.
func (h *harness) stall(path string, header http.Header, announced, sent int) net.Conn {
	h.t.Helper()
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	var req bytes.Buffer
	fmt.Fprintf(&req, "POST %s HTTP/1.1\r\nHost: ingest\r\nContent-Length: %d\r\n", path, announced)
	if err := header.Write(&req); err != nil {
		h.t.Fatal(err)
	}
	req.WriteString("\r\n")
	req.Write(bytes.Repeat([]byte{'x'}, sent))
	if _, err := c.Write(req.Bytes()); err != nil {
		h.t.Fatal(err)
	}
	return c
}

// metric is the value of a metric without labels (or with the labels
// given in name) on GET /metrics.
func (h *harness) metric(name string) float64 {
	h.t.Helper()
	_, _, body := h.do(http.MethodGet, "/metrics", nil, nil)
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				h.t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	h.t.Fatalf("no metric %s", name)
	return 0
}

// waitMetric waits until the metric has the value want.
func (h *harness) waitMetric(name string, want float64) {
	h.t.Helper()
	var got float64
	if !servicetest.Poll(10*time.Second, func() bool { got = h.metric(name); return got == want }) {
		h.t.Fatalf("%s = %v, want %v", name, got, want)
	}
}

// TestBodiesInFlightHaveACeiling: senders that announce large bodies and
// send part of them, without credentials, hold no more memory together
// than INGEST_MAX_INFLIGHT_BYTES, and one that sends nothing holds none;
// a request beyond the ceiling is answered 503 (unavailable, with
// Retry-After) and counted; once the senders give up, their memory is
// given back and requests are taken again.
func TestBodiesInFlightHaveACeiling(t *testing.T) {
	t.Parallel()
	const limit = 256 << 10
	h := newHarness(t, func(c *Config) { c.MaxBodyBytes, c.MaxInflightBytes = limit, 2*limit })
	const inflight = "mendflow_ingest_inflight_body_bytes"
	unsigned := http.Header{"Content-Type": {"application/json"}, "X-Hub-Signature-256": {"sha256=" + strings.Repeat("0", 64)},
		"X-Github-Event": {"repository"}, "X-Github-Delivery": {"forged"}}

	h.stall("/webhooks/github", unsigned, limit, 0)
	github := h.stall("/webhooks/github", unsigned, limit, limit-1)
	events := h.stall("/events", structuredHeader, limit, limit-1)
	h.waitMetric(inflight, 2*limit)

	body := readFile(t, "github/repository.created.json")
	status, header, answer := h.do(http.MethodPost, "/webhooks/github", githubHeaders("repository", "c-1", body), body)
	if status != http.StatusServiceUnavailable || header.Get("Retry-After") != "3" {
		t.Fatalf("over the ceiling: %d, Retry-After %q, want 503 and 3; %s", status, header.Get("Retry-After"), answer)
	}
	if p := decodeProblem(t, header, answer); p.Type != problemTypeBase+"unavailable" || !strings.Contains(p.Detail, "INGEST_MAX_INFLIGHT_BYTES") {
		t.Errorf("problem %+v, want unavailable naming INGEST_MAX_INFLIGHT_BYTES", p)
	}
	if got := h.metric("mendflow_ingest_shed_requests_total"); got != 1 {
		t.Errorf("shed requests = %v, want 1", got)
	}

	github.Close()
	h.waitMetric(inflight, limit)
	if status, _, b := h.do(http.MethodPost, "/webhooks/github", githubHeaders("repository", "c-1", body), body); status != http.StatusAccepted {
		t.Errorf("under the ceiling again: %d %s, want 202", status, b)
	}
	events.Close()
	h.waitMetric(inflight, 0)
}

// TestReadBody reads bodies of every size around the chunks a body grows
// by, arriving a byte at a time or at once, with and without a
// Content-Length, and gives back all it reserved.
func TestReadBody(t *testing.T) {
	t.Parallel()
	const limit = 3*bodyChunk + 100
	for _, size := range []int{0, 1, 2, bodyChunk - 1, bodyChunk, bodyChunk + 1, 2 * bodyChunk, 3*bodyChunk + 7, limit, limit + 1} {
		for _, chunked := range []bool{false, true} {
			for _, slow := range []bool{false, true} {
				t.Run(fmt.Sprintf("%d bytes, chunked %v, slow %v", size, chunked, slow), func(t *testing.T) {
					t.Parallel()
					want := make([]byte, size)
					for i := range want {
						want[i] = byte(i * 7)
					}
					var src io.Reader = bytes.NewReader(want)
					if slow {
						src = iotest.OneByteReader(src)
					}
					r := httptest.NewRequest(http.MethodPost, "/events", src)
					r.ContentLength = int64(size)
					if chunked {
						r.ContentLength = -1
					}
					budget := newBodyBudget(4 * limit)
					got, held, p := readBody(r, limit, budget, time.Second)
					switch {
					case size > limit:
						if p == nil || p.Status != http.StatusRequestEntityTooLarge {
							t.Fatalf("problem %+v, want 413", p)
						}
					case p != nil:
						t.Fatalf("problem %+v", p)
					case !bytes.Equal(got, want):
						t.Fatalf("read %d bytes, not the %d sent", len(got), size)
					case held != int64(size) || budget.used.Load() != held:
						t.Errorf("the body holds %d bytes of the budget (%d reserved), want %d", held, budget.used.Load(), size)
					}
					budget.give(held)
					if n := budget.used.Load(); n != 0 {
						t.Errorf("%d bytes of the budget kept once given back", n)
					}
				})
			}
		}
	}
}
