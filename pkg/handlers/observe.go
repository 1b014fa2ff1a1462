package handlers

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mendflow/mendflow/pkg/events"
)

// Outcomes of a delivery, as logged and counted.
const (
	OutcomeSuccess  = "success"
	OutcomeRetry    = "retry"
	OutcomeFailed   = "failed"
	OutcomeHandBack = "handed_back"
)

// outcome names what became of a delivery from its handler's error, as
// decided by the Decide middleware further in.
func outcome(err error) (string, *Decision) {
	if err == nil {
		return OutcomeSuccess, nil
	}
	var d *Decision
	if !errors.As(err, &d) {
		return OutcomeFailed, nil
	}
	switch d.Verdict {
	case Retry:
		return OutcomeRetry, d
	case HandBack:
		return OutcomeHandBack, d
	}
	return OutcomeFailed, d
}

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
			Help: "Command deliveries handled, by command and outcome (success, retry, failed, handed_back).",
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

// Middleware counts deliveries and their outcomes, and times them.
func (m *Metrics) Middleware() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, cmd *Command) (Result, error) {
			m.InFlight.Inc()
			defer m.InFlight.Dec()
			start := time.Now()
			res, err := next(ctx, cmd)
			label := cmd.Label()
			m.Duration.WithLabelValues(label).Observe(time.Since(start).Seconds())
			out, d := outcome(err)
			m.Commands.WithLabelValues(label, out).Inc()
			if out == OutcomeRetry {
				m.Retries.WithLabelValues(label, d.Reason).Inc()
			}
			return res, err
		}
	}
}

// Logging logs every delivery's outcome, with the command's event_id,
// command and correlation_id (events.LogAttrs), and the trace_id of the
// span in ctx. Only names, ids and errors are logged: errors of package
// mend never hold the user key or the JWT, and command data holds no
// credentials.
func Logging(logger *slog.Logger) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, cmd *Command) (Result, error) {
			start := time.Now()
			res, err := next(ctx, cmd)
			attrs := append(events.LogAttrs(cmd.Event),
				"attempt", cmd.Attempt, "duration", time.Since(start).Round(time.Microsecond))
			out, d := outcome(err)
			switch out {
			case OutcomeSuccess:
				logger.InfoContext(ctx, "command done", append(attrs, "result", res.Type)...)
			case OutcomeRetry:
				logger.WarnContext(ctx, "command will be retried", append(attrs, "reason", d.Reason, "delay", d.Delay, "error", d.Err)...)
			case OutcomeHandBack:
				logger.InfoContext(ctx, "command handed back", attrs...)
			default:
				reason := "permanent"
				if d != nil {
					reason = d.Reason
				}
				logger.ErrorContext(ctx, "command failed", append(attrs, "reason", reason, "error", err)...)
			}
			return res, err
		}
	}
}
