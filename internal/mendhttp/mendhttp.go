// Package mendhttp observes the HTTP calls of a Mend client: a transport
// that times each attempt by Mend operation and status class, counts the
// client's quick retries, makes a client span per attempt and carries the
// trace context to Mend in the traceparent header.
//
//	m := mendhttp.NewMetrics(reg)
//	client, err := mend.NewClient(url, key, mend.WithHTTPClient(&http.Client{
//		Transport: m.Transport(http.DefaultTransport, tracerProvider),
//	}))
package mendhttp

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/mendflow/mendflow/pkg/mend"
)

// Metrics are the metrics of the calls to Mend, registered on a registry
// of the caller's.
type Metrics struct {
	duration *prometheus.HistogramVec
	retries  *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mendflow_mend_request_duration_seconds",
			Help: "Latency of HTTP requests (attempts) to Mend, by operation (v1.4 request type or REST operation) " +
				"and status class (2xx, 4xx, 5xx, error when no answer came).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"operation", "class"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mendflow_mend_retries_total",
			Help: "Attempts of Mend calls after the first (the client's quick retries), by operation.",
		}, []string{"operation"}),
	}
	reg.MustRegister(m.duration, m.retries)
	return m
}

// Transport wraps base: each request is a client span of tp, its trace
// context goes to Mend in the traceparent header, and it is measured.
func (m *Metrics) Transport(base http.RoundTripper, tp trace.TracerProvider) http.RoundTripper {
	return otelhttp.NewTransport(measured{m: m, next: base},
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		// otelhttp's own metrics would go to the global meter provider;
		// the Prometheus metrics above are the ones.
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return "mend " + operation(r)
		}),
	)
}

// operation is the label of a request: the Mend operation, or "other" for
// a request not made by a mend.Client.
func operation(r *http.Request) string {
	if c, ok := mend.CallOf(r.Context()); ok && c.Operation != "" {
		return c.Operation
	}
	return "other"
}

type measured struct {
	m    *Metrics
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t measured) RoundTrip(r *http.Request) (*http.Response, error) {
	op := operation(r)
	if c, ok := mend.CallOf(r.Context()); ok && c.Attempt > 1 {
		t.m.retries.WithLabelValues(op).Inc()
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	class := "error"
	if err == nil {
		class = strconv.Itoa(resp.StatusCode/100) + "xx"
	}
	t.m.duration.WithLabelValues(op, class).Observe(time.Since(start).Seconds())
	return resp, err
}
