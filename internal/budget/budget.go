// Package budget shares Mend's capacity among every worker and poller of
// a deployment: one rate limit, one back-off and one circuit per Mend
// organization, kept in the JetStream key-value bucket MENDFLOW_BUDGET,
// so that no process of mendflow's own must be kept alive for it. A
// *Budget is the mend.Limiter of a service's Mend client.
//
// The rate is a GCRA (generic cell rate algorithm) in one key per
// organization, rate.<label>: the theoretical arrival time of the next
// call, advanced with compare-and-swap (kv.Update at the revision read).
// A process takes, in one round trip, the slots due within the next
// 500 ms for as many callers as it has waiting, and lets each go when its
// slot is due, so that the calls per second stay within the rate and its
// burst however many processes share them. Within a process, the callers
// waiting take their turns class by class (a command's name, "poller"),
// so that a burst of one command type does not starve another.
//
// Work that can come back later (a command, before it begins: SetAside)
// gives way when its organization's rate is taken for a while
// (yieldAfter) by the calls already waiting in the process: it is set
// aside, to come back at its place in the process's queue of work set
// aside, one interval of the rate after the one before. Work thus comes
// back at the rate the organization can serve it, and what comes back
// too early is set aside again. A backlog of one organization then does
// not hold the places (goroutines, the consumer's pending commands) that
// another organization's work needs.
//
// A 429, or a 503 with Retry-After, writes pause.<label>: every process
// watches it and sends nothing to the organization until then, when the
// calls resume at the rate without the burst saved up meanwhile. A run of
// failures (5xx, no answer) opens the circuit, circuit.<label>; once it
// has been open for a while, one process takes the probe with
// compare-and-swap and makes one call, whose success closes it.
//
// The cap on calls in flight (MEND_MAX_IN_FLIGHT) is shared as well: each
// process holds a lease in flight.<label> with its calls under way (see
// flight.go).
//
// While the bucket cannot be reached, a process keeps to a local share
// of the rate and of the cap (MEND_BUDGET_PROCESSES), and says so once in
// its log and in the gauge mendflow_mend_budget_fallback; it tries NATS
// again every second and goes back to the shared budget when it answers.
package budget

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/mendflow/mendflow/pkg/mend"
)

// Bucket is the key-value bucket of the shared budget.
const Bucket = "MENDFLOW_BUDGET"

const (
	// opTimeout bounds one operation on the bucket: past it, NATS counts
	// as unreachable and the process keeps to its local share.
	opTimeout = 500 * time.Millisecond
	// recheck is how often a process in fallback tries NATS again.
	recheck = time.Second
	// maxTake bounds the calls one round trip takes, and horizon how far
	// ahead they may be due.
	maxTake = 16
	horizon = 500 * time.Millisecond
	// lateSlot is how late a call may go after its slot was due: later,
	// it is let go, so that slots held up do not make a burst above the
	// rate's (at most lateSlot's worth of calls more in any window).
	lateSlot = 100 * time.Millisecond
	// casTries bounds the compare-and-swaps of one take under contention.
	casTries = 8
	// defaultPause is the pause after a 429 without Retry-After.
	defaultPause = time.Second
	// yieldAfter is how much of an organization's rate the callers
	// waiting in one process may take before a call that may yield does
	// (mend.WithYield): enough to keep the rate busy, little enough that a
	// backlog does not hold the places another organization's work needs.
	yieldAfter = 200 * time.Millisecond
)

// Label is how the budget names an organization in its keys, metrics and
// logs: a prefix of the SHA-256 of its token, never the token.
func Label(org string) string {
	sum := sha256.Sum256([]byte(org))
	return hex.EncodeToString(sum[:6])
}

// Options are what a Budget needs besides its configuration.
type Options struct {
	// Rate and Burst are MEND_RATE_LIMIT and MEND_RATE_BURST: per
	// organization, for all processes together. Rate 0 lifts the limit.
	Rate  float64
	Burst int
	// DefaultOrg is the organization of calls that name none.
	DefaultOrg string
	// Replicas of the bucket.
	Replicas int
	Logger   *slog.Logger
	// Registerer takes the metrics; nil: not registered.
	Registerer prometheus.Registerer
}

