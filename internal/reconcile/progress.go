package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Status is where a change of a plan being applied stands.
type Status string

// The statuses of a change: waiting for the changes it follows, queued,
// and its three ends.
const (
	StatusWaiting Status = "waiting"
	StatusQueued  Status = "queued"
	StatusDone    Status = "done"
	StatusFailed  Status = "failed"
	// StatusSkipped: a change it follows failed, so it was never queued.
	StatusSkipped Status = "skipped"
)

// Progress follows a plan's changes as they are queued and end. It knows
// no NATS: its callers queue what Ready returns and report the result
// events they read. It is not safe for concurrent use.
type Progress struct {
	plan     *Plan
	index    map[string]int // change id → its index
	status   []Status
	result   []string // the result event's type, or why it failed or was skipped
	followed [][]int  // the changes that follow each
	counts   Counts
}

// Counts counts a plan's changes by status.
type Counts struct {
	Waiting, Queued, Done, Failed, Skipped int
}

// Ended is the number of changes that ended, one way or another.
func (c Counts) Ended() int { return c.Done + c.Failed + c.Skipped }

// NewProgress starts following the plan, every change waiting. An after
// naming no change of the plan is an error: a plan made by NewPlan has
// none, an edited one may.
func NewProgress(p *Plan) (*Progress, error) {
	n := len(p.Changes)
	pr := &Progress{plan: p, index: make(map[string]int, n), status: make([]Status, n), result: make([]string, n), followed: make([][]int, n)}
	for i, c := range p.Changes {
		if want := changeID(c.Command, c.Data); c.ID != want {
			return nil, fmt.Errorf("change %d (%s): its id %q is not that of its command and data (%s): the plan was edited", i, c.Target, c.ID, want)
		}
		if _, dup := pr.index[c.ID]; dup {
			return nil, fmt.Errorf("change %s is in the plan twice", c.ID)
		}
		pr.index[c.ID] = i
		pr.status[i] = StatusWaiting
	}
	for i, c := range p.Changes {
		for _, a := range c.After {
			j, ok := pr.index[a]
			if !ok {
				return nil, fmt.Errorf("change %s follows %s, which is not in the plan", c.ID, a)
			}
			pr.followed[j] = append(pr.followed[j], i)
		}
	}
	pr.counts.Waiting = n
	return pr, nil
}

// Plan is the plan followed.
func (p *Progress) Plan() *Plan { return p.plan }

// Counts counts the changes by status.
func (p *Progress) Counts() Counts { return p.counts }

// Finished reports whether every change has ended.
func (p *Progress) Finished() bool { return p.counts.Ended() == len(p.status) }

// Status is where the change of that id stands, and its result type or
// why it failed.
func (p *Progress) Status(id string) (Status, string) {
	i, ok := p.index[id]
	if !ok {
		return "", ""
	}
	return p.status[i], p.result[i]
}

// Ready lists the waiting changes whose predecessors are all done: those
// to queue now. The caller marks each Queued once stored.
func (p *Progress) Ready() []Change {
	var out []Change
	for i, c := range p.plan.Changes {
		if p.status[i] == StatusWaiting && p.allDone(c.After) {
			out = append(out, c)
		}
	}
	return out
}

func (p *Progress) allDone(ids []string) bool {
	for _, a := range ids {
		if p.status[p.index[a]] != StatusDone {
			return false
		}
	}
	return true
}

// Queued marks the change stored on MENDFLOW_COMMANDS.
func (p *Progress) Queued(id string) {
	if i, ok := p.index[id]; ok && p.status[i] == StatusWaiting {
		p.set(i, StatusQueued, "")
	}
}

// End records a result of the change whose command id is commandID: done
// with a result of type resultType, or failed for why (failed true). The
// changes following a failed one are skipped. It reports whether the id
// is a change of the plan whose status this changed. A result read again
// (the same events seen twice) changes nothing; a success after a failure
// (the command replayed from its dead letter) makes the change done, and
// those skipped after it wait again.
func (p *Progress) End(commandID, resultType string, failed bool, why string) bool {
	i, ok := p.index[commandID]
	if !ok {
		return false
	}
	if p.status[i] == StatusFailed && !failed {
		p.set(i, StatusDone, resultType)
		p.unskipFollowers(i)
		return true
	}
	if p.ended(i) {
		return false
	}
	if !failed {
		p.set(i, StatusDone, resultType)
		return true
	}
	p.set(i, StatusFailed, why)
	p.skipFollowers(i)
	return true
}

func (p *Progress) skipFollowers(i int) {
	for _, j := range p.followed[i] {
		if !p.ended(j) && p.status[j] == StatusWaiting {
			p.set(j, StatusSkipped, "follows "+p.plan.Changes[i].ID+", which failed")
			p.skipFollowers(j)
		}
	}
}

func (p *Progress) unskipFollowers(i int) {
	for _, j := range p.followed[i] {
		if p.status[j] == StatusSkipped {
			p.set(j, StatusWaiting, "")
			p.unskipFollowers(j)
		}
	}
}

func (p *Progress) ended(i int) bool {
	s := p.status[i]
	return s == StatusDone || s == StatusFailed || s == StatusSkipped
}

func (p *Progress) set(i int, s Status, result string) {
	p.counts.add(p.status[i], -1)
	p.counts.add(s, 1)
	p.status[i], p.result[i] = s, result
}

func (c *Counts) add(s Status, n int) {
	switch s {
	case StatusWaiting:
		c.Waiting += n
	case StatusQueued:
		c.Queued += n
	case StatusDone:
		c.Done += n
	case StatusFailed:
		c.Failed += n
	case StatusSkipped:
		c.Skipped += n
	}
}

// Unsuccessful lists the changes that failed or were skipped, with why.
func (p *Progress) Unsuccessful() []Outcome {
	var out []Outcome
	for i, c := range p.plan.Changes {
		if s := p.status[i]; s == StatusFailed || s == StatusSkipped {
			out = append(out, Outcome{Change: c, Status: s, Why: p.result[i]})
		}
	}
	return out
}

// Outcome is how a change ended.
type Outcome struct {
	Change Change
	Status Status
	// Why is what failed, or which change it followed.
	Why string
}

// ID is the plan's id: the first 128 bits of SHA-256 over its change ids,
// in hex. Every command an apply queues carries it as its correlationid,
// so that mendflowctl events tail -correlation ID shows the apply.
func (p *Plan) ID() string {
	h := sha256.New()
	for _, c := range p.Changes {
		h.Write([]byte(c.ID))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Entry is where one change stands, as a record of a reconcile keeps it.
type Entry struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
	Result string `json:"result,omitempty"`
}

// Entries are the changes queued, done or failed: with the plan, what
// Restore needs (the skipped follow from the failed).
func (p *Progress) Entries() []Entry {
	var out []Entry
	for i, c := range p.plan.Changes {
		switch s := p.status[i]; s {
		case StatusQueued, StatusDone, StatusFailed:
			out = append(out, Entry{ID: c.ID, Status: s, Result: p.result[i]})
		}
	}
	return out
}

// Restore brings back the entries of a Progress of the same plan.
func (p *Progress) Restore(entries []Entry) {
	for _, e := range entries {
		switch e.Status {
		case StatusQueued:
			p.Queued(e.ID)
		case StatusDone, StatusFailed:
			p.End(e.ID, e.Result, e.Status == StatusFailed, e.Result)
		}
	}
}
