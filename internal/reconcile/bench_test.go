package reconcile_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/mendflow/mendflow/internal/reconcile"
	"github.com/mendflow/mendflow/internal/reconcile/scmtest"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// BenchmarkPlan plans an organization of 10,000 GitHub repositories (the
// fake) against the simulator holding 5,000 projects: 4,800 of the
// repositories, one in ten with a wrong tag, and 200 stale ones. Mend
// answers each call after 100 ms. It reports the time of a plan, the Mend
// calls it made, the changes planned and the peak of the heap in use
// while planning (the simulator's and the fake's included).
//
//	go test -run '^$' -bench '^BenchmarkPlan$' -benchtime 1x ./internal/reconcile/
func BenchmarkPlan(b *testing.B) {
	const (
		repos    = 10000
		inMend   = 4800
		stale    = 200
		latency  = 100 * time.Millisecond
		teamEach = 10 // one project in teamEach has a wrong team
	)
	ctx := context.Background()
	sim := mendsim.NewServer(mendsim.Config{})
	b.Cleanup(sim.Close)
	team := func(i int) string { return fmt.Sprintf("team-%d", i%7) }
	gh := scmtest.GitHub("acme", "ghp-token", scmtest.GitHubRepos("acme", "svc", repos, func(i int) []string { return []string{team(i)} }), 100)
	b.Cleanup(gh.Close)
	client, err := mend.NewClient(sim.URL, mend.Secret(mendsim.DefaultUserKey))
	if err != nil {
		b.Fatal(err)
	}

	// Seed Mend without latency, eight calls at a time.
	prod, _, err := client.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: sim.OrgToken(), ProductName: "acme"})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, inMend+stale)
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				name, value := fmt.Sprintf("svc-%05d", i), team(i)
				if i >= inMend {
					name, value = fmt.Sprintf("stale-%03d", i-inMend), "gone"
				} else if i%teamEach == 0 {
					value = "wrong"
				}
				p, _, err := client.Projects.Create(ctx, &mend.CreateProjectRequest{ProductToken: prod.ProductToken, ProjectName: name})
				if err == nil {
					_, _, err = client.Projects.SaveTag(ctx, &mend.ProjectTagRequest{ProjectToken: p.ProjectToken, TagKey: "team", TagValue: value})
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range inMend + stale {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	if err := sim.SetFault(mendsim.Fault{Op: mendsim.AnyOp, Latency: latency}); err != nil {
		b.Fatal(err)
	}

	spec, err := reconcile.Parse("bench.yaml", []byte(`
repositories:
  - github: {organization: acme, url: `+gh.URL+`}
mapping:
  tags: {team: "{{ topics.0 }}"}
policies:
  - scope: organization
    owner: admin@example.com
    policies:
      - {name: stale, filter: {type: LIBRARY_STALENESS, monthsBack: 24}, action: {type: REJECT}}
prune:
  action: delete
  maxDeletions: 200
`))
	if err != nil {
		b.Fatal(err)
	}
	src := reconcile.SourceOptions{Getenv: func(string) string { return "ghp-token" }, HTTPClient: &http.Client{}}
	m := reconcile.ClientMend{Client: client, OrgToken: sim.OrgToken()}

	var plan *reconcile.Plan
	var peak uint64
	runtime.GC()
	sim.ResetCalls()
	b.ResetTimer()
	for b.Loop() {
		stop := sampleHeap(&peak)
		plan, err = reconcile.MakePlan(ctx, spec, src, m, sim.OrgToken())
		stop()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(len(sim.Calls()))/n, "mend-calls/op")
	b.ReportMetric(float64(gh.Calls.Load())/n, "github-calls/op")
	b.ReportMetric(float64(len(plan.Changes)), "changes")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.Logf("plan: %d repositories, %d Mend projects, %+v", plan.Repositories, plan.Projects, plan.Summary)
}

// sampleHeap records the largest heap in use it sees until stopped.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			*peak = max(*peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
