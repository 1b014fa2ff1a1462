package budget

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/mendflow/mendflow/pkg/mend"
)

// org is what a process knows of one organization's budget.
type org struct {
	b        *Budget
	label    string
	limit    limit
	interval time.Duration // between calls at the rate; 0: no limit
	local    *rate.Limiter // this process's share, while in fallback

	flightMu    sync.Mutex // this process's writes of its lease take turns
	mu          sync.Mutex
	changed     chan struct{} // closed, and replaced, when the state below changes
	pauseUntil  time.Time
	circuitOpen bool
	probeAt     time.Time
	failures    int // in a row, seen by this process
	inFlight    int // this process's calls under way
	flight      flightState
	waiting     *queue
	taking      bool      // a goroutine takes calls for those waiting
	setAsideAt  time.Time // when the last work set aside comes back
	// The GCRA's state as last read or written: known is false until
	// read, and after another process wrote first.
	known bool
	tat   int64
	rev   uint64
}

// broadcast wakes those waiting for a change; o.mu is held.
func (o *org) broadcast() {
	close(o.changed)
	o.changed = make(chan struct{})
}

// open waits until a call may go to the organization: no pause, the
// circuit closed or this call its probe, a place free under
// MEND_MAX_IN_FLIGHT among all processes' calls, which it takes (claim).
// A pause or an open circuit longer than MaxWait, or than ctx allows,
// fails at once.
func (o *org) open(ctx context.Context) (probe bool, err error) {
	for {
		now := time.Now()
		o.mu.Lock()
		var (
			wait   time.Duration
			reason string
		)
		switch {
		case now.Before(o.pauseUntil):
			wait, reason = o.pauseUntil.Sub(now), "paused"
		case o.circuitOpen && now.Before(o.probeAt):
			wait, reason = o.probeAt.Sub(now), "circuit open"
		case o.circuitOpen:
			o.mu.Unlock()
			if o.takeProbe(now) {
				o.mu.Lock()
				o.inFlight++
				o.mu.Unlock()
				return true, nil
			}
			continue
		case o.b.cfg.MaxInFlight > 0:
			// Taken before claiming: a place freed meanwhile wakes it.
			changed := o.changed
			o.mu.Unlock()
			ok, wait := o.claim()
			if ok {
				return false, nil
			}
			if err := o.waitChange(ctx, changed, now, wait, ""); err != nil {
				return false, err
			}
			continue
		default:
			o.inFlight++
			o.mu.Unlock()
			return false, nil
		}
		changed := o.changed
		o.mu.Unlock()
		if err := o.waitChange(ctx, changed, now, wait, reason); err != nil {
			return false, err
		}
	}
}

// waitChange waits for a change of the organization's state, or for wait
// when it is not 0. For a pause or an open circuit (reason), wait is its
// end, and one that ends past MaxWait or ctx's deadline fails at once
// with a *mend.UnavailableError.
func (o *org) waitChange(ctx context.Context, changed <-chan struct{}, now time.Time, wait time.Duration, reason string) error {
	if reason != "" {
		if deadline, ok := ctx.Deadline(); wait > o.b.cfg.MaxWait || ok && deadline.Before(now.Add(wait)) {
			return &mend.UnavailableError{Org: o.label, Reason: reason, Wait: wait}
		}
	}
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-changed:
	case <-timeout:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// takeProbe takes the open circuit's probe, with compare-and-swap on the
// circuit's key so that one process at a time probes: true when this
// call is the probe.
func (o *org) takeProbe(now time.Time) bool {
	next := now.Add(o.b.cfg.CircuitOpen)
	if o.b.useShared() {
		won, err := o.casProbe(now, next)
		o.b.reached(err)
		if err == nil {
			return won
		}
	}
	// NATS unreachable: this process probes on its own.
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.circuitOpen && !now.Before(o.probeAt) {
		o.probeAt = next
		return true
	}
	return false
}

func (o *org) casProbe(now, next time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	key := "circuit." + o.label
	e, err := o.b.kv.Get(ctx, key)
	o.b.m.ops.WithLabelValues("get").Inc()
	var c circuit
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return false, err
	default:
		if err := json.Unmarshal(e.Value(), &c); err != nil {
			c = circuit{}
		}
	}
	if !c.Open || now.Before(time.Unix(0, c.ProbeAt)) {
		// Closed meanwhile, or another process probes.
		o.setCircuit(c.Open, time.Unix(0, c.ProbeAt))
		return false, nil
	}
	val, _ := json.Marshal(circuit{Open: true, ProbeAt: next.UnixNano()})
	_, err = o.b.kv.Update(ctx, key, val, e.Revision())
	o.b.m.ops.WithLabelValues("update").Inc()
	if conflict(err) {
		// Another process took it; its write reaches the watch.
		o.setCircuit(true, next)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	o.setCircuit(true, next)
	return true, nil
}

// release gives back the slot of a call that was not made.
func (o *org) release() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ended()
}

