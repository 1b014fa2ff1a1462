package budget_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mendflow/mendflow/internal/budget"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/mend"
)

// BenchmarkAcquire measures what the shared budget adds to each Mend call:
// the time of Acquire and of telling it the outcome, and the operations on
// the bucket per call (nats-ops/call), against an in-process NATS server,
// with a rate high enough never to make a call wait for its turn. The
// callers run one at a time (serial), 16 at once in one process
// (parallel), and 16 at once in each of two processes sharing the
// organization (two-processes); local is the limiter of a process alone.
// The same with MEND_MAX_IN_FLIGHT set, too high to make a call wait,
// gives the cost of the shared cap (capped-serial, capped-parallel).
//
//	go test -run '^$' -bench BenchmarkAcquire -benchtime 2000x ./internal/budget/
func BenchmarkAcquire(b *testing.B) {
	srv := natstest.Start(b)
	open := func(b *testing.B, cfg budget.Config) (*budget.Budget, *prometheus.Registry) {
		_, js := srv.Connect()
		reg := prometheus.NewRegistry()
		bg, err := budget.New(context.Background(), js, cfg, budget.Options{
			Rate: 1e6, Burst: 1000, DefaultOrg: "bench-" + b.Name(), Logger: slog.New(slog.DiscardHandler), Registerer: reg,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(bg.Close)
		return bg, reg
	}
	call := func(b *testing.B, l mend.Limiter) {
		done, err := l.Acquire(context.Background(), mend.Call{Operation: "getAllProducts", Class: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		done(mend.Outcome{Status: 200})
	}
	report := func(b *testing.B, calls int64, regs ...*prometheus.Registry) {
		ops := 0.0
		for _, reg := range regs {
			ops += servicetest.Gathered(b, reg, "mendflow_mend_budget_nats_operations_total")
		}
		b.ReportMetric(ops/float64(calls), "nats-ops/call")
	}
	b.Run("local", func(b *testing.B) {
		l := mend.NewLocalLimiter(1e6, 1000)
		for b.Loop() {
			call(b, l)
		}
	})
	capped := defaults()
	capped.MaxInFlight = 1000
	for _, cfg := range []struct {
		prefix string
		cfg    budget.Config
	}{{"", defaults()}, {"capped-", capped}} {
		b.Run(cfg.prefix+"serial", func(b *testing.B) {
			bg, reg := open(b, cfg.cfg)
			n := int64(0)
			for b.Loop() {
				call(b, bg)
				n++
			}
			report(b, n, reg)
		})
		b.Run(cfg.prefix+"parallel", func(b *testing.B) {
			bg, reg := open(b, cfg.cfg)
			var n atomic.Int64
			b.SetParallelism(8) // 16 callers on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					call(b, bg)
					n.Add(1)
				}
			})
			report(b, n.Load(), reg)
		})
	}
	b.Run("two-processes", func(b *testing.B) {
		one, reg1 := open(b, defaults())
		two, reg2 := open(b, defaults())
		var n atomic.Int64
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			l := one
			if n.Add(1)%2 == 0 {
				l = two
			}
			for pb.Next() {
				call(b, l)
			}
		})
		report(b, int64(b.N), reg1, reg2)
	})
}
