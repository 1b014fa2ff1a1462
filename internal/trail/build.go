package trail

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/pkg/events"
)

// Version is the version of Trace's JSON shape; a change that takes away
// or changes a field makes a new one.
const Version = 1

// States of a command and of an item.
const (
	// StateQueued: stored, not delivered yet.
	StateQueued = "queued"
	// StateRetrying: delivered, to be delivered again (see Next).
	StateRetrying = "retrying"
	// StateSucceeded and StateFailed: the command ended.
	StateSucceeded = "succeeded"
	StateFailed    = "failed"
	// StateOpen: an item the poller still follows; StateEnded: one it no
	// longer does.
	StateOpen  = "open"
	StateEnded = "ended"
)

// Trace is the chain of one incoming event: mendflowctl trace -json and
// GET /events/{id}/trace answer it.
type Trace struct {
	// Version is the shape's (Version).
	Version int `json:"version"`
	// ID is the id asked for; CorrelationID the chain's, the incoming
	// event's id (a webhook's delivery id).
	ID            string `json:"id"`
	CorrelationID string `json:"correlationId"`
	// Event is the incoming event, as far as its commands tell.
	Event Incoming `json:"event"`
	// Ended is set once every command ended and the poller follows
	// nothing of the chain.
	Ended bool `json:"ended"`
	// Commands are the commands of the chain, in the order they were stored.
	Commands []Command `json:"commands"`
	// Notes say what could not be read: records or messages gone, a scan
	// cut short.
	Notes []string `json:"notes,omitempty"`

	// unsettled: an item is gone from its stream, and the records read
	// lack its last poll (see Build).
	unsettled bool
}

// Incoming is the incoming event that started the chain. Ingest keeps no
// copy of it: its type and source come from the headers of the commands
// it queued (MarkIncoming), Received is when the first was stored.
type Incoming struct {
	ID       string     `json:"id,omitempty"`
	Type     string     `json:"type,omitempty"`
	Source   string     `json:"source,omitempty"`
	Received *time.Time `json:"received,omitempty"`
}

// Command is one command of the chain: one stored copy, by its sequence
// in MENDFLOW_COMMANDS (a command replayed from the dead letters is a new
// copy, with the same id).
type Command struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Name        string    `json:"name"`
	Subject     string    `json:"subject"`
	Seq         uint64    `json:"seq"`
	CausationID string    `json:"causationId,omitempty"`
	Published   time.Time `json:"published"`
	// State is StateQueued, StateRetrying, StateSucceeded or StateFailed.
	State    string    `json:"state"`
	Attempts []Attempt `json:"attempts"`
	// Results are the result events it stored (io.mendflow.command.failed
	// among them), DeadLetter where it is kept when it gave up, and Items
	// what it handed to the poller.
	Results    []Event     `json:"results,omitempty"`
	DeadLetter *DeadLetter `json:"deadLetter,omitempty"`
	Items      []Item      `json:"items,omitempty"`
}

