package budget_test

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mendflow/mendflow/internal/budget"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

const org = mendsim.DefaultOrgToken

// process is one worker or poller as the budget sees it: its own NATS
// connection, budget, registry, log and Mend client.
type process struct {
	budget *budget.Budget
	client *mend.Client
	reg    *prometheus.Registry
	logs   *servicetest.Logs
}

// defaults is the budget's configuration at its defaults, as the
// environment gives it.
func defaults() budget.Config {
	return budget.Config{Processes: 4, MaxWait: 30 * time.Second, CircuitFailures: 5, CircuitOpen: 30 * time.Second}
}

// start starts a process sharing the budget on srv, calling sim.
func start(t *testing.T, srv *natstest.Server, sim *mendsim.Server, cfg budget.Config, rate float64, burst int) *process {
	t.Helper()
	_, js := srv.Connect()
	p := &process{reg: prometheus.NewRegistry(), logs: &servicetest.Logs{}}
	var err error
	p.budget, err = budget.New(context.Background(), js, cfg, budget.Options{
		Rate: rate, Burst: burst, DefaultOrg: org, Logger: slog.New(slog.NewTextHandler(p.logs, nil)), Registerer: p.reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.budget.Close)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	p.client, err = mend.NewClient(sim.URL, mendsim.DefaultUserKey, mend.WithUserEmail(mendsim.DefaultUserEmail),
		mend.WithRetry(mend.NoRetry()), mend.WithLimiter(p.budget), mend.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// list makes one v1.4 call of the organization.
func (p *process) list(ctx context.Context) error {
	_, _, err := p.client.Products.List(ctx, &mend.GetAllProductsRequest{OrgToken: org})
	return err
}

// maxInWindow is the most calls the simulator received within any window.
func maxInWindow(calls []mendsim.Call, window time.Duration) int {
	most := 0
	for i, c := range calls {
		n := 0
		for _, d := range calls[i:] {
			if d.Time.Sub(c.Time) < window {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// TestSharedLimitAcrossProcesses: two processes, each with its own NATS
// connection, calling one organization as fast as they can, stay together
// within the rate and its burst in every second at the simulator.
func TestSharedLimitAcrossProcesses(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	sim := mendsim.NewServer(mendsim.Config{})
	t.Cleanup(sim.Close)
	const rate, burst, calls = 40, 5, 100
	a := start(t, srv, sim, defaults(), rate, burst)
	b := start(t, srv, sim, defaults(), rate, burst)
	var wg sync.WaitGroup
	for i := range 16 {
		p := a
		if i%2 == 1 {
			p = b
		}
		wg.Go(func() {
			for range calls / 16 {
				if err := p.list(context.Background()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := sim.CallsOf(mend.ReqGetAllProducts)
	if len(got) != calls/16*16 {
		t.Fatalf("%d calls reached the simulator, want %d", len(got), calls/16*16)
	}
	// Each process alone keeping to the rate would make twice as many.
	if most := maxInWindow(got, time.Second); most > rate+burst {
		t.Errorf("%d calls within one second, want at most %d (rate %d + burst %d)", most, rate+burst, rate, burst)
	}
	for _, p := range []*process{a, b} {
		if n := servicetest.Gathered(t, p.reg, "mendflow_mend_budget_calls_total"); n == 0 {
			t.Error("a process counted no call granted")
		}
	}
}

// TestPauseIsShared: a 429 with Retry-After answered to one process pauses
// the other: no call reaches Mend during the wait.
func TestPauseIsShared(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	sim := mendsim.NewServer(mendsim.Config{})
	t.Cleanup(sim.Close)
	a := start(t, srv, sim, defaults(), 100, 10)
	b := start(t, srv, sim, defaults(), 100, 10)
	if err := sim.SetFault(mendsim.Fault{Op: mend.ReqGetAllProducts, Status: http.StatusTooManyRequests, RetryAfter: time.Second, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if err := a.list(context.Background()); !mend.IsStatus(err, http.StatusTooManyRequests) {
		t.Fatalf("first call: %v, want the 429", err)
	}
	servicetest.Eventually(t, 10*time.Second, func() bool { return b.budget.PausedUntil(org).After(time.Now()) }, "the other process to hear of the pause")
	var wg sync.WaitGroup
	for _, p := range []*process{a, b, b} {
		wg.Go(func() {
			if err := p.list(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := sim.CallsOf(mend.ReqGetAllProducts)
	if len(got) != 4 {
		t.Fatalf("%d calls, want 4", len(got))
	}
	for _, c := range got[1:] {
		if wait := c.Time.Sub(got[0].Time); wait < time.Second {
			t.Errorf("a call reached Mend %v after its 429 with Retry-After: 1", wait)
		}
	}
}

// TestCircuitOpensAndOneProbeClosesIt: a run of 5xx answers opens the
// organization's circuit for every process; calls that cannot wait fail
// as unavailable (transient); then one probe goes alone, and its success
// lets the others through.
func TestCircuitOpensAndOneProbeClosesIt(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	sim := mendsim.NewServer(mendsim.Config{})
	t.Cleanup(sim.Close)
	cfg := defaults()
	cfg.CircuitFailures, cfg.CircuitOpen = 3, 500*time.Millisecond
	a := start(t, srv, sim, cfg, 100, 10)
	b := start(t, srv, sim, cfg, 100, 10)
	if err := sim.SetFault(mendsim.Fault{Op: mend.ReqGetAllProducts, Status: http.StatusBadGateway, Count: 3}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := a.list(context.Background()); !mend.IsStatus(err, http.StatusBadGateway) {
			t.Fatalf("call: %v, want a 502", err)
		}
	}
	servicetest.Eventually(t, 10*time.Second, func() bool { return b.budget.CircuitOpen(org) }, "the other process to see the circuit open")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := b.list(ctx)
	cancel()
	if !mend.IsUnavailable(err) || !mend.IsTransient(err) {
		t.Errorf("call that cannot wait for the probe: %v, want a transient UnavailableError", err)
	}
	// The probe is slow, so that a second call going with it would show.
	if err := sim.SetFault(mendsim.Fault{Op: mend.ReqGetAllProducts, Latency: 300 * time.Millisecond, Count: 1}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, p := range []*process{a, a, b, b} {
		wg.Go(func() {
			if err := p.list(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := sim.CallsOf(mend.ReqGetAllProducts)
	if len(got) != 7 {
		t.Fatalf("%d calls, want 3 failures, the probe and 3 more", len(got))
	}
	probe := got[3]
	if wait := probe.Time.Sub(got[2].Time); wait < cfg.CircuitOpen {
		t.Errorf("the probe went %v after the circuit opened, want at least %v", wait, cfg.CircuitOpen)
	}
	for _, c := range got[4:] {
		if c.Time.Before(probe.Time.Add(300 * time.Millisecond)) {
			t.Errorf("a call went %v after the probe, while it ran", c.Time.Sub(probe.Time))
		}
	}
	if a.budget.CircuitOpen(org) || b.budget.CircuitOpen(org) {
		t.Error("the circuit is still open after the probe succeeded")
	}
	if !strings.Contains(a.logs.String(), "circuit opened") {
		t.Errorf("no log line of the circuit opening:\n%s", a.logs)
	}
}

// TestFallbackWhileNATSIsUnreachable: with NATS stopped, calls go on at
// the process's local share of the rate, which a log line and the gauge
// say; once NATS is back, the shared budget serves again.
func TestFallbackWhileNATSIsUnreachable(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	sim := mendsim.NewServer(mendsim.Config{})
	t.Cleanup(sim.Close)
	cfg := defaults()
	cfg.Processes = 2
	const rate, burst = 20, 2 // a share of 10 per second, 1 at once
	p := start(t, srv, sim, cfg, rate, burst)
	if err := p.list(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	sim.ResetCalls()
	const calls = 12
	for range calls {
		if err := p.list(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	got := sim.CallsOf(mend.ReqGetAllProducts)
	if took, least := got[len(got)-1].Time.Sub(got[0].Time), time.Duration(calls-2)*time.Second/10; took < least {
		t.Errorf("%d calls in %v at the local share of 10/s, want at least %v", calls, took, least)
	}
	if !p.budget.Fallback() || servicetest.Gathered(t, p.reg, "mendflow_mend_budget_fallback") != 1 {
		t.Error("the budget does not say it falls back")
	}
	if n := strings.Count(p.logs.String(), "cannot be reached"); n != 1 {
		t.Errorf("%d log lines of the fallback, want 1:\n%s", n, p.logs)
	}
	srv.Restart()
	servicetest.Eventually(t, 10*time.Second, func() bool {
		if err := p.list(context.Background()); err != nil {
			t.Fatal(err)
		}
		return !p.budget.Fallback()
	}, "the shared budget to serve again")
	if !strings.Contains(p.logs.String(), "answers again") {
		t.Errorf("no log line of the return to the shared budget:\n%s", p.logs)
	}
}

// TestClassesTakeTurns: within one organization, callers of a class with
// many waiting do not hold back a class with one.
func TestClassesTakeTurns(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	sim := mendsim.NewServer(mendsim.Config{})
	t.Cleanup(sim.Close)
	p := start(t, srv, sim, defaults(), 20, 1)
	ctx := context.Background()
	var (
		mu    sync.Mutex
		order []string
		wg    sync.WaitGroup
	)
	call := func(class string) {
		if err := p.list(mend.WithClass(ctx, class)); err != nil {
			t.Error(err)
		}
		mu.Lock()
		order = append(order, class)
		mu.Unlock()
	}
	for range 20 {
		wg.Go(func() { call("project.create") })
	}
	servicetest.Eventually(t, 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(order) >= 2
	}, "the bulk to queue")
	wg.Go(func() { call("poller") })
	wg.Wait()
	if i := slices.Index(order, "poller"); i > 6 {
		t.Errorf("the poller's call came %d-th of %d, behind the bulk: %v", i+1, len(order), order)
	}
}

// TestOverridesNeverNameTheToken: a bad override is refused by position.
func TestOverridesNeverNameTheToken(t *testing.T) {
	t.Parallel()
	cfg := defaults()
	cfg.Overrides = "secret-org-token=20"
	err := cfg.Validate()
	if err == nil || strings.Contains(err.Error(), "secret-org-token") || !strings.HasPrefix(err.Error(), "MEND_RATE_OVERRIDES: ") {
		t.Errorf("Validate = %v, want an error naming the variable, not the token", err)
	}
	cfg.Overrides = "a=20:5, b=0:0"
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate(%q) = %v", cfg.Overrides, err)
	}
}

// TestOrganizationsHaveBudgetsOfTheirOwn: one organization's backlog does
// not hold back another's call, and an override gives an organization a
// rate of its own.
func TestOrganizationsHaveBudgetsOfTheirOwn(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	sim := mendsim.NewServer(mendsim.Config{})
	t.Cleanup(sim.Close)
	cfg := defaults()
	cfg.Overrides = "quiet-org=1000:10"
	p := start(t, srv, sim, cfg, 10, 1)
	var (
		mu    sync.Mutex
		order []string
		wg    sync.WaitGroup
	)
	acquire := func(org string) {
		done, err := p.budget.Acquire(context.Background(), mend.Call{Org: org})
		if err != nil {
			t.Error(err)
			return
		}
		done(mend.Outcome{Status: http.StatusOK})
		mu.Lock()
		order = append(order, org)
		mu.Unlock()
	}
	for range 10 {
		wg.Go(func() { acquire("bulk-org") })
	}
	servicetest.Eventually(t, 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(order) >= 1
	}, "the bulk to start")
	for range 5 {
		acquire("quiet-org")
	}
	wg.Wait()
	if i := slices.Index(order, "quiet-org"); i > 3 {
		t.Errorf("the quiet organization's first call came %d-th: %v", i+1, order)
	}
	last := 0
	for i, org := range order {
		if org == "quiet-org" {
			last = i
		}
	}
	if last > 5 {
		t.Errorf("the quiet organization's calls waited for the bulk one's: %v", order)
	}
}

// TestSetAsideWhileSaturated: work for an organization whose rate the
// calls waiting take for a while is set aside, each piece one interval of
// the rate after the one before; another organization's is not, nor the
// first's once its calls are served.
func TestSetAsideWhileSaturated(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	sim := mendsim.NewServer(mendsim.Config{})
	t.Cleanup(sim.Close)
	p := start(t, srv, sim, defaults(), 10, 1) // one call each 100 ms
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			done, err := p.budget.Acquire(context.Background(), mend.Call{Org: "bulk-org"})
			if err != nil {
				t.Error(err)
				return
			}
			done(mend.Outcome{Status: http.StatusOK})
		})
	}
	var first *mend.UnavailableError
	servicetest.Eventually(t, 10*time.Second, func() bool { first = p.budget.SetAside("bulk-org"); return first != nil }, "the bulk to saturate")
	second := p.budget.SetAside("bulk-org")
	if first.Reason != mend.ReasonSaturated || second == nil || second.Wait <= first.Wait || second.Wait > first.Wait+100*time.Millisecond {
		t.Errorf("set aside %+v then %+v: want the second one interval (100ms) after the first", first, second)
	}
	if held := p.budget.SetAside("other-org"); held != nil {
		t.Errorf("another organization's work set aside: %v", held)
	}
	if n := servicetest.Gathered(t, p.reg, "mendflow_mend_budget_set_aside_total"); n != 2 {
		t.Errorf("mendflow_mend_budget_set_aside_total %v, want 2", n)
	}
	wg.Wait()
	if held := p.budget.SetAside("bulk-org"); held != nil {
		t.Errorf("set aside with no call waiting: %v", held)
	}
}

// mostAtOnce is the most calls the simulator was answering at one time.
func mostAtOnce(calls []mendsim.Call) int {
	most := 0
	for _, c := range calls {
		n := 0
		for _, d := range calls {
			if !d.Time.After(c.Time) && d.Answered.After(c.Time) {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// TestInFlightCapIsShared: MEND_MAX_IN_FLIGHT holds for two processes
// together, each with more callers than the cap, and both get places.
func TestInFlightCapIsShared(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	sim := mendsim.NewServer(mendsim.Config{})
	t.Cleanup(sim.Close)
	if err := sim.SetFault(mendsim.Fault{Op: mend.ReqGetAllProducts, Latency: 150 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	cfg := defaults()
	cfg.MaxInFlight = 2
	a := start(t, srv, sim, cfg, 0, 1)
	b := start(t, srv, sim, cfg, 0, 1)
	var wg sync.WaitGroup
	for i := range 8 {
		p := a
		if i%2 == 1 {
			p = b
		}
		wg.Go(func() {
			if err := p.list(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := sim.CallsOf(mend.ReqGetAllProducts)
	if len(got) != 8 {
		t.Fatalf("%d calls reached the simulator, want 8", len(got))
	}
	// Each process keeping to the cap alone would have 4 under way.
	if most := mostAtOnce(got); most != 2 {
		t.Errorf("%d calls under way at once, want the cap, 2", most)
	}
	for _, p := range []*process{a, b} {
		if n := servicetest.Gathered(t, p.reg, "mendflow_mend_budget_calls_total"); n != 4 {
			t.Errorf("a process made %v calls, want its 4", n)
		}
	}
}

// TestInFlightLeaseOfADeadProcess: the places held by a process that died
// count until its lease runs out, and no longer.
func TestInFlightLeaseOfADeadProcess(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	sim := mendsim.NewServer(mendsim.Config{})
	t.Cleanup(sim.Close)
	cfg := defaults()
	cfg.MaxInFlight = 1
	p := start(t, srv, sim, cfg, 0, 1)
	// What a process killed with a call under way leaves: its lease, to
	// run out in a second.
	_, js := srv.Connect()
	kv, err := js.KeyValue(context.Background(), budget.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Second)
	if _, err := kv.Put(context.Background(), "flight."+budget.Label(org), []byte(`{"dead":{"n":1,"until":`+strconv.FormatInt(until.UnixNano(), 10)+`}}`)); err != nil {
		t.Fatal(err)
	}
	if err := p.list(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := sim.CallsOf(mend.ReqGetAllProducts)
	if len(got) != 1 {
		t.Fatalf("%d calls reached the simulator, want 1", len(got))
	}
	if got[0].Time.Before(until) {
		t.Errorf("the call came at %v, before the dead process's lease ran out at %v", got[0].Time, until)
	}
	if took := time.Since(until); took > 5*time.Second {
		t.Errorf("the call came %v after the lease ran out", took)
	}
}
