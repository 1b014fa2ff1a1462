package budget

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The cap on calls in flight (MEND_MAX_IN_FLIGHT) is one per organization
// for all processes, as the rate is. The key flight.<label> holds a lease
// per process, its calls under way and until when they count:
//
//	{"<process>": {"n": 2, "until": <Unix ns>}}
//
// A call claims its place with compare-and-swap once the leases still
// running leave room. Afterwards the process writes its count again, as a
// number rather than a difference, so that the writes of many calls
// ending together fold into one. While it has calls under way, a process
// renews its lease every leaseTTL/3; the calls of a process that died
// stop counting leaseTTL after its last renewal. While NATS cannot be
// reached, a process keeps to its share of the cap, as it does of the
// rate.
const (
	leaseTTL   = 30 * time.Second
	renewEvery = leaseTTL / 3
)

// lease is one process's calls in flight to an organization.
type lease struct {
	N     int   `json:"n"`
	Until int64 `json:"until"` // Unix ns
}

// leases are the value of flight.<label>, by process.
type leases map[string]lease

// inUse counts the calls of the leases running at now, and says when the
// soonest of them held by a process other than self runs out (0: none).
func (l leases) inUse(now int64, self string) (n int, soonest int64) {
	for p, x := range l {
		if x.Until <= now || x.N <= 0 {
			continue
		}
		n += x.N
		if p != self && (soonest == 0 || x.Until < soonest) {
			soonest = x.Until
		}
	}
	return n, soonest
}

// with is a copy of l, without the leases that ran out, in which self has
// n calls from now; none when n is 0.
func (l leases) with(self string, n int, now time.Time) leases {
	out := make(leases, len(l)+1)
	for p, x := range l {
		if x.Until > now.UnixNano() && x.N > 0 && p != self {
			out[p] = x
		}
	}
	if n > 0 {
		out[self] = lease{N: n, Until: now.Add(leaseTTL).UnixNano()}
	}
	return out
}

// flightState is what a process knows of an organization's leases: known
// is false until read, and after another process wrote first.
type flightState struct {
	known  bool
	rev    uint64
	leases leases
	dirty  bool // this process's count changed since it was written
	sync   bool // a goroutine writes it
}