// Budget is the shared budget, a mend.Limiter. Close stops its watch.
type Budget struct {
	kv        jetstream.KeyValue
	conn      *nats.Conn
	cfg       Config
	opts      Options
	overrides map[string]limit
	log       *slog.Logger
	m         *metrics
	id        string // this process's, in the leases of calls in flight
	stop      context.CancelFunc
	watched   chan struct{} // closed when the watch and the renewal have ended

	mu       sync.Mutex
	orgs     map[string]*org // by label
	fallback bool
	lastTry  time.Time // of NATS, while in fallback
}

// New opens (creating it when missing) the bucket through js and returns
// the budget, which watches the pauses and circuits in it until Close.
func New(ctx context.Context, js jetstream.JetStream, cfg Config, opts Options) (*Budget, error) {
	overrides, err := parseOverrides(cfg.Overrides)
	if err != nil {
		return nil, err
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "mendflow: the shared budget of calls to Mend, per organization",
		History:     1,
		Replicas:    opts.Replicas,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", Bucket, err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	b := &Budget{
		kv: kv, conn: js.Conn(), cfg: cfg, opts: opts, overrides: overrides, log: opts.Logger, m: m,
		id: rand.Text(), stop: stop, watched: make(chan struct{}), orgs: make(map[string]*org),
	}
	var wg sync.WaitGroup
	wg.Go(func() { b.watch(wctx) })
	if cfg.MaxInFlight > 0 {
		wg.Go(func() { b.renew(wctx) })
	}
	go func() {
		wg.Wait()
		close(b.watched)
	}()
	return b, nil
}

// Close stops watching the bucket.
func (b *Budget) Close() {
	b.stop()
	<-b.watched
}

// Acquire implements mend.Limiter: it waits while call's organization is
// paused or its circuit open (for MaxWait at most, then fails with a
// *mend.UnavailableError), for a free slot under MEND_MAX_IN_FLIGHT, and
// for the organization's rate.
func (b *Budget) Acquire(ctx context.Context, call mend.Call) (func(mend.Outcome) *mend.UnavailableError, error) {
	start := time.Now()
	o := b.org(call.Org)
	class := call.Class
	if class == "" {
		class = "other"
	}
	for {
		probe, err := o.open(ctx)
		if err != nil {
			return nil, err
		}
		if err := o.token(ctx, class); err != nil {
			o.release()
			return nil, err
		}
		if o.pausedNow() {
			// Mend asked to wait while this call waited its turn.
			o.release()
			continue
		}
		b.m.wait.WithLabelValues(o.label, class).Observe(time.Since(start).Seconds())
		b.m.calls.WithLabelValues(o.label).Inc()
		return func(out mend.Outcome) *mend.UnavailableError { return o.done(out, probe) }, nil
	}
}

// SetAside tells whether work for org (a command, before it begins) should
// give way to other organizations' work, org's rate being taken for a
// while by the calls waiting in this process: if so, it returns a
// *mend.UnavailableError, reason mend.ReasonSaturated, whose Wait is when
// the work should come back; nil otherwise.
func (b *Budget) SetAside(org string) *mend.UnavailableError {
	o := b.org(org)
	wait, ok := o.saturated()
	if !ok {
		return nil
	}
	b.m.setAside.WithLabelValues(o.label).Inc()
	return &mend.UnavailableError{Org: o.label, Reason: mend.ReasonSaturated, Wait: wait}
}

// Fallback reports whether the process keeps to its local share, NATS
// being unreachable.
func (b *Budget) Fallback() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fallback
}

// PausedUntil is when the pause of org, as this process knows it, ends.
func (b *Budget) PausedUntil(org string) time.Time {
	o := b.org(org)
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.pauseUntil
}

// CircuitOpen reports whether org's circuit is open, as this process
// knows it.
func (b *Budget) CircuitOpen(org string) bool {
	o := b.org(org)
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.circuitOpen
}

// org is the state of the organization whose token is token.
func (b *Budget) org(token string) *org {
	if token == "" {
		token = b.opts.DefaultOrg
	}
	return b.orgOfLabel(Label(token))
}

