package mendhttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/mendflow/mendflow/internal/mendhttp"
	"github.com/mendflow/mendflow/pkg/mend"
)

// TestTransport sends a v1.4 call that fails once with 503, then succeeds,
// inside a span: both attempts are measured by operation and class, the
// second counts as a retry, each is a client span of the caller's trace,
// and Mend receives that trace in traceparent.
func TestTransport(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	var (
		mu           sync.Mutex
		traceparents []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		traceparents = append(traceparents, r.Header.Get("traceparent"))
		mu.Unlock()
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"productToken":"p-1"}`))
	}))
	t.Cleanup(srv.Close)

	reg := prometheus.NewRegistry()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	retry := mend.DefaultRetryPolicy()
	retry.InitialInterval, retry.MaxInterval = time.Millisecond, time.Millisecond
	client, err := mend.NewClient(srv.URL, mend.Secret("key"), mend.WithRetry(retry),
		mend.WithHTTPClient(&http.Client{Transport: mendhttp.NewMetrics(reg).Transport(http.DefaultTransport, tp)}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "command")
	if _, _, err := client.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: "o", ProductName: "p"}); err != nil {
		t.Fatal(err)
	}
	parent.End()

	want := `
# HELP mendflow_mend_retries_total Attempts of Mend calls after the first (the client's quick retries), by operation.
# TYPE mendflow_mend_retries_total counter
mendflow_mend_retries_total{operation="createProduct"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "mendflow_mend_retries_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "mendflow_mend_request_duration_seconds"); err != nil || n != 2 {
		t.Errorf("%d duration series (%v), want 2: createProduct 5xx and 2xx", n, err)
	}
	trace := parent.SpanContext().TraceID().String()
	mu.Lock()
	defer mu.Unlock()
	if len(traceparents) != 2 {
		t.Errorf("%d attempts, want 2", len(traceparents))
	}
	for i, tp := range traceparents {
		if !strings.HasPrefix(tp, "00-"+trace+"-") {
			t.Errorf("attempt %d traceparent %q, want trace %s", i+1, tp, trace)
		}
	}
	var clientSpans int
	for _, s := range spans.Ended() {
		if s.Name() == "mend createProduct" && s.Parent().SpanID() == parent.SpanContext().SpanID() {
			clientSpans++
		}
	}
	if clientSpans != 2 {
		t.Errorf("%d client spans \"mend createProduct\" under the caller's span, want 2", clientSpans)
	}
}
