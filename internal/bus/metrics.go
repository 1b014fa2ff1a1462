package bus

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricNames name the metrics of a Runner. Each service keeps its own
// names, which its dashboards and alerts use; an empty name leaves that
// metric out.
type MetricNames struct {
	// Label is the name of the label saying what a delivery was (a
	// command's name, an item's kind): the handler sets its value,
	// Delivery.Label, "unknown" when it could not tell.
	Label string
	// Deliveries counts deliveries by Label and outcome.
	Deliveries string
	// Duration observes how long deliveries took, by Label.
	Duration string
	// Retries counts the deliveries asked for again, by Label and reason.
	Retries string
	// DeadLetters counts the deliveries given up, by Label and reason.
	DeadLetters string
	// InFlight is how many deliveries the process holds.
	InFlight string
}

// Metrics are a Runner's Prometheus metrics: what became of each delivery.
type Metrics struct {
	deliveries  *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	inFlight    prometheus.Gauge
}

// NewMetrics creates the metrics named n and registers them on reg, a
// registry of the caller's.
func NewMetrics(reg prometheus.Registerer, n MetricNames) (*Metrics, error) {
	var collectors []prometheus.Collector
	counters := func(name, help, label string) *prometheus.CounterVec {
		if name == "" {
			return nil
		}
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{n.Label, label})
		collectors = append(collectors, c)
		return c
	}
	m := &Metrics{
		deliveries: counters(n.Deliveries,
			fmt.Sprintf("Deliveries by %s and how they ended (success, retry, failed, handed_back).", n.Label), "outcome"),
		retries: counters(n.Retries,
			fmt.Sprintf("Deliveries asked for again later, by %s and reason.", n.Label), "reason"),
		deadLetters: counters(n.DeadLetters,
			fmt.Sprintf("Deliveries given up and kept as dead letters, by %s and reason.", n.Label), "reason"),
	}
	if n.Duration != "" {
		m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    n.Duration,
			Help:    fmt.Sprintf("Time from a delivery's start to its end, by %s.", n.Label),
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{n.Label})
		collectors = append(collectors, m.duration)
	}
	if n.InFlight != "" {
		m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{Name: n.InFlight, Help: "Deliveries this process holds now."})
		collectors = append(collectors, m.inFlight)
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// started counts a delivery in flight until done is called. A nil
// *Metrics counts nothing.
func (m *Metrics) started() (done func()) {
	if m == nil || m.inFlight == nil {
		return func() {}
	}
	m.inFlight.Inc()
	return m.inFlight.Dec
}

// ended counts a delivery labelled label that ended as end and took took.
func (m *Metrics) ended(label string, end Ending, took time.Duration) {
	if m == nil {
		return
	}
	if m.deliveries != nil {
		m.deliveries.WithLabelValues(label, end.Outcome).Inc()
	}
	if m.duration != nil {
		m.duration.WithLabelValues(label).Observe(took.Seconds())
	}
	switch {
	case end.Outcome == OutcomeRetry && m.retries != nil:
		m.retries.WithLabelValues(label, end.Reason).Inc()
	case end.Outcome == OutcomeFailed && m.deadLetters != nil:
		m.deadLetters.WithLabelValues(label, end.Reason).Inc()
	}
}
