package ingest

import (
	"net/http"

	"github.com/mendflow/mendflow/internal/telemetry"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are ingest's Prometheus metrics, on a registry of its own.
type metrics struct {
	registry        *prometheus.Registry
	events          *prometheus.CounterVec
	publishFailures *prometheus.CounterVec
	duplicates      prometheus.Counter
	duration        *prometheus.HistogramVec
	shed            prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		registry: telemetry.NewRegistry(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mendflow_ingest_events_total",
			Help: "Events received, by type and outcome (queued, duplicate, ignored, planned, invalid, unavailable). " +
				"The type is \"other\" for events no rule routed, to bound the label's values. " +
				"A request refused before its events are read (401, 413, 415) counts as one invalid event.",
		}, []string{"type", "outcome"}),
		publishFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mendflow_ingest_publish_failures_total",
			Help: "Requests answered 503, 413 or 409 because JetStream did not acknowledge their commands, or answered 503 before ingest's JetStream set-up was done (reason starting), by reason.",
		}, []string{"reason"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mendflow_ingest_duplicate_commands_total",
			Help: "Commands JetStream already had (same Nats-Msg-Id within the duplicate window).",
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mendflow_ingest_request_duration_seconds",
			Help:    "HTTP request latency, by path and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"path", "code"}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mendflow_ingest_shed_requests_total",
			Help: "Requests answered 503 because the bodies of the requests in flight held INGEST_MAX_INFLIGHT_BYTES.",
		}),
	}
	m.registry.MustRegister(m.events, m.publishFailures, m.duplicates, m.duration, m.shed)
	// Every reason is exported from the start, at 0, so that rate() and the
	// alerts see the first failure rather than a series appearing.
	for _, reason := range failureReasons {
		m.publishFailures.WithLabelValues(reason)
	}
	return m
}

// watchBodies exports what the bodies in flight hold of b's ceiling.
func (m *metrics) watchBodies(b *bodyBudget) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mendflow_ingest_inflight_body_bytes",
		Help: "Memory held by the bodies of the requests in flight, against INGEST_MAX_INFLIGHT_BYTES.",
	}, func() float64 { return float64(b.used.Load()) }))
}

// event counts one event; the type label is kept only for routed events.
func (m *metrics) event(typ, outcome string) {
	if outcome == statusIgnored {
		typ = "other"
	}
	m.events.WithLabelValues(typ, outcome).Inc()
}

func (m *metrics) invalid(n int) {
	m.events.WithLabelValues("other", "invalid").Add(float64(n))
}

func (m *metrics) eventsUnavailable(n int) {
	m.events.WithLabelValues("other", "unavailable").Add(float64(n))
}

// knownPaths bound the path label to ingest's own endpoints.
var knownPaths = map[string]bool{
	"/events": true, "/webhooks/github": true, "/webhooks/gitlab": true,
}

// pathLabel names the request's endpoint in metrics and span names:
// "other" for any path not ingest's, which would make a new value each.
func pathLabel(r *http.Request) string {
	if knownPaths[r.URL.Path] {
		return r.URL.Path
	}
	if _, ok := traceID(r); ok {
		return tracePath
	}
	return "other"
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