// Event is a result event, read back from MENDFLOW_EVENTS.
type Event struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Subject string          `json:"subject"`
	Seq     uint64          `json:"seq"`
	Time    *time.Time      `json:"time,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	// Expired: the stream no longer holds it (its age or size limits).
	Expired bool `json:"expired,omitempty"`
}

// DeadLetter is a command kept on MENDFLOW_DLQ, and why it gave up.
type DeadLetter struct {
	Subject  string     `json:"subject"`
	Seq      uint64     `json:"seq"`
	Reason   string     `json:"reason,omitempty"`
	Error    string     `json:"error,omitempty"`
	Attempts int        `json:"attempts,omitempty"`
	FailedAt *time.Time `json:"failedAt,omitempty"`
	// Expired: the stream no longer holds it (replayed and removed, or
	// past its age).
	Expired bool `json:"expired,omitempty"`
}

// Item is a Track item the poller follows, or followed.
type Item struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Seq  uint64 `json:"seq"`
	// State is StateOpen or StateEnded.
	State string `json:"state"`
	// Follows is the item's data (the process or request), while
	// MENDFLOW_TRACKING holds it.
	Follows json.RawMessage `json:"follows,omitempty"`
	// LastPoll is the last poll, with its Mend calls and, while the item
	// is open, when the next comes (Next); nil before the first.
	LastPoll *Attempt `json:"lastPoll,omitempty"`
	// Completion is the completion event the poller stored.
	Completion *Event `json:"completion,omitempty"`
}

// Reader is what Build needs of a jetstream.JetStream.
type Reader interface {
	KeyValue(ctx context.Context, bucket string) (jetstream.KeyValue, error)
	Stream(ctx context.Context, name string) (jetstream.Stream, error)
}

// ErrUnknown is returned by Build when nothing is known of the id.
var ErrUnknown = errors.New("nothing is known of this id")

// maxScan bounds the messages of a stream that Build reads to find the
// commands of the chain not yet delivered, or a command's dead letter.
const maxScan = 10000

// Build reads the chain whose correlation id is id (the incoming event's
// id, a webhook's delivery id) from the records and the streams, or, when
// id is a command's own id whose dead letter MENDFLOW_DLQ keeps (as
// mendflowctl dlq list shows it), the chain of that command. It returns
// ErrUnknown when none knows of it.
func Build(ctx context.Context, js Reader, id string) (*Trace, error) {
	t, err := buildChain(ctx, js, id)
	if !errors.Is(err, ErrUnknown) {
		return t, err
	}
	chain, err := deadLetterChain(ctx, js, id)
	if err != nil || chain == "" || chain == id {
		return nil, cmp.Or(err, ErrUnknown)
	}
	if t, err = buildChain(ctx, js, chain); err == nil {
		t.ID = id
	}
	return t, err
}

// deadLetterChain is the correlation id of the dead letter of the command
// whose id is id, the latest first; "" when MENDFLOW_DLQ keeps none among
// its last maxScan.
func deadLetterChain(ctx context.Context, js Reader, id string) (string, error) {
	s, err := js.Stream(ctx, events.StreamDLQ)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("stream %s: %w", events.StreamDLQ, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return "", err
	}
	for seq, n := info.State.LastSeq, 0; info.State.Msgs > 0 && seq >= info.State.FirstSeq && n < maxScan; seq, n = seq-1, n+1 {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // removed: a replayed dead letter
		}
		if err != nil {
			return "", fmt.Errorf("stream %s seq %d: %w", events.StreamDLQ, seq, err)
		}
		if headerValue(m.Header, "ce-id") == id {
			return headerValue(m.Header, "ce-"+events.ExtCorrelationID), nil
		}
	}
	return "", nil
}

// buildChain builds the chain whose correlation id is id.
func buildChain(ctx context.Context, js Reader, id string) (*Trace, error) {
	t, err := build(ctx, js, id)
	if err == nil && t.unsettled {
		// An item left MENDFLOW_TRACKING after the records were read, so
		// its last poll was not among them. It was recorded before the
		// item was acknowledged: reading again finds it.
		return build(ctx, js, id)
	}
	return t, err
}

func build(ctx context.Context, js Reader, id string) (*Trace, error) {
	t := &Trace{Version: Version, ID: id, CorrelationID: id, Event: Incoming{ID: id}, Commands: []Command{}}
	streams := map[string]jetstream.Stream{}
	stream := func(name string) (jetstream.Stream, error) {
		if s, ok := streams[name]; ok {
			return s, nil
		}
		s, err := js.Stream(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		streams[name] = s
		return s, nil
	}
	cmds, err := stream(events.StreamCommands)
	if err != nil {
		return nil, err
	}
	queued, truncated, err := scan(ctx, cmds, id)
	if err != nil {
		return nil, err
	}
	if truncated {
		t.Notes = append(t.Notes, fmt.Sprintf("only the first %d messages of %s were looked at for commands not yet delivered", maxScan, events.StreamCommands))
	}
	// The records are read after the stream: a command leaves it before
	// its last record is written, so that read the other way round, one
	// ending meanwhile would be in neither.
	recs, err := records(ctx, js, id)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 && len(queued) == 0 {
		return nil, ErrUnknown
	}

	incoming := map[uint64]*Incoming{} // by command
	bySeq := map[uint64]*Command{}
	command := func(seq uint64) *Command {
		if c, ok := bySeq[seq]; ok {
			return c
		}
		c := &Command{Seq: seq, Attempts: []Attempt{}}
		bySeq[seq] = c
		return c
	}
	items := map[uint64]Record{}
	for _, r := range recs {
		switch r.Kind {
		case KindCommand:
			c := command(r.Seq)
			c.ID, c.Type, c.Subject, c.CausationID, c.Published = r.ID, r.Type, r.Subject, r.Causation, r.Published
			c.Name = cmp.Or(r.Name, c.Name)
			c.Attempts = append(c.Attempts, r.Attempt)
			if r.Incoming != nil {
				incoming[r.Seq] = r.Incoming
			}
		case KindItem:
			if r.Attempt.Attempt > items[r.Seq].Attempt.Attempt {
				items[r.Seq] = r // the last poll
			}
		}
	}
	for _, e := range queued {
		c := command(e.seq)
		c.ID, c.Type, c.Subject, c.CausationID, c.Published = e.ev.ID(), e.ev.Type(), e.subject, events.Extension(e.ev, events.ExtCausationID), e.published
		if e.incoming != nil {
			incoming[e.seq] = e.incoming
		}
	}

	t.Commands = make([]Command, 0, len(bySeq))
	for _, seq := range slices.Sorted(maps.Keys(bySeq)) {
		c := bySeq[seq]
		slices.SortFunc(c.Attempts, func(a, b Attempt) int { return a.Attempt - b.Attempt })
		if c.Name == "" {
			c.Name, _ = events.CommandName(c.Type)
		}
		c.State = c.state()
		if in := incoming[seq]; in != nil && t.Event.Received == nil {
			received := c.Published
			t.Event.Type, t.Event.Source, t.Event.Received = in.Type, in.Source, &received
		}
		if err := c.readStored(ctx, stream, items, t); err != nil {
			return nil, err
		}
		t.Commands = append(t.Commands, *c)
	}
	t.Ended = t.ended()
	return t, nil
}

// state is the command's state from its last attempt.
func (c *Command) state() string {
	if len(c.Attempts) == 0 {
		return StateQueued
	}
	switch c.Attempts[len(c.Attempts)-1].Outcome {
	case bus.OutcomeSuccess:
		return StateSucceeded
	case bus.OutcomeFailed:
		return StateFailed
	}
	return StateRetrying
}

// ended reports whether the chain ended: every command ended, and every
// item too. Both are recorded before they leave their streams.
func (t *Trace) ended() bool {
	if len(t.Commands) == 0 {
		return false
	}
	for _, c := range t.Commands {
		if c.State != StateSucceeded && c.State != StateFailed {
			return false
		}
		for _, it := range c.Items {
			if it.State != StateEnded {
				return false
			}
		}
	}
	return true
}

// readStored reads back what the command's deliveries stored: its result
// events, its dead letter and its items, the latter with the last poll
// recorded of each (items).
func (c *Command) readStored(ctx context.Context, stream func(string) (jetstream.Stream, error), items map[uint64]Record, t *Trace) error {
	seen := map[Stored]bool{}
	for _, a := range c.Attempts {
		for _, st := range a.Stored {
			if seen[st] {
				continue
			}
			seen[st] = true
			s, err := stream(st.Stream)
			if err != nil {
				return err
			}
			m, err := s.GetMsg(ctx, st.Seq)
			if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
				return fmt.Errorf("stream %s seq %d: %w", st.Stream, st.Seq, err)
			}
			switch st.Stream {
			case events.StreamEvents:
				c.Results = append(c.Results, readEvent(st, m))
			case events.StreamDLQ:
				c.DeadLetter = readDeadLetter(st, m)
			case events.StreamTracking:
				c.Items = append(c.Items, readItem(ctx, st, m, items, stream, t))
			}
		}
	}
	return nil
}

// readEvent is the result event st, read back as m (nil: gone).
func readEvent(st Stored, m *jetstream.RawStreamMsg) Event {
	ev := Event{ID: st.ID, Type: st.Type, Subject: st.Subject, Seq: st.Seq, Expired: m == nil}
	if m == nil {
		return ev
	}
	if e, err := bus.FromMsg(&nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data}); err == nil {
		if tm := e.Time(); !tm.IsZero() {
			tm = tm.UTC()
			ev.Time = &tm
		}
		if json.Valid(e.Data()) {
			ev.Data = e.Data()
		}
	}
	return ev
}

// readDeadLetter is the dead letter st, read back as m (nil: gone).
func readDeadLetter(st Stored, m *jetstream.RawStreamMsg) *DeadLetter {
	dl := &DeadLetter{Subject: st.Subject, Seq: st.Seq, Expired: m == nil}
	if m == nil {
		return dl
	}
	if p, err := bus.ParseDeadLetter(m.Subject, m.Header); err == nil {
		dl.Reason, dl.Error, dl.Attempts = p.Reason, p.Error, p.Attempts
		if !p.FailedAt.IsZero() {
			at := p.FailedAt.UTC()
			dl.FailedAt = &at
		}
	}
	return dl
}

// readItem is the Track item st, read back as m (nil: gone): open while
// MENDFLOW_TRACKING holds it, ended once it does not, with its last poll
// recorded (items) and the completion event that poll stored.
func readItem(ctx context.Context, st Stored, m *jetstream.RawStreamMsg, items map[uint64]Record, stream func(string) (jetstream.Stream, error), t *Trace) Item {
	it := Item{ID: st.ID, Seq: st.Seq, State: StateOpen}
	if m != nil {
		it.Follows = m.Data
		var tr events.Track
		if json.Unmarshal(m.Data, &tr) == nil {
			it.Kind = tr.Kind
		}
	}
	rec, polled := items[st.Seq]
	if polled {
		it.Kind = cmp.Or(rec.Name, it.Kind)
		last := rec.Attempt
		it.LastPoll = &last
	}
	if m == nil { // its last poll was recorded before it left the stream
		it.State = StateEnded
		if it.LastPoll != nil {
			it.LastPoll.Next = nil
		}
		final := polled && (rec.Attempt.Outcome == bus.OutcomeSuccess || rec.Attempt.Outcome == bus.OutcomeFailed)
		t.unsettled = t.unsettled || !final
	}
	if polled {
		for _, done := range rec.Stored {
			if done.Stream != events.StreamEvents {
				continue
			}
			s, err := stream(done.Stream)
			if err != nil {
				t.Notes = append(t.Notes, err.Error())
				continue
			}
			cm, err := s.GetMsg(ctx, done.Seq)
			if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
				t.Notes = append(t.Notes, fmt.Sprintf("stream %s seq %d: %v", done.Stream, done.Seq, err))
				continue
			}
			ev := readEvent(done, cm)
			it.Completion = &ev
		}
	}
	return it
}

// records reads the records of the chain id; none when the bucket does
// not exist yet.
func records(ctx context.Context, js Reader, id string) ([]Record, error) {
	kv, err := js.KeyValue(ctx, Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", Bucket, err)
	}
	w, err := kv.Watch(ctx, chainPattern(id), jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", Bucket, err)
	}
	defer func() { _ = w.Stop() }()
	var out []Record
	for {
		select {
		case e := <-w.Updates():
			if e == nil { // all there is, so far
				return out, nil
			}
			var r Record
			if json.Unmarshal(e.Value(), &r) == nil && r.Correlation == id {
				out = append(out, r)
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// queuedCmd is a command of the chain that MENDFLOW_COMMANDS holds.
type queuedCmd struct {
	seq       uint64
	subject   string
	published time.Time
	ev        event.Event
	incoming  *Incoming
}

// scan reads the work-queue stream s, by sequence (a second consumer may
// not share a work queue), for the commands of the chain id it holds: not
// yet delivered, or to be delivered again. It looks at maxScan messages
// at most, and says whether it stopped there.
func scan(ctx context.Context, s jetstream.Stream, id string) (found []queuedCmd, truncated bool, err error) {
	info, err := s.Info(ctx)
	if err != nil {
		return nil, false, err
	}
	seq := info.State.FirstSeq
	for n := 0; info.State.Msgs > 0 && seq <= info.State.LastSeq; n++ {
		if n == maxScan {
			return found, true, nil
		}
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(">"))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return nil, false, fmt.Errorf("stream %s seq %d: %w", info.Config.Name, seq, err)
		}
		seq = m.Sequence + 1
		if corr := headerValue(m.Header, "ce-"+events.ExtCorrelationID); corr != id && (corr != "" || headerValue(m.Header, "ce-id") != id) {
			continue
		}
		e, err := bus.FromMsg(&nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data})
		if err != nil {
			continue
		}
		found = append(found, queuedCmd{seq: m.Sequence, subject: m.Subject, published: m.Time.UTC(), ev: e, incoming: incomingOf(m.Header)})
	}
	return found, false, nil
}
