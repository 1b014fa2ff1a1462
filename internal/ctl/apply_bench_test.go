package ctl

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// BenchmarkApply applies the plan of an organization of 500 GitHub
// repositories (the fake), none in Mend yet, each with a team tag: 500
// project.create commands, carried out by one worker at MEND_RATE_LIMIT
// 20 with every Mend call answered after 100 ms. It reports the time of
// the apply (queuing to the last result), the Mend calls the apply made,
// the calls per change and the fraction of the rate they used.
//
//	go test -run '^$' -bench '^BenchmarkApply$' -benchtime 1x ./internal/ctl/
func BenchmarkApply(b *testing.B) {
	const (
		repos   = 500
		rate    = 20
		latency = 100 * time.Millisecond
	)
	for range b.N {
		b.StopTimer()
		p := newPipeline(b, repos)
		p.env["MEND_RATE_LIMIT"] = "20"
		p.start()
		spec := writeSpec(b, "repositories:\n  - github: {organization: acme, url: "+p.gh.URL+"}\nmapping:\n  tags:\n    team: \"{{ topics.0 }}\"\n")
		s := &settings{NATSURL: p.env["NATS_URL"], env: envconfig.MapLookuper(p.env), stderr: io.Discard}
		plan, err := planSpec(context.Background(), s, spec)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.sim.SetFault(mendsim.Fault{Op: mendsim.AnyOp, Latency: latency}); err != nil {
			b.Fatal(err)
		}
		p.sim.ResetCalls()
		b.StartTimer()
		began := time.Now()
		if err := applyPlan(context.Background(), s, plan, io.Discard, applyConfig{every: time.Hour, batch: 500}); err != nil {
			b.Fatal(err)
		}
		took := time.Since(began)
		b.StopTimer()
		calls := len(p.sim.Calls())
		b.ReportMetric(took.Seconds(), "s/apply")
		b.ReportMetric(float64(len(plan.Changes)), "changes")
		b.ReportMetric(float64(calls), "mend-calls")
		b.ReportMetric(float64(calls)/float64(len(plan.Changes)), "calls/change")
		b.ReportMetric(float64(calls)/took.Seconds()/rate, "rate-used")
		if n := p.calls("createProject"); n != repos {
			b.Fatalf("%d projects created, want %d", n, repos)
		}
	}
}