// claim takes a place under the cap for a call: among the shared leases,
// or in this process's share of the cap while NATS cannot be reached. When
// there is none, wait is how long until another process's lease runs out
// (0: until something changes).
func (o *org) claim() (ok bool, wait time.Duration) {
	if o.b.useShared() {
		ok, wait, err := o.claimShared()
		o.b.reached(err)
		if err == nil {
			return ok, wait
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.inFlight >= max(1, o.b.cfg.MaxInFlight/o.b.cfg.Processes) {
		return false, 0
	}
	o.inFlight++
	return true, 0
}

// claimShared adds a call to this process's lease when the leases leave
// room for it. The process's writes to the key take turns (flightMu), so
// that the count each writes is the latest.
func (o *org) claimShared() (bool, time.Duration, error) {
	o.flightMu.Lock()
	defer o.flightMu.Unlock()
	for range casTries {
		cur, rev, err := o.readFlight()
		if err != nil {
			return false, 0, err
		}
		now := time.Now()
		if used, soonest := cur.inUse(now.UnixNano(), o.b.id); used >= o.b.cfg.MaxInFlight {
			if soonest == 0 {
				return false, 0, nil
			}
			return false, time.Duration(soonest - now.UnixNano()), nil
		}
		o.mu.Lock()
		n := o.inFlight + 1
		o.mu.Unlock()
		next := cur.with(o.b.id, n, now)
		rev, err = o.writeFlight(next, rev)
		if conflict(err) {
			continue
		}
		if err != nil {
			return false, 0, err
		}
		o.mu.Lock()
		o.inFlight++
		o.flight.known, o.flight.rev, o.flight.leases = true, rev, next
		o.mu.Unlock()
		return true, 0, nil
	}
	// Others keep writing first: try again in a moment.
	return false, 10 * time.Millisecond, nil
}

// readFlight is the leases as this process knows them, read from the
// bucket when it does not.
func (o *org) readFlight() (leases, uint64, error) {
	o.mu.Lock()
	st := o.flight
	o.mu.Unlock()
	if st.known {
		return st.leases, st.rev, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	e, err := o.b.kv.Get(ctx, "flight."+o.label)
	o.b.m.ops.WithLabelValues("get").Inc()
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return nil, 0, nil
	case err != nil:
		return nil, 0, err
	}
	var l leases
	_ = json.Unmarshal(e.Value(), &l) // unreadable: as if empty, and overwritten
	o.setFlight(l, e.Revision())
	return l, e.Revision(), nil
}

// writeFlight writes l at revision rev (0: the key is new); a conflict
// makes the leases unknown, to be read again.
func (o *org) writeFlight(l leases, rev uint64) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	val, _ := json.Marshal(l)
	var err error
	if rev == 0 {
		rev, err = o.b.kv.Create(ctx, "flight."+o.label, val)
		o.b.m.ops.WithLabelValues("create").Inc()
	} else {
		rev, err = o.b.kv.Update(ctx, "flight."+o.label, val, rev)
		o.b.m.ops.WithLabelValues("update").Inc()
	}
	if conflict(err) {
		o.mu.Lock()
		o.flight.known = false
		o.mu.Unlock()
	}
	return rev, err
}

// setFlight takes in leases read or watched at revision rev, unless this
// process knows a later one, and wakes the calls waiting for a place.
func (o *org) setFlight(l leases, rev uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.flight.known && rev <= o.flight.rev {
		return
	}
	o.flight.known, o.flight.rev, o.flight.leases = true, rev, l
	o.broadcast()
}

// ended notes that a call of this process ended or was not made: its
// lease is written again, by one goroutine at a time; o.mu is held.
func (o *org) ended() {
	o.inFlight--
	if o.b.cfg.MaxInFlight == 0 {
		return
	}
	o.broadcast()
	o.flight.dirty = true
	if !o.flight.sync {
		o.flight.sync = true
		go o.syncFlight()
	}
}

// syncFlight writes this process's count until what it wrote is what it
// has.
func (o *org) syncFlight() {
	for {
		o.mu.Lock()
		if !o.flight.dirty {
			o.flight.sync = false
			o.mu.Unlock()
			return
		}
		o.flight.dirty = false
		o.mu.Unlock()
		if err := o.writeOwn(); err != nil {
			// NATS cannot be reached: the lease runs out by itself.
			o.b.reached(err)
			o.mu.Lock()
			o.flight.sync = false
			o.mu.Unlock()
			return
		}
	}
}

// writeOwn writes this process's count of calls in flight, renewing its
// lease.
func (o *org) writeOwn() error {
	if !o.b.useShared() {
		return nil
	}
	o.flightMu.Lock()
	defer o.flightMu.Unlock()
	for range casTries {
		cur, rev, err := o.readFlight()
		if err != nil {
			return err
		}
		o.mu.Lock()
		n := o.inFlight
		o.mu.Unlock()
		next := cur.with(o.b.id, n, time.Now())
		rev, err = o.writeFlight(next, rev)
		if conflict(err) {
			continue
		}
		if err != nil {
			return err
		}
		o.setFlight(next, rev)
		return nil
	}
	return nil // the next write carries the count
}

// renew keeps the leases of this process's calls under way running, until
// ctx ends.
func (b *Budget) renew(ctx context.Context) {
	t := time.NewTicker(renewEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b.mu.Lock()
		orgs := slices.Collect(maps.Values(b.orgs))
		b.mu.Unlock()
		for _, o := range orgs {
			o.mu.Lock()
			n := o.inFlight
			o.mu.Unlock()
			if n > 0 {
				b.reached(o.writeOwn())
			}
		}
	}
}
