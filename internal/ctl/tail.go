package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/pkg/events"
)

// tailFilter selects the result events tail prints.
type tailFilter struct {
	typ, subject string          // globs; empty: any
	correlation  map[string]bool // empty: any
}

func (f tailFilter) match(e event.Event) bool {
	if f.typ != "" {
		if ok, _ := path.Match(f.typ, e.Type()); !ok {
			return false
		}
	}
	if f.subject != "" {
		if ok, _ := path.Match(f.subject, e.Subject()); !ok {
			return false
		}
	}
	return len(f.correlation) == 0 || f.correlation[events.Extension(e, events.ExtCorrelationID)]
}

// natsSubject is the subject filter the server can apply for the type
// glob: an exact type has one subject; anything else is filtered here.
func (f tailFilter) natsSubject() string {
	if f.typ != "" && !strings.ContainsAny(f.typ, `*?[\`) {
		return events.ResultSubject(f.typ)
	}
	return events.ResultSubject("io.mendflow.>")
}

// tail follows MENDFLOW_EVENTS with an ordered consumer (ephemeral, nothing
// to clean up) and prints the events that match, until ctx ends, -n events
// were printed or -timeout passed.
func tail(ctx context.Context, s *settings, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("events tail", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	since := fs.Duration("since", 0, "start with the events of this last while (default: only new events)")
	all := fs.Bool("all", false, "start with the first event the stream holds")
	typ := fs.String("type", "", "only events whose type matches this glob (io.mendflow.project.*)")
	correlation := fs.String("correlation", "", "only events of these correlation ids, comma-separated")
	subject := fs.String("subject", "", "only events whose subject attribute matches this glob")
	count := fs.Int("n", 0, "stop after this many events (0: no limit)")
	timeout := fs.Duration("timeout", 0, "stop after this long (0: no limit); with -n, fewer events is an error")
	asJSON := fs.Bool("json", false, "print each event as one line of structured CloudEvent JSON")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *since < 0 || (*all && *since > 0) || *count < 0 || *timeout < 0 {
		return errUsage
	}
	if _, err := path.Match(*typ, ""); err != nil {
		return fmt.Errorf("-type: %w", err)
	}
	if _, err := path.Match(*subject, ""); err != nil {
		return fmt.Errorf("-subject: %w", err)
	}
	f := tailFilter{typ: *typ, subject: *subject, correlation: map[string]bool{}}
	for id := range strings.SplitSeq(*correlation, ",") {
		if id = strings.TrimSpace(id); id != "" {
			f.correlation[id] = true
		}
	}

	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{f.natsSubject()}, DeliverPolicy: jetstream.DeliverNewPolicy}
	switch {
	case *all:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	case *since > 0:
		start := time.Now().Add(-*since)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}

	nc, js, err := connectNATS(s)
	if err != nil {
		return err
	}
	defer nc.Close()
	printed := 0
	err = follow(ctx, js, cfg, func(e event.Event) error {
		if !f.match(e) {
			return nil
		}
		if err := printEvent(out, e, *asJSON); err != nil {
			return err
		}
		printed++
		if printed == *count {
			return errDone
		}
		return nil
	})
	switch {
	case errors.Is(err, errDone):
		return nil
	case err != nil:
		return err
	case *count > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("timeout after %v: %d of %d events", *timeout, printed, *count)
	}
	return nil
}

// errDone ends follow early without an error.
var errDone = errors.New("done")

// follow hands each result event of an ordered consumer on MENDFLOW_EVENTS
// to fn until ctx ends (nil) or fn fails (its error).
func follow(ctx context.Context, js jetstream.JetStream, cfg jetstream.OrderedConsumerConfig, fn func(event.Event) error) error {
	return bus.ReadEvents(ctx, js, events.StreamEvents, cfg, false, func(_ uint64, e event.Event) error { return fn(e) })
}

// printEvent prints one line: the event as JSON, or its time, type, id,
// correlation id and a summary of its data.
func printEvent(out io.Writer, e event.Event, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(out, "%s  %-32s  %s  correlation=%s  %s\n",
		e.Time().Local().Format("15:04:05.000"), e.Type(), e.ID(), events.Extension(e, events.ExtCorrelationID), summary(e.Data(), 240))
	return err
}

// summary writes JSON data as key=value pairs in their order, objects and
// arrays as compact JSON, cut at max bytes.
func summary(data []byte, max int) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return excerpt(string(bytes.TrimSpace(data)), max)
	}
	var b strings.Builder
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			break
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			break
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		var str string
		if json.Unmarshal(v, &str) != nil {
			var c bytes.Buffer
			if json.Compact(&c, v) == nil {
				v = c.Bytes()
			}
			str = string(v)
		}
		fmt.Fprintf(&b, "%s=%s", key, str)
	}
	return excerpt(b.String(), max)
}
