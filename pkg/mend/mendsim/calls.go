package mendsim

import (
	"encoding/json"
	"sync"
	"time"
)

// maxCalls bounds the call record of a long-running simulator; the oldest
// calls are forgotten first.
const maxCalls = 200_000

// Call is one request the simulator received.
type Call struct {
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"` // when the request came
	// Answered is when the answer went (or the connection was dropped),
	// after any latency: when a client could first know what it said.
	Answered time.Time `json:"answered"`
	API      string    `json:"api"` // "v1.4", "v2.0" or "v3.0"
	Op       string    `json:"op"`  // the v1.4 requestType, or the REST operation's name
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	Query    string    `json:"query,omitempty"` // the raw query string, such as page=1&pageSize=10
	// Status is the HTTP status answered; 0 when the connection was dropped.
	Status int `json:"status"`
	// ErrorCode is the v1.4 errorCode answered, if any.
	ErrorCode int `json:"errorCode,omitempty"`
	// Fault is set when an injected fault answered the call.
	Fault bool `json:"fault,omitempty"`
	// Request is the JSON body, without the user key.
	Request json.RawMessage `json:"request,omitempty"`
	// Traceparent is the request's W3C traceparent header, if any: how a
	// test sees that a trace reached Mend.
	Traceparent string `json:"traceparent,omitempty"`
}

// OK reports whether the call succeeded: a 2xx answer with no errorCode.
func (c Call) OK() bool { return c.Status >= 200 && c.Status < 300 && c.ErrorCode == 0 }

type callLog struct {
	mu     sync.Mutex
	seq    int64
	calls  []Call
	counts map[CallKey]int64 // never trimmed, unlike calls
}

// CallKey groups calls for counting.
type CallKey struct {
	Op        string
	Status    int
	ErrorCode int
}

func (l *callLog) add(c Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	c.Seq = l.seq
	if l.counts == nil {
		l.counts = make(map[CallKey]int64)
	}
	l.counts[CallKey{c.Op, c.Status, c.ErrorCode}]++
	if len(l.calls) == maxCalls {
		l.calls = append(l.calls[:0], l.calls[maxCalls/10:]...)
	}
	l.calls = append(l.calls, c)
}

func (l *callLog) since(seq int64, op string) []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []Call{}
	for _, c := range l.calls {
		if c.Seq > seq && (op == "" || c.Op == op) {
			out = append(out, c)
		}
	}
	return out
}

func (l *callLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = nil
	l.counts = nil
}

// Calls returns the calls received so far, oldest first.
func (s *Simulator) Calls() []Call { return s.calls.since(0, "") }

// CallsOf returns the calls of one operation, such as "createProject".
func (s *Simulator) CallsOf(op string) []Call { return s.calls.since(0, op) }

// ResetCalls forgets the calls received so far.
func (s *Simulator) ResetCalls() { s.calls.reset() }

// CallCounts returns how many calls of each kind the simulator answered
// since it started or its calls were last reset.
func (s *Simulator) CallCounts() map[CallKey]int64 {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	out := make(map[CallKey]int64, len(s.calls.counts))
	for k, n := range s.calls.counts {
		out[k] = n
	}
	return out
}