// token waits for one call of the organization's rate.
func (o *org) token(ctx context.Context, class string) error {
	if o.interval == 0 {
		return nil
	}
	w := &waiter{class: class, ready: make(chan struct{})}
	o.mu.Lock()
	o.waiting.push(w)
	if !o.taking {
		o.taking = true
		go o.take()
	}
	o.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		o.mu.Lock()
		o.waiting.remove(w) // granted meanwhile: that call goes unused
		o.mu.Unlock()
		return ctx.Err()
	}
}

// take takes calls for those waiting, as many as it can at once, until
// none waits. The calls taken are slots of the rate, each due at its own
// time: a caller is let go when its slot is due, so that the calls keep to
// the rate however many one round trip took.
func (o *org) take() {
	for {
		o.mu.Lock()
		n := o.waiting.len()
		if n == 0 {
			o.taking = false
			o.mu.Unlock()
			return
		}
		o.mu.Unlock()
		got, wait := o.takeN(min(n, maxTake))
		if len(got) == 0 {
			time.Sleep(max(wait, time.Millisecond))
			continue
		}
		taken := time.Now()
		for _, due := range got {
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			if time.Since(due) > lateSlot && time.Since(taken) > lateSlot {
				// This process was held up (a starved CPU): let
				// a late slot go rather than make a burst of them.
				continue
			}
			o.mu.Lock()
			if w := o.waiting.pop(); w != nil {
				close(w.ready)
			}
			o.mu.Unlock()
		}
	}
}

// saturated reports whether the callers of the organization waiting in
// this process take its rate for yieldAfter already; if so, it sets aside
// one piece of work, and returns when it should come back: its place in
// this process's queue of work set aside, one interval of the rate after
// the one before. Work set aside thus comes back from each process at
// the organization's rate: soon enough that the rate is never idle for
// want of work (what comes back too soon is set aside again), never as
// a burst. The queue is the process's own: a shared one would cost a
// compare-and-swap per command, contended by every worker sweeping.
func (o *org) saturated() (time.Duration, bool) {
	if o.interval == 0 {
		return 0, false
	}
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if time.Duration(o.waiting.len())*o.interval < yieldAfter {
		return 0, false
	}
	o.setAsideAt = o.setAsideAt.Add(o.interval)
	if soonest := now.Add(yieldAfter); o.setAsideAt.Before(soonest) {
		o.setAsideAt = soonest
	}
	return o.setAsideAt.Sub(now), true
}

// takeN takes up to n calls: from the shared budget, or from the local
// share while NATS cannot be reached. It returns when each is due; when
// it takes none, wait is how long until one is.
func (o *org) takeN(n int) (due []time.Time, wait time.Duration) {
	if o.b.useShared() {
		due, wait, err := o.takeShared(n)
		o.b.reached(err)
		if err == nil {
			return due, wait
		}
	}
	now := time.Now()
	tokens := o.local.TokensAt(now)
	if k := min(n, int(tokens)); k > 0 {
		o.local.AllowN(now, k)
		return slices.Repeat([]time.Time{now}, k), 0
	}
	return nil, time.Duration((1 - tokens) / float64(o.local.Limit()) * float64(time.Second))
}

