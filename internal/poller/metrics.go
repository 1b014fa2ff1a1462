package poller

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/pkg/events"
)

// Outcomes of a completion, the outcome label of
// mendflow_poller_completions_total: succeeded, or the failure's reason.
const outcomeSucceeded = "succeeded"

// Results of a poll, the result label of mendflow_poller_polls_total.
const (
	pollRunning = "running"
	pollEnded   = "ended"
	pollError   = "error"
)

// Metrics are the poller's Prometheus metrics.
type Metrics struct {
	// deliveries are the runner's: what became of each delivery.
	deliveries  *bus.Metrics
	polls       *prometheus.CounterVec
	completions *prometheus.CounterVec
	duplicates  prometheus.Counter
	invalid     prometheus.Counter
	duration    *prometheus.HistogramVec
}

// NewMetrics registers the poller's metrics with reg. The gauges of what is
// being followed are read from the stream and its consumer through js when
// scraped, so that every poller process reports the shared truth rather
// than its own share of it.
func NewMetrics(reg prometheus.Registerer, js bus.StreamLookup) (*Metrics, error) {
	m := &Metrics{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mendflow_poller_polls_total",
			Help: "Status calls to Mend, by kind of item and result (running, ended, error).",
		}, []string{"kind", "result"}),
		completions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mendflow_poller_completions_total",
			Help: "Completion events published, by kind of item and outcome (succeeded, failed, timeout, unknown, error).",
		}, []string{"kind", "outcome"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mendflow_poller_duplicate_completions_total",
			Help: "Completion events the events stream dropped as already stored (a poller died between publishing and acknowledging).",
		}),
		invalid: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mendflow_poller_invalid_items_total",
			Help: "Messages on MENDFLOW_TRACKING that are not valid Track items, dropped.",
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mendflow_poller_item_duration_seconds",
			Help:    "Time from an item's start to its completion event, by kind.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 15), // 1 s to 4.5 h
		}, []string{"kind"}),
	}
	collectors := []prometheus.Collector{m.polls, m.completions, m.duplicates, m.invalid, m.duration, newStateCollector(js)}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	var err error
	m.deliveries, err = bus.NewMetrics(reg, bus.MetricNames{
		Label:      "kind",
		Deliveries: "mendflow_poller_deliveries_total",
		InFlight:   "mendflow_poller_in_flight",
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// stateCollector reports what the stream and the consumer hold.
type stateCollector struct {
	js               bus.StreamLookup
	followed, oldest *prometheus.Desc
}

func newStateCollector(js bus.StreamLookup) stateCollector {
	return stateCollector{
		js: js,
		followed: prometheus.NewDesc("mendflow_poller_items_followed",
			"Items being followed: stored on MENDFLOW_TRACKING and not yet completed.", nil, nil),
		oldest: prometheus.NewDesc("mendflow_poller_oldest_item_age_seconds",
			"Age of the oldest item being followed (0 when there is none).", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.followed
	ch <- c.oldest
}

// Collect implements prometheus.Collector. The work-queue stream keeps an
// item until its completion is acknowledged, so its message count is the
// number of items followed and its first message the oldest of them. When
// NATS cannot answer, the gauges are left out rather than reported as zero.
// The items not yet delivered to any poller are the consumer lag gauge,
// mendflow_consumer_pending_messages{stream="MENDFLOW_TRACKING"}.
func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stream, err := c.js.Stream(ctx, events.StreamTracking)
	if err != nil {
		return
	}
	st := stream.CachedInfo().State
	var age float64
	if st.Msgs > 0 {
		age = max(time.Since(st.FirstTime).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(c.followed, prometheus.GaugeValue, float64(st.Msgs))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
}
