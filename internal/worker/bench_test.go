package worker

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// BenchmarkProjectCreate measures project.create commands carried out per
// second by one worker against the simulator, with no latency and with
// 50 ms per Mend call, at several in-flight caps, and the Mend calls each
// create makes once the worker's cache is warm. Run it with
//
//	go test -run '^$' -bench ProjectCreate -benchtime 300x ./internal/worker/
func BenchmarkProjectCreate(b *testing.B) {
	for _, latency := range []time.Duration{0, 50 * time.Millisecond} {
		for _, inFlight := range []int{1, 4, 16, 64} {
			b.Run(fmt.Sprintf("latency=%v/inflight=%d", latency, inFlight), func(b *testing.B) {
				benchProjectCreate(b, latency, inFlight)
			})
		}
	}
}

func benchProjectCreate(b *testing.B, latency time.Duration, inFlight int) {
	h := newHarness(b, map[string]string{
		"WORKER_CONCURRENCY":   strconv.Itoa(inFlight),
		"WORKER_MAX_IN_FLIGHT": strconv.Itoa(inFlight),
		"WORKER_ACK_WAIT":      "30s",
		"WORKER_CACHE_TTL":     "1m",
	})
	h.startWorker(nil)
	// Warm the cache: the product's token is then known.
	warm := h.send(events.CommandProjectCreate, events.ProjectCreate{ProductName: "demo-product", ProjectName: "warm-up"})
	h.waitAnswer(warm.ID(), 10*time.Second)
	if latency > 0 {
		if err := h.sim.SetFault(mendsim.Fault{Op: mendsim.AnyOp, Latency: latency}); err != nil {
			b.Fatal(err)
		}
	}
	cmds := make([]event.Event, b.N)
	for i := range cmds {
		cmds[i] = h.command(events.CommandProjectCreate, events.ProjectCreate{ProductName: "demo-product", ProjectName: fmt.Sprintf("svc-%d", i)})
	}
	h.sim.ResetCalls()

	b.ResetTimer()
	start := time.Now()
	for _, c := range cmds {
		h.publish(c, "")
	}
	servicetest.Eventually(b, 5*time.Minute, func() bool { return h.commandsLeft() == 0 }, "all commands done")
	elapsed := time.Since(start)
	b.StopTimer()

	if n := h.okCalls(mend.ReqCreateProject); n != b.N {
		b.Fatalf("%d projects created, want %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "cmds/s")
	b.ReportMetric(float64(len(h.sim.Calls()))/float64(b.N), "mend-calls/create")
}
