package simulator

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mendflow/mendflow/internal/telemetry"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// callCollector exports the simulator's call counts.
type callCollector struct {
	sim  *mendsim.Simulator
	desc *prometheus.Desc
}

func (c callCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c callCollector) Collect(ch chan<- prometheus.Metric) {
	for k, n := range c.sim.CallCounts() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n),
			k.Op, strconv.Itoa(k.Status), strconv.Itoa(k.ErrorCode))
	}
}

// metricsRegistry is the simulator's registry: the process collectors and
// its calls.
func metricsRegistry(sim *mendsim.Simulator) *prometheus.Registry {
	reg := telemetry.NewRegistry()
	reg.MustRegister(callCollector{sim: sim, desc: prometheus.NewDesc(
		"mendsim_calls_total", "Requests the simulator answered, by operation, HTTP status and v1.4 errorCode.",
		[]string{"op", "status", "error_code"}, nil,
	)})
	return reg
}