func (b *Budget) orgOfLabel(label string) *org {
	b.mu.Lock()
	defer b.mu.Unlock()
	if o, ok := b.orgs[label]; ok {
		return o
	}
	lim, ok := b.overrides[label]
	if !ok {
		lim = limit{rate: b.opts.Rate, burst: b.opts.Burst}
	}
	lim.burst = max(lim.burst, 1)
	o := &org{b: b, label: label, limit: lim, changed: make(chan struct{}), waiting: newQueue()}
	if lim.rate > 0 {
		o.interval = time.Duration(float64(time.Second) / lim.rate)
		share := float64(b.cfg.Processes)
		o.local = rate.NewLimiter(rate.Limit(lim.rate/share), max(1, int(float64(lim.burst)/share)))
	}
	b.m.limit.WithLabelValues(label).Set(lim.rate)
	// Exported from the first call, so that a dashboard or an alert
	// reading them finds the organization before anything goes wrong.
	b.m.circuit.WithLabelValues(label).Set(0)
	b.m.pauses.WithLabelValues(label)
	b.m.setAside.WithLabelValues(label)
	b.orgs[label] = o
	return o
}

// useShared reports whether to ask NATS now: always, but while in
// fallback, once a second.
func (b *Budget) useShared() bool {
	if st := b.conn.Status(); st != nats.CONNECTED {
		// No request could be answered: say so now rather than wait
		// for each to time out.
		b.reached(fmt.Errorf("NATS is %s", st))
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.fallback {
		return true
	}
	if time.Since(b.lastTry) < recheck {
		return false
	}
	b.lastTry = time.Now()
	return true
}

// reached notes whether NATS answered; a change is logged once, and shown
// by the fallback gauge.
func (b *Budget) reached(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	down := err != nil
	if down == b.fallback {
		return
	}
	b.fallback = down
	if down {
		b.lastTry = time.Now()
		b.m.fallback.Set(1)
		b.log.Warn("the shared Mend budget in NATS cannot be reached: keeping to this process's share",
			"error", err, "processes", b.cfg.Processes)
		return
	}
	b.m.fallback.Set(0)
	for _, o := range b.orgs {
		o.mu.Lock()
		o.known = false
		o.mu.Unlock()
	}
	b.log.Info("the shared Mend budget in NATS answers again: sharing it")
}

// watch follows the pauses, circuits and calls in flight in the bucket
// until ctx ends.
func (b *Budget) watch(ctx context.Context) {
	for ctx.Err() == nil {
		w, err := b.kv.WatchFiltered(ctx, []string{"pause.*", "circuit.*", "flight.*"})
		if err == nil {
			for e := range w.Updates() {
				if e != nil {
					b.apply(e)
				}
			}
			_ = w.Stop()
		}
		select {
		case <-ctx.Done():
		case <-time.After(recheck):
		}
	}
}

// apply takes in what another process (or this one) wrote.
func (b *Budget) apply(e jetstream.KeyValueEntry) {
	kind, label, ok := strings.Cut(e.Key(), ".")
	if !ok {
		return
	}
	o := b.orgOfLabel(label)
	deleted := e.Operation() != jetstream.KeyValuePut
	switch kind {
	case "pause":
		if n, err := strconv.ParseInt(string(e.Value()), 10, 64); err == nil && !deleted {
			o.pause(time.Unix(0, n))
		}
	case "circuit":
		var c circuit
		if !deleted && json.Unmarshal(e.Value(), &c) != nil {
			return
		}
		o.setCircuit(c.Open, time.Unix(0, c.ProbeAt))
	case "flight":
		var l leases
		if !deleted && json.Unmarshal(e.Value(), &l) != nil {
			return
		}
		o.setFlight(l, e.Revision())
	}
}

// circuit is the value of circuit.<label>.
type circuit struct {
	Open bool `json:"open"`
	// ProbeAt is when a process may take the probe (Unix ns); a process
	// that takes it moves it on, so that one probe goes at a time.
	ProbeAt int64 `json:"probeAt"`
}

// conflict reports whether err says that another process wrote first.
func conflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}
