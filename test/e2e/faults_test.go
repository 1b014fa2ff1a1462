package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// createLoad is the load of the fault scenarios: n repositories created,
// and the Mend changes they must end in (their projects, in 4 products).
func (p *pipeline) createLoad(run string, n int) ([]delivery, map[string]int) {
	return p.projectCreates(run, n), map[string]int{"createProject": n, "createProduct": 4}
}

// created is how many project.created events the pipeline has published.
func (p *pipeline) created() int {
	n := 0
	for _, r := range p.results.all() {
		if r.Type == events.TypeProjectCreated {
			n++
		}
	}
	return n
}

// TestNATSNodeLoss kills the NATS node leading MENDFLOW_COMMANDS while
// events pour in: ingest answers 503 for what JetStream did not
// acknowledge, senders send it again, and every event accepted ends in its
// one project and its one result event.
func TestNATSNodeLoss(t *testing.T) {
	p := newPipeline(t)
	ds, want := p.createLoad("nodeloss", 300)
	l := p.startLoad(ds, 40)
	eventually(t, time.Minute, "a third of the events not accepted", func() bool { return l.accepted.Load() >= 100 })

	leader := p.streamLeader(events.StreamCommands)
	kill(t, p.c, leader)
	t.Logf("killed %s, leader of %s, after %d events accepted", leader, events.StreamCommands, l.accepted.Load())

	st := l.wait(t)
	eventually(t, 3*time.Minute, "not every accepted event answered", func() bool { return p.results.answered(ds) })
	p.waitDrained(time.Minute)
	p.check("nats-node-loss", ds, st, want, time.Since(l.end))
}

// streamLeader is the name of the NATS node leading a stream.
func (p *pipeline) streamLeader(stream string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := p.js.Stream(ctx, stream)
	if err != nil {
		p.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	if info.Cluster == nil || p.c.Services()[info.Cluster.Leader] == nil {
		p.t.Fatalf("%s has no leader among the nodes: %+v", stream, info.Cluster)
	}
	return info.Cluster.Leader
}

// TestWorkerKilled kills one of the two workers (SIGKILL) while it carries
// out commands: what it held comes back to the other once its ack wait
// has passed, and the one that finds its project made by the dead worker
// does not make it again.
func TestWorkerKilled(t *testing.T) {
	p := newPipeline(t)
	ds, want := p.createLoad("workerkill", 300)
	l := p.startLoad(ds, 40)
	eventually(t, time.Minute, "the workers not busy", func() bool { return p.created() >= 60 })
	kill(t, p.c, "worker-1")
	t.Logf("killed worker-1 after %d projects created", p.created())

	st := l.wait(t)
	eventually(t, 3*time.Minute, "not every accepted event answered", func() bool { return p.results.answered(ds) })
	p.waitDrained(time.Minute)
	p.check("worker-killed", ds, st, want, time.Since(l.end))
}

// TestMendUnavailableForAMinute has Mend answer every call 503 for a
// minute while commands arrive. The workers run with their defaults, as an
// operator would: each delivery retries quickly (MEND_RETRY_ATTEMPTS 3,
// within MEND_RETRY_MAX_ELAPSED 15s), then is handed back with a backoff
// doubling from WORKER_RETRY_BASE 1s, so that WORKER_MAX_ATTEMPTS 10
// deliveries span over 8 minutes: a minute's outage spends about 7 of
// them. Every command completes after Mend recovers, none dead-lettered.
func TestMendUnavailableForAMinute(t *testing.T) {
	p := newPipeline(t)
	ds, want := p.createLoad("outage", 200)
	l := p.startLoad(ds, 20)
	eventually(t, time.Minute, "the workers not busy", func() bool { return p.created() >= 40 })
	if err := p.c.SetFault(context.Background(), mendsim.Fault{Op: "*", Status: http.StatusServiceUnavailable, For: time.Minute}); err != nil {
		t.Fatal(err)
	}
	recovered := time.Now().Add(time.Minute)
	t.Logf("Mend answers 503 for a minute from %d projects created on", p.created())

	st := l.wait(t)
	eventually(t, 5*time.Minute, "not every accepted event answered", func() bool { return p.results.answered(ds) })
	p.waitDrained(time.Minute)
	t.Logf("FIGURES mend-outage: every command done %v after Mend recovered", time.Since(recovered).Round(time.Second))
	calls := p.check("mend-outage", ds, st, want, time.Since(l.end))
	if calls.faulted == 0 {
		t.Error("no call answered by the fault: the outage did not happen")
	}
}
