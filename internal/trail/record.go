package trail

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/redact"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// recordVersion is the version of Record's shape.
const recordVersion = 1

// Record is what the bucket keeps of one delivery, of a command or of a
// Track item (a poll), each under a key of its own.
type Record struct {
	Version int `json:"v"`
	// Kind is KindCommand or KindItem.
	Kind        string `json:"kind"`
	Correlation string `json:"correlationId"`
	Causation   string `json:"causationId,omitempty"`
	// ID, Type and Subject are the delivered event's; Name what its
	// handler called it (the command's name, the item's kind).
	ID      string `json:"id"`
	Type    string `json:"type"`
	Subject string `json:"subject"`
	Name    string `json:"name,omitempty"`
	// Seq is the message's sequence in its stream, Published when it was
	// stored there.
	Seq       uint64    `json:"seq"`
	Published time.Time `json:"published"`
	// Incoming is what ingest said of the incoming event (see
	// MarkIncoming); nil for a command it did not queue.
	Incoming *Incoming `json:"incoming,omitempty"`
	Attempt
}

// Attempt is one delivery and how it ended.
type Attempt struct {
	// Attempt counts the deliveries of the message, 1 for the first (of
	// an item: its polls).
	Attempt int       `json:"attempt"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
	// Outcome is one of bus's outcomes (success, retry, failed,
	// handed_back); Reason why it was retried or given up.
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
	// Error is what failed, redacted and cut to maxError bytes.
	Error string `json:"error,omitempty"`
	// Next is when a delivery retried comes again.
	Next *time.Time `json:"next,omitempty"`
	// Mend is the calls to Mend the delivery made, every attempt of each;
	// MendOmitted counts those beyond maxCalls, left out.
	Mend        []MendCall `json:"mend,omitempty"`
	MendOmitted int        `json:"mendOmitted,omitempty"`
	// Stored is what the delivery published.
	Stored []Stored `json:"stored,omitempty"`
}

// MendCall is one attempt of a Mend call.
type MendCall struct {
	Operation  string  `json:"operation"`
	Attempt    int     `json:"attempt"`
	Status     int     `json:"status,omitempty"`
	ErrorCode  int     `json:"errorCode,omitempty"`
	DurationMS float64 `json:"durationMs"`
	Error      string  `json:"error,omitempty"`
}

// Stored is a message a delivery stored: where, and the event's id and type.
type Stored struct {
	Stream  string `json:"stream"`
	Subject string `json:"subject"`
	Seq     uint64 `json:"seq"`
	ID      string `json:"id,omitempty"`
	Type    string `json:"type,omitempty"`
}

// Bounds that keep a record small whatever a delivery did.
const (
	maxCalls = 50
	maxError = 1024
)

// clip is an error's text, redacted, on one line, cut to maxError bytes.
func clip(err error) string {
	if err == nil {
		return ""
	}
	s := strings.Join(strings.Fields(redact.Error(err).Error()), " ")
	if len(s) > maxError {
		s = strings.ToValidUTF8(s[:maxError], "") + "…"
	}
	return s
}

// Putter is what a Recorder needs of a jetstream.KeyValue.
type Putter interface {
	Put(ctx context.Context, key string, value []byte) (uint64, error)
}

// Recorder is the bus.Recorder of the worker (kind KindCommand) and of the
// poller (KindItem): it collects, in the delivery's context, the Mend calls
// and the messages stored, and puts the record once the delivery ended. A
// record not written is logged and counted, and the delivery goes on.
type Recorder struct {
	kv      Putter
	kind    string
	timeout time.Duration
	log     *slog.Logger
	failed  prometheus.Counter
}

// NewRecorder returns a recorder of deliveries of kind into kv. It
// registers on reg the count of records not written,
// mendflow_trace_record_failures_total.
func NewRecorder(kv Putter, kind string, logger *slog.Logger, reg prometheus.Registerer) (*Recorder, error) {
	failed := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mendflow_trace_record_failures_total",
		Help: "Delivery records that could not be written to the " + Bucket + " bucket; the deliveries went on.",
	})
	if err := reg.Register(failed); err != nil {
		return nil, err
	}
	return &Recorder{kv: kv, kind: kind, timeout: 2 * time.Second, log: logger, failed: failed}, nil
}

// delivery is what a delivery did, collected while it runs.
type delivery struct {
	started time.Time
	mu      sync.Mutex
	calls   []MendCall
	omitted int
	stored  []Stored
}

type deliveryKey struct{}

// Begin implements bus.Recorder.
func (r *Recorder) Begin(ctx context.Context, _ *bus.Delivery) context.Context {
	dl := &delivery{started: time.Now()}
	ctx = context.WithValue(ctx, deliveryKey{}, dl)
	ctx = mend.ObserveAttempts(ctx, dl.call)
	return bus.ObserveStored(ctx, dl.store)
}

func (dl *delivery) call(a mend.Attempted) {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	if len(dl.calls) == maxCalls {
		dl.omitted++
		return
	}
	dl.calls = append(dl.calls, MendCall{
		Operation: a.Operation, Attempt: a.Attempt, Status: a.Status, ErrorCode: a.ErrorCode,
		DurationMS: float64(a.Duration.Microseconds()) / 1000, Error: clip(a.Err),
	})
}

func (dl *delivery) store(m *nats.Msg, ack *jetstream.PubAck) {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	dl.stored = append(dl.stored, Stored{
		Stream: ack.Stream, Subject: m.Subject, Seq: ack.Sequence,
		ID: headerValue(m.Header, "ce-id"), Type: headerValue(m.Header, "ce-type"),
	})
}

// headerValue is the value of the header named key, whatever the case
// of its name: the bus writes ce- headers in lower case.
func headerValue(h nats.Header, key string) string {
	if v, ok := h[key]; ok && len(v) > 0 {
		return v[0]
	}
	for k, v := range h {
		if strings.EqualFold(k, key) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// End implements bus.Recorder: it writes the record within a short
// timeout, even while the runner stops.
func (r *Recorder) End(ctx context.Context, d *bus.Delivery, end bus.Ending) {
	dl, _ := ctx.Value(deliveryKey{}).(*delivery)
	if dl == nil {
		return
	}
	rec := r.record(d, end, dl, time.Now())
	value, err := json.Marshal(rec)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
		_, err = r.kv.Put(ctx, recordKey(rec.Correlation, r.kind, rec.Seq, rec.Attempt.Attempt), value)
		cancel()
	}
	if err != nil {
		r.failed.Inc()
		r.log.WarnContext(ctx, "the delivery's record for mendflowctl trace was not written", "bucket", Bucket,
			"id", d.Event.ID(), "seq", d.Seq, "attempt", d.Attempt, "error", err)
	}
}

// record is the record of the delivery d that ended as end.
func (r *Recorder) record(d *bus.Delivery, end bus.Ending, dl *delivery, now time.Time) Record {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	rec := Record{
		Version:     recordVersion,
		Kind:        r.kind,
		Correlation: cmp.Or(events.Extension(d.Event, events.ExtCorrelationID), d.Event.ID()),
		Causation:   events.Extension(d.Event, events.ExtCausationID),
		ID:          d.Event.ID(),
		Type:        d.Event.Type(),
		Subject:     d.Msg.Subject(),
		Name:        d.Label,
		Seq:         d.Seq,
		Published:   d.Published.UTC(),
		Incoming:    incomingOf(d.Msg.Headers()),
		Attempt: Attempt{
			Attempt: d.Attempt, Started: dl.started.UTC(), Ended: now.UTC(),
			Outcome: end.Outcome, Reason: end.Reason, Error: clip(end.Err),
			Mend: dl.calls, MendOmitted: dl.omitted, Stored: dl.stored,
		},
	}
	if end.Outcome == bus.OutcomeRetry {
		next := now.Add(end.Delay).UTC()
		rec.Next = &next
	}
	return rec
}
