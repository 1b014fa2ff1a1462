package handlers

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a delivery, as logged and counted: how it really ended, once
// the result is stored and JetStream is told, not what its handler
// returned.
const (
	// OutcomeSuccess: its result stored, the command acknowledged.
	OutcomeSuccess = "success"
	// OutcomeRetry: delivered again later (NakWithDelay).
	OutcomeRetry = "retry"
	// OutcomeFailed: kept as a dead letter and terminated.
	OutcomeFailed = "failed"
	// OutcomeHandBack: handed back by a worker stopping (Nak).
	OutcomeHandBack = "handed_back"
)

// Metrics are the worker's Prometheus metrics. They are registered on a
// registry of the caller's, never a global one.
type Metrics struct {
	// Commands counts deliveries by command and outcome.
	Commands *prometheus.CounterVec
	// Duration observes how long handlers ran, by command.
	Duration *prometheus.HistogramVec
	// Retries counts retries by command and reason.
	Retries *prometheus.CounterVec
	// DeadLetters counts commands kept on the dead-letter stream, by
	// command and reason.
	DeadLetters *prometheus.CounterVec
	// InFlight is how many commands this process is carrying out.
	InFlight prometheus.Gauge
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mendflow_worker_commands_total",
			Help: "Command deliveries by command and how they ended (success, retry, failed, handed_back).",
		}, []string{"command", "outcome"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mendflow_worker_command_duration_seconds",
			Help:    "Time spent carrying out a command delivery, by command.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"command"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mendflow_worker_retries_total",
			Help: "Command deliveries handed back for a later retry, by command and reason.",
		}, []string{"command", "reason"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mendflow_worker_dead_letters_total",
			Help: "Commands that gave up and were kept on MENDFLOW_DLQ, by command and reason.",
		}, []string{"command", "reason"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mendflow_worker_in_flight",
			Help: "Commands this process is carrying out now.",
		}),
	}
	reg.MustRegister(m.Commands, m.Duration, m.Retries, m.DeadLetters, m.InFlight)
	return m
}

// Middleware counts the commands running and times their handlers. What
// became of a delivery is known only once the worker has settled it: it
// reports that with Ended.
func (m *Metrics) Middleware() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, cmd *Delivery) (Result, error) {
			m.InFlight.Inc()
			defer m.InFlight.Dec()
			start := time.Now()
			res, err := next(ctx, cmd)
			m.Duration.WithLabelValues(cmd.Label()).Observe(time.Since(start).Seconds())
			return res, err
		}
	}
}

// Ended counts a delivery of cmd that ended in outcome, one of the Outcome
// constants; reason is why it was retried, or why the dead letter gave up.
func (m *Metrics) Ended(cmd *Delivery, outcome, reason string) {
	label := cmd.Label()
	m.Commands.WithLabelValues(label, outcome).Inc()
	switch outcome {
	case OutcomeRetry:
		m.Retries.WithLabelValues(label, reason).Inc()
	case OutcomeFailed:
		m.DeadLetters.WithLabelValues(label, reason).Inc()
	}
}
