package budget

import "github.com/prometheus/client_golang/prometheus"

// metrics are the budget's Prometheus metrics. Organizations are labelled
// by Label, never by token.
type metrics struct {
	calls    *prometheus.CounterVec
	limit    *prometheus.GaugeVec
	wait     *prometheus.HistogramVec
	circuit  *prometheus.GaugeVec
	pauses   *prometheus.CounterVec
	setAside *prometheus.CounterVec
	fallback prometheus.Gauge
	ops      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mendflow_mend_budget_calls_total",
			Help: "Calls to Mend granted by the shared budget, by organization (a hash prefix of its token).",
		}, []string{"org"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mendflow_mend_budget_limit",
			Help: "Calls per second the organization may take, all processes together (MEND_RATE_LIMIT or its override; 0: no limit).",
		}, []string{"org"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mendflow_mend_budget_wait_seconds",
			Help:    "Time a call waited for the budget (rate, pause, circuit, in-flight cap), by organization and class (command or poller).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"org", "class"}),
		circuit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mendflow_mend_budget_circuit_open",
			Help: "1 while the organization's circuit is open (Mend failing), as this process knows it.",
		}, []string{"org"}),
		pauses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mendflow_mend_budget_pauses_total",
			Help: "Pauses this process asked of every process: answers 429, or 503 with Retry-After.",
		}, []string{"org"}),
		setAside: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mendflow_mend_budget_set_aside_total",
			Help: "Commands set aside to come back later, their organization's budget spoken for (fair share between organizations).",
		}, []string{"org"}),
		fallback: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mendflow_mend_budget_fallback",
			Help: "1 while the shared budget in NATS cannot be reached and the process keeps to its local share.",
		}),
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mendflow_mend_budget_nats_operations_total",
			Help: "Operations on the MENDFLOW_BUDGET bucket, by kind (get, create, update, put): the budget's cost.",
		}, []string{"op"}),
	}
	for _, c := range []prometheus.Collector{m.calls, m.limit, m.wait, m.circuit, m.pauses, m.setAside, m.fallback, m.ops} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, op := range []string{"get", "create", "update", "put"} {
		m.ops.WithLabelValues(op)
	}
	return m, nil
}
