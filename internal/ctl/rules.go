package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/internal/routing"
	"github.com/mendflow/mendflow/pkg/events"
)

// rulesTest routes the events of a file by a rules file (or the built-in
// rules) here, with no NATS and no ingest, and prints the commands each
// would produce. It fails when the rules file or an event is refused, as
// ingest would refuse them.
func rulesTest(_ context.Context, _ *settings, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("rules test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	rulesFile := fs.String("rules", "", "rules file (default: the built-in rules)")
	eventFile := fs.String("event", "", "a CloudEvent in structured JSON, or a batch (JSON array)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *eventFile == "" {
		return errUsage
	}
	reg := events.NewRegistry()
	router, err := routing.New(reg)
	if *rulesFile != "" {
		router, err = routing.Load(*rulesFile, reg)
	}
	if err != nil {
		return err
	}
	evs, err := readEvents(*eventFile)
	if err != nil {
		return err
	}
	var failed error
	for _, e := range evs {
		cmds, err := router.Route(e)
		fmt.Fprintf(out, "event %s (%s, source %s): ", e.ID(), e.Type(), e.Source())
		switch {
		case err != nil:
			fmt.Fprintf(out, "refused: %v\n", err)
			failed = errors.Join(failed, fmt.Errorf("event %s: %w", e.ID(), err))
			continue
		case len(cmds) == 0:
			fmt.Fprintln(out, "ignored (no rule matched, or an ignore rule did)")
			continue
		}
		fmt.Fprintf(out, "%d command(s)\n", len(cmds))
		for _, c := range cmds {
			data, err := json.Marshal(c.Data)
			if err != nil {
				return fmt.Errorf("event %s: command %s: %w", e.ID(), c.Name, err)
			}
			fmt.Fprintf(out, "  %s  on %s  %s\n", c.Name, events.CommandSubject(c.Name), data)
		}
	}
	return failed
}

// readEvents reads a file of one CloudEvent in structured JSON, or of a
// JSON array of them (a batch), each validated.
func readEvents(name string) ([]event.Event, error) {
	b, err := readJSONFile(name)
	if err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		if err := json.Unmarshal(b, &raws); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	} else {
		raws = []json.RawMessage{b}
	}
	evs := make([]event.Event, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &evs[i]); err != nil {
			return nil, fmt.Errorf("%s: event %d: %w", name, i, err)
		}
		if err := evs[i].Validate(); err != nil {
			return nil, fmt.Errorf("%s: event %d: %w", name, i, err)
		}
	}
	return evs, nil
}
