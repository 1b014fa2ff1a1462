package reconcile

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/pkg/events"
)

// CommandSource is the source of the commands a reconcile queues.
const CommandSource = "urn:mendflow:reconcile"

// Queue stores the commands of changes on MENDFLOW_COMMANDS through pub.
// Each command's CloudEvent id, and so its Nats-Msg-Id and the causationid
// of its result, is its change's id: queuing a change again within the
// stream's duplicate window (STREAM_DEDUP_WINDOW) stores nothing, whoever
// queues it (mendflowctl reconcile apply, the reconcile command, a rerun
// after a crash). link ties the commands to the reconcile command that
// queues them; the zero Link starts a chain whose correlationid is
// correlation. It returns the ids stored, duplicates among them (dups), in
// the order of changes; on failure, those stored before it.
func Queue(ctx context.Context, pub *bus.Publisher, changes []Change, link bus.Link, correlation string) (stored []string, dups int, err error) {
	out := make([]*bus.Outgoing, 0, len(changes))
	now := time.Now().UTC()
	for _, c := range changes {
		e, err := bus.NewEvent(c.ID, CommandSource, events.CommandType(c.Command), c.Data)
		if err != nil {
			return nil, 0, err
		}
		e.SetTime(now)
		e.SetSubject(c.Target)
		if correlation != "" {
			e.SetExtension(events.ExtCorrelationID, correlation)
		}
		m, err := bus.EventMsg(ctx, events.CommandSubject(c.Command), e, link, c.ID)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, &bus.Outgoing{Msg: m})
	}
	err = pub.PublishAll(ctx, out)
	for i, o := range out {
		if o.Ack != nil {
			stored = append(stored, changes[i].ID)
			if o.Ack.Duplicate {
				dups++
			}
		}
	}
	return stored, dups, err
}

// Result is what a result event says of the command it answers.
type Result struct {
	// CommandID is the id of the command it answers (its causationid).
	CommandID string
	Type      string
	// Failed is set for io.mendflow.command.failed and the poller's
	// failures; Why then says why.
	Failed bool
	Why    string
}

// ResultOf reads a result event. Any event of MENDFLOW_EVENTS answers a
// command, the poller's completions the command that started what they
// follow.
func ResultOf(e event.Event) Result {
	r := Result{CommandID: events.Extension(e, events.ExtCausationID), Type: e.Type()}
	switch e.Type() {
	case events.TypeCommandFailed, events.TypePoliciesFailed, events.TypeRequestFailed:
		r.Failed = true
		var d struct {
			CommandID string `json:"commandId"`
			Reason    string `json:"reason"`
			Error     string `json:"error"`
			Status    string `json:"status"`
			Detail    string `json:"detail"`
		}
		_ = json.Unmarshal(e.Data(), &d) // a failure without data still failed
		if r.CommandID == "" {
			r.CommandID = d.CommandID // a dead letter too large for its extensions
		}
		var why []string
		for _, s := range []string{d.Reason, d.Status, d.Error, d.Detail} {
			if s != "" {
				why = append(why, s)
			}
		}
		r.Why = strings.Join(why, ": ")
		if r.Why == "" {
			r.Why = e.Type()
		}
	}
	return r
}

// From is where reading results starts: at the sequence Seq of
// MENDFLOW_EVENTS, or when Seq is 0 at the first event stored at or after
// Time.
type From struct {
	Seq  uint64
	Time time.Time
}

// ReadResults hands fn the result of each event of MENDFLOW_EVENTS from
// from and before the sequence until (0: no end), until it has read every
// event the stream holds (caughtUp) or ctx ends; it returns the sequence
// after the last event read (0 when none).
func ReadResults(ctx context.Context, js jetstream.JetStream, from From, until uint64, caughtUp bool, fn func(Result)) (uint64, error) {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from.Seq}
	if from.Seq == 0 {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &from.Time}
	}
	var next uint64
	err := bus.ReadEvents(ctx, js, events.StreamEvents, cfg, caughtUp, func(seq uint64, e event.Event) error {
		if until > 0 && seq >= until {
			return bus.ErrStopReading
		}
		next = seq + 1
		fn(ResultOf(e))
		return nil
	})
	return next, err
}

// EventsEnd is the sequence the next event of MENDFLOW_EVENTS will have:
// where reading the results of commands queued from now on starts.
func EventsEnd(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	s, err := js.Stream(ctx, events.StreamEvents)
	if err != nil {
		return 0, err
	}
	return s.CachedInfo().State.LastSeq + 1, nil
}

// DedupWindow is how long MENDFLOW_COMMANDS remembers a command's id.
func DedupWindow(ctx context.Context, js jetstream.JetStream) (time.Duration, error) {
	s, err := js.Stream(ctx, events.StreamCommands)
	if err != nil {
		return 0, err
	}
	return s.CachedInfo().Config.Duplicates, nil
}