// takeShared advances the organization's GCRA by up to n calls, with
// compare-and-swap: the key holds the theoretical arrival time (Unix ns)
// of the next call. The i-th call taken is due when the GCRA lets it go,
// at most horizon from now: taking the slots of the near future in one
// round trip spares the processes a race for each.
func (o *org) takeShared(n int) ([]time.Time, time.Duration, error) {
	key := "rate." + o.label
	interval := int64(o.interval)
	tau := int64(o.limit.burst) * interval
	for range casTries {
		o.mu.Lock()
		known, tat, rev := o.known, o.tat, o.rev
		// After a pause, the calls resume at the rate, without the
		// burst saved up meanwhile: a burst would meet Mend still
		// throttling, all of it at once.
		var resume int64
		if !o.pauseUntil.IsZero() {
			resume = o.pauseUntil.UnixNano() + tau - interval
		}
		o.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		if !known {
			e, err := o.b.kv.Get(ctx, key)
			o.b.m.ops.WithLabelValues("get").Inc()
			switch {
			case errors.Is(err, jetstream.ErrKeyNotFound):
				tat, rev = 0, 0
			case err != nil:
				cancel()
				return nil, 0, err
			default:
				tat, _ = strconv.ParseInt(string(e.Value()), 10, 64)
				rev = e.Revision()
			}
			o.setGCRA(tat, rev, true)
		}
		now := time.Now().UnixNano()
		t := max(tat, now, resume)
		// The calls due by now+horizon: the j-th (from 0) is due at
		// t+(j+1)·interval-tau.
		avail := (now + int64(horizon) + tau - t) / interval
		if avail < 1 {
			cancel()
			return nil, time.Duration(t + interval - tau - now - int64(horizon)), nil
		}
		k := min(int64(n), avail)
		val := strconv.AppendInt(nil, t+k*interval, 10)
		var err error
		if rev == 0 {
			rev, err = o.b.kv.Create(ctx, key, val)
			o.b.m.ops.WithLabelValues("create").Inc()
		} else {
			rev, err = o.b.kv.Update(ctx, key, val, rev)
			o.b.m.ops.WithLabelValues("update").Inc()
		}
		cancel()
		if conflict(err) {
			o.setGCRA(0, 0, false)
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		o.setGCRA(t+k*interval, rev, true)
		due := make([]time.Time, k)
		for j := range due {
			due[j] = time.Unix(0, t+(int64(j)+1)*interval-tau)
		}
		return due, 0, nil
	}
	// Others keep writing first: try again in a moment.
	return nil, time.Duration(interval), nil
}

func (o *org) setGCRA(tat int64, rev uint64, known bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tat, o.rev, o.known = tat, rev, known
}

// pausedNow reports whether the organization is paused.
func (o *org) pausedNow() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return time.Now().Before(o.pauseUntil)
}

// done hears how a call went: a 429 (or a 503 with Retry-After) pauses the
// organization for every process; a run of failures, or a failed probe,
// opens its circuit; an answer closes it. It returns the pause or the
// open circuit that the call's failure caused, for the caller to wait.
func (o *org) done(out mend.Outcome, probe bool) *mend.UnavailableError {
	now := time.Now()
	var (
		pauseUntil time.Time
		set        *circuit
	)
	o.mu.Lock()
	o.ended()
	switch {
	case out.Throttled():
		wait := out.RetryAfter
		if wait <= 0 {
			wait = defaultPause
		}
		if until := now.Add(wait); until.After(o.pauseUntil) {
			pauseUntil = until
		}
		o.failures = 0
		if o.circuitOpen {
			set = &circuit{}
		}
	case out.Failed():
		o.failures++
		if probe || !o.circuitOpen && o.failures >= o.b.cfg.CircuitFailures {
			set = &circuit{Open: true, ProbeAt: now.Add(o.b.cfg.CircuitOpen).UnixNano()}
		}
	case out.Status != 0:
		o.failures = 0
		if o.circuitOpen {
			set = &circuit{}
		}
	}
	failures := o.failures
	o.mu.Unlock()

	var held *mend.UnavailableError
	if !pauseUntil.IsZero() {
		o.pause(pauseUntil)
		o.b.m.pauses.WithLabelValues(o.label).Inc()
		o.b.share("pause."+o.label, strconv.AppendInt(nil, pauseUntil.UnixNano(), 10))
		held = &mend.UnavailableError{Org: o.label, Reason: "paused", Wait: pauseUntil.Sub(now)}
	}
	if set != nil && set.Open {
		held = &mend.UnavailableError{Org: o.label, Reason: "circuit open", Wait: o.b.cfg.CircuitOpen}
	}
	if set != nil {
		o.setCircuit(set.Open, time.Unix(0, set.ProbeAt))
		val, _ := json.Marshal(set)
		o.b.share("circuit."+o.label, val)
		if set.Open {
			o.b.log.Warn("Mend organization's circuit opened: its calls wait for a probe", "org", o.label,
				"failures", failures, "probe_in", o.b.cfg.CircuitOpen, "status", out.Status)
		} else {
			o.b.log.Info("Mend organization's circuit closed: it answers again", "org", o.label)
		}
	}
	return held
}

