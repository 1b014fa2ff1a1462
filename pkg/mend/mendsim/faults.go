package mendsim

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// AnyOp makes a fault hit every operation.
const AnyOp = "*"

// Fault makes the simulator misbehave on an operation (a v1.4 request type
// such as "createProject", or a REST operation such as "applyProjectPolicies").
// Latency is how long the call takes; then at most one of Drop, Status and
// ErrorCode replaces its answer. A fault with only Latency lets the call
// through, late: carried out at the end of the latency, as Mend finishes
// what it started, even if the client stopped waiting (only Stop abandons
// it).
type Fault struct {
	Op      string        `json:"op"`
	Latency time.Duration `json:"-"`
	// LatencyMax, when above Latency, makes each call take a time drawn
	// evenly between Latency and LatencyMax: answers of realistic spread.
	LatencyMax time.Duration `json:"-"`
	// Status answers this HTTP status (429, 500, 502, 503, ...) instead.
	Status int `json:"status,omitempty"`
	// RetryAfter is sent as a Retry-After header with Status.
	RetryAfter time.Duration `json:"-"`
	// Drop closes the connection without answering.
	Drop bool `json:"drop,omitempty"`
	// ErrorCode answers a v1.4 {"errorCode": N} body with HTTP 200 instead.
	// It does nothing to v2.0 and v3.0 calls: a fault that sets only
	// ErrorCode lets them through without counting them for Count or
	// Every; one with Latency too delays them.
	ErrorCode int `json:"errorCode,omitempty"`
	// Echo makes the Status or ErrorCode answer quote the request, as a
	// server or a proxy in the way may: its Authorization and
	// wss-refresh-token headers and its body, credentials and all. A
	// client must keep them out of its errors.
	Echo bool `json:"echo,omitempty"`
	// Count limits the fault to this many hits; 0 means no limit.
	Count int `json:"count,omitempty"`
	// Every makes the fault hit only every Nth matching call, for sporadic
	// failures; 0 or 1 means every call.
	Every int `json:"every,omitempty"`
	// For ends the fault after this long; 0 means until cleared.
	For time.Duration `json:"-"`
}

// faultJSON is how a Fault reads and writes in JSON: durations as Go
// duration strings ("250ms", "1m").
type faultJSON struct {
	faultFields
	Latency    string `json:"latency,omitempty"`
	LatencyMax string `json:"latencyMax,omitempty"`
	RetryAfter string `json:"retryAfter,omitempty"`
	For        string `json:"for,omitempty"`
}

// faultFields is Fault without its methods, so that faultJSON does not
// inherit them.
type faultFields Fault

// UnmarshalJSON reads a fault with durations written like "250ms" or "1m".
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Fault(j.faultFields)
	for _, d := range []struct {
		name string
		in   string
		out  *time.Duration
	}{{"latency", j.Latency, &f.Latency}, {"latencyMax", j.LatencyMax, &f.LatencyMax}, {"retryAfter", j.RetryAfter, &f.RetryAfter}, {"for", j.For, &f.For}} {
		if d.in == "" {
			continue
		}
		v, err := time.ParseDuration(d.in)
		if err != nil {
			return fmt.Errorf("fault %s: %w", d.name, err)
		}
		*d.out = v
	}
	return nil
}

// MarshalJSON writes durations like "250ms".
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{faultFields: faultFields(f)}
	if f.Latency > 0 {
		j.Latency = f.Latency.String()
	}
	if f.LatencyMax > 0 {
		j.LatencyMax = f.LatencyMax.String()
	}
	if f.RetryAfter > 0 {
		j.RetryAfter = f.RetryAfter.String()
	}
	if f.For > 0 {
		j.For = f.For.String()
	}
	return json.Marshal(j)
}

func (f Fault) validate() error {
	n := 0
	for _, set := range []bool{f.Drop, f.Status != 0, f.ErrorCode != 0} {
		if set {
			n++
		}
	}
	switch {
	case f.Op == "":
		return fmt.Errorf("fault: op is required (a request type, an operation, or %q)", AnyOp)
	case n > 1:
		return fmt.Errorf("fault on %s: drop, status and errorCode exclude each other", f.Op)
	case f.Echo && f.Status == 0 && f.ErrorCode == 0:
		return fmt.Errorf("fault on %s: echo quotes the request in a status or errorCode answer; set one", f.Op)
	case n == 0 && f.Latency <= 0:
		return fmt.Errorf("fault on %s: does nothing; set latency, drop, status or errorCode", f.Op)
	case f.Status != 0 && (f.Status < 400 || f.Status > 599):
		return fmt.Errorf("fault on %s: status %d is not an error status", f.Op, f.Status)
	case f.LatencyMax != 0 && f.LatencyMax < f.Latency:
		return fmt.Errorf("fault on %s: latencyMax must not be below latency", f.Op)
	case f.Latency < 0 || f.RetryAfter < 0 || f.For < 0 || f.Count < 0 || f.Every < 0:
		return fmt.Errorf("fault on %s: negative values are not allowed", f.Op)
	}
	return nil
}

type activeFault struct {
	Fault
	until time.Time // zero: no end
	seen  int
	hits  int
}

type faultSet struct {
	mu     sync.Mutex
	faults []*activeFault
}

func (fs *faultSet) set(f Fault, now time.Time) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	a := &activeFault{Fault: f}
	if f.For > 0 {
		a.until = now.Add(f.For)
	}
	for i, old := range fs.faults {
		if old.Op == f.Op {
			fs.faults[i] = a
			return
		}
	}
	fs.faults = append(fs.faults, a)
}

func (fs *faultSet) clear() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = nil
}

func (fs *faultSet) list(now time.Time) []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := []Fault{}
	for _, a := range fs.faults {
		if a.live(now) {
			out = append(out, a.Fault)
		}
	}
	return out
}

func (a *activeFault) live(now time.Time) bool {
	return (a.until.IsZero() || now.Before(a.until)) && (a.Count == 0 || a.hits < a.Count)
}

// appliesTo reports whether the fault does anything to a call of api: an
// errorCode answers v1.4 calls only.
func (a *activeFault) appliesTo(api string) bool {
	return api == "v1.4" || a.ErrorCode == 0 || a.Latency > 0
}

// hit returns the fault that applies to this call of op through api
// ("v1.4", "v2.0" or "v3.0"), if any. A fault set on the operation itself
// wins over one set on AnyOp. A fault that does nothing to the call is
// passed over before it counts the call; what it answers leaves out the
// errorCode on a call other than v1.4.
func (fs *faultSet) hit(api, op string, now time.Time) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var match *activeFault
	for _, a := range fs.faults {
		if !a.live(now) || !a.appliesTo(api) {
			continue
		}
		if a.Op == op {
			match = a
			break
		}
		if a.Op == AnyOp && match == nil {
			match = a
		}
	}
	if match == nil {
		return Fault{}, false
	}
	match.seen++
	if match.Every > 1 && match.seen%match.Every != 0 {
		return Fault{}, false
	}
	match.hits++
	f := match.Fault
	if api != "v1.4" {
		f.ErrorCode = 0
	}
	return f, true
}

// SetFault makes f apply from now on, replacing a fault on the same Op.
func (s *Simulator) SetFault(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.faults.set(f, s.now())
	return nil
}

// ClearFaults removes every fault.
func (s *Simulator) ClearFaults() { s.faults.clear() }

// Faults returns the faults in force.
func (s *Simulator) Faults() []Fault { return s.faults.list(s.now()) }
