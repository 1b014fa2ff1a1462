// Package trail keeps and reads the trail of an incoming event through the
// pipeline, for mendflowctl trace and ingest's GET /events/{id}/trace: the
// commands it queued, each delivery of each with its outcome and the Mend
// calls it made, the result events, dead letters and Track items they
// stored, and what the poller still follows.
//
// The trail is what the pipeline keeps anyway (the streams), plus one small
// record per delivery that the worker's and the poller's runners write to
// the key-value bucket MENDFLOW_TRACE (Recorder). A command acknowledged
// leaves the work-queue stream MENDFLOW_COMMANDS, so its records are what
// remains of it; the records name the stream sequences of what each
// delivery stored, which are read back by sequence (Build).
//
// Keys are chain.<H>.cmd.<seq>.<attempt> for a delivery of a command and
// chain.<H>.item.<seq>.<poll> for a poll of a Track item, where H is the
// first 128 bits of the SHA-256 of the chain's correlation id in hex (an
// id may hold any character; a key may not) and seq the message's sequence
// in its stream: listing chain.<H>.> finds the whole chain.
package trail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/redact"
)

// Bucket is the key-value bucket of the delivery records.
const Bucket = "MENDFLOW_TRACE"

// Config is how long the trail's records are kept.
type Config struct {
	// TTL is how long the bucket keeps a record; the streams keep the
	// rest of the trail by their own limits.
	TTL time.Duration `env:"TRACE_TTL, default=168h"`
}

// Validate implements config.Validator.
func (c Config) Validate() error {
	if c.TTL < time.Minute {
		return fmt.Errorf("TRACE_TTL: must be at least 1m, not %v", c.TTL)
	}
	return nil
}

// maxValueSize bounds a record; Recorder keeps them far smaller.
const maxValueSize = 64 << 10

// OpenBucket creates the bucket, or updates its TTL and replicas, and
// returns it. The worker and the poller open it; readers look it up.
func OpenBucket(ctx context.Context, js jetstream.KeyValueManager, cfg Config, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:       Bucket,
		Description:  "mendflow: a record of each delivery of a command or Track item, for mendflowctl trace",
		TTL:          cfg.TTL,
		MaxValueSize: maxValueSize,
		Storage:      jetstream.FileStorage,
		Replicas:     replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", Bucket, err)
	}
	return kv, nil
}

// Kinds of record, the third token of its key.
const (
	KindCommand = "cmd"
	KindItem    = "item"
)

// chainKey is the token that stands for a correlation id in keys.
func chainKey(correlation string) string {
	sum := sha256.Sum256([]byte(correlation))
	return hex.EncodeToString(sum[:16])
}

// chainPattern matches every key of a chain.
func chainPattern(correlation string) string { return "chain." + chainKey(correlation) + ".>" }

// recordKey is the key of the record of one delivery. No record is ever
// overwritten: a watch of a chain's keys may miss a key written again
// while it reads them.
func recordKey(correlation, kind string, seq uint64, attempt int) string {
	return "chain." + chainKey(correlation) + "." + kind + "." + strconv.FormatUint(seq, 10) + "." + strconv.Itoa(attempt)
}

// Headers ingest sets on each command it queues, saying what the incoming
// event was: ingest keeps no other copy of it, and a command's headers
// stay with it to its record and its dead letter.
const (
	HeaderEventType   = "Mendflow-Event-Type"
	HeaderEventSource = "Mendflow-Event-Source"
)

// maxMarked bounds a value MarkIncoming sets: a command's headers must
// keep room for what the messages derived from it add.
const maxMarked = 256

// MarkIncoming sets on h, the headers of a command, the type and source
// of in, its incoming event, each cut to maxMarked bytes; the source
// without the credentials, query and fragment a URL may carry. A value a
// header cannot hold (a line break) is left out.
func MarkIncoming(h nats.Header, in event.Event) {
	for _, kv := range [...][2]string{{HeaderEventType, in.Type()}, {HeaderEventSource, redact.URL(in.Source())}} {
		v := kv[1]
		if v == "" || strings.ContainsAny(v, "\r\n") {
			continue
		}
		if len(v) > maxMarked {
			v = strings.ToValidUTF8(v[:maxMarked], "") + "…"
		}
		h[kv[0]] = []string{v}
	}
}

// incomingOf is what the headers of a command say of its incoming event.
func incomingOf(h nats.Header) *Incoming {
	in := &Incoming{Type: headerValue(h, HeaderEventType), Source: headerValue(h, HeaderEventSource)}
	if in.Type == "" && in.Source == "" {
		return nil
	}
	return in
}