// pause holds back the organization's calls until until, unless a later
// pause holds them already.
func (o *org) pause(until time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if until.After(o.pauseUntil) {
		o.pauseUntil = until
		o.broadcast()
	}
}

// setCircuit notes the circuit's state.
func (o *org) setCircuit(open bool, probeAt time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !open {
		probeAt = time.Time{}
	}
	if open == o.circuitOpen && probeAt.Equal(o.probeAt) {
		return
	}
	o.circuitOpen, o.probeAt = open, probeAt
	if !open {
		o.failures = 0
	}
	gauge := 0.0
	if open {
		gauge = 1
	}
	o.b.m.circuit.WithLabelValues(o.label).Set(gauge)
	o.broadcast()
}

// share writes what this process learnt for every other one to read.
func (b *Budget) share(key string, val []byte) {
	if !b.useShared() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, err := b.kv.Put(ctx, key, val)
	b.m.ops.WithLabelValues("put").Inc()
	b.reached(err)
}

// waiter is a call waiting for its turn.
type waiter struct {
	class string
	ready chan struct{}
}

// queue holds the calls waiting, class by class: pop takes the classes in
// turn, so that each class waiting gets its share of the calls.
type queue struct {
	classes []string // with calls waiting, in turn order
	next    int
	byClass map[string][]*waiter
	n       int
}

func newQueue() *queue { return &queue{byClass: make(map[string][]*waiter)} }

func (q *queue) len() int { return q.n }

func (q *queue) push(w *waiter) {
	if len(q.byClass[w.class]) == 0 {
		q.classes = append(q.classes, w.class)
	}
	q.byClass[w.class] = append(q.byClass[w.class], w)
	q.n++
}

// pop takes the first call of the class whose turn it is.
func (q *queue) pop() *waiter {
	if q.n == 0 {
		return nil
	}
	i := q.next % len(q.classes)
	c := q.classes[i]
	w := q.byClass[c][0]
	q.byClass[c] = q.byClass[c][1:]
	q.n--
	if len(q.byClass[c]) == 0 {
		q.dropClass(i)
	} else {
		q.next = i + 1
	}
	return w
}

// remove takes w out, if it still waits.
func (q *queue) remove(w *waiter) bool {
	ws := q.byClass[w.class]
	for j, x := range ws {
		if x != w {
			continue
		}
		q.byClass[w.class] = append(ws[:j:j], ws[j+1:]...)
		q.n--
		if len(q.byClass[w.class]) == 0 {
			for i, c := range q.classes {
				if c == w.class {
					q.dropClass(i)
					break
				}
			}
		}
		return true
	}
	return false
}

func (q *queue) dropClass(i int) {
	delete(q.byClass, q.classes[i])
	q.classes = append(q.classes[:i], q.classes[i+1:]...)
	if i < q.next {
		q.next--
	}
	if len(q.classes) > 0 {
		q.next %= len(q.classes)
	} else {
		q.next = 0
	}
}
