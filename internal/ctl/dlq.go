package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/pkg/events"
)

// dlq works on the dead-letter stream.
type dlq struct {
	js     jetstream.JetStream
	stream jetstream.Stream
}

// withDLQ connects to NATS and the dead-letter stream for a dlq subcommand.
func withDLQ(run func(*dlq, context.Context, []string, io.Writer) error) subcommand {
	return func(ctx context.Context, s *settings, args []string, out io.Writer) error {
		nc, js, err := connectNATS(s)
		if err != nil {
			return err
		}
		defer nc.Close()
		d := &dlq{js: js}
		if d.stream, err = js.Stream(ctx, events.StreamDLQ); err != nil {
			return fmt.Errorf("stream %s: %w", events.StreamDLQ, err)
		}
		return run(d, ctx, args, out)
	}
}

// deadLetter is one message of the dead-letter stream, read.
type deadLetter struct {
	msg *jetstream.RawStreamMsg
	bus.DeadLetter
}

func (dl deadLetter) id() string { return dl.msg.Header.Get("ce-id") }

// get reads the dead letter at seq.
func (d *dlq) get(ctx context.Context, seq uint64) (deadLetter, error) {
	m, err := d.stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return deadLetter{}, fmt.Errorf("no dead letter %d", seq)
	}
	if err != nil {
		return deadLetter{}, fmt.Errorf("dead letter %d: %w", seq, err)
	}
	return read(m)
}

func read(m *jetstream.RawStreamMsg) (deadLetter, error) {
	info, err := bus.ParseDeadLetter(m.Subject, m.Header)
	if err != nil {
		return deadLetter{}, fmt.Errorf("dead letter %d: %w", m.Sequence, err)
	}
	return deadLetter{msg: m, DeadLetter: info}, nil
}

// all reads every dead letter, of one command when command is not empty,
// oldest first.
func (d *dlq) all(ctx context.Context, command string) ([]deadLetter, error) {
	subject := events.DLQSubject(">")
	if command != "" {
		subject = events.DLQSubject(command)
	}
	var out []deadLetter
	for seq := uint64(1); ; {
		m, err := d.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", events.StreamDLQ, err)
		}
		dl, err := read(m)
		if err != nil {
			return nil, err
		}
		out = append(out, dl)
		seq = m.Sequence + 1
	}
}

// list prints one line per dead letter.
func (d *dlq) list(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("dlq list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	command := fs.String("command", "", "only the dead letters of this command")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	dls, err := d.all(ctx, *command)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tCOMMAND\tID\tREASON\tATTEMPTS\tFAILED AT\tERROR")
	for _, dl := range dls {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", dl.msg.Sequence, dl.Command, dl.id(), dl.Reason, dl.Attempts,
			dl.FailedAt.Format(time.RFC3339), excerpt(dl.Error, 80))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(dls) == 0 {
		fmt.Fprintln(out, "no dead letters")
	}
	return nil
}

// inspect prints a dead letter in full: why it failed, the command's
// attributes and its data.
func (d *dlq) inspect(ctx context.Context, args []string, out io.Writer) error {
	if len(args) != 1 {
		return errUsage
	}
	seq, err := strconv.ParseUint(args[0], 10, 64)
	if err != nil {
		return fmt.Errorf("inspect: %q is not a sequence number", args[0])
	}
	dl, err := d.get(ctx, seq)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 1, ' ', 0)
	for _, row := range [][2]string{
		{"sequence", strconv.FormatUint(dl.msg.Sequence, 10)},
		{"subject", dl.msg.Subject},
		{"command", dl.Command},
		{"reason", dl.Reason},
		{"attempts", strconv.Itoa(dl.Attempts)},
		{"failed at", dl.FailedAt.Format(time.RFC3339Nano)},
		{"error", dl.Error},
		{"command seq", strconv.FormatUint(dl.CommandSeq, 10) + " in " + events.StreamCommands},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	if dl.Omitted != "" {
		fmt.Fprintf(tw, "omitted:\t%s\n", dl.Omitted)
	}
	for _, k := range sortedKeys(dl.msg.Header) {
		if name, ok := strings.CutPrefix(strings.ToLower(k), "ce-"); ok {
			fmt.Fprintf(tw, "%s:\t%s\n", name, dl.msg.Header.Get(k))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "data:")
	var pretty bytes.Buffer
	if json.Indent(&pretty, dl.msg.Data, "  ", "  ") == nil {
		fmt.Fprintf(out, "  %s\n", pretty.String())
	} else {
		fmt.Fprintf(out, "  %q\n", dl.msg.Data)
	}
	return nil
}

// replay queues the commands of dead letters again and removes the dead
// letters, unless -keep. Each replay's Nats-Msg-Id is derived from the
// dead letter, so replaying one twice queues it once.
func (d *dlq) replay(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("dlq replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	all := fs.Bool("all", false, "replay every dead letter")
	keep := fs.Bool("keep", false, "keep the dead letters")
	if err := fs.Parse(args); err != nil || (*all == (fs.NArg() > 0)) {
		return errUsage
	}
	var dls []deadLetter
	if *all {
		var err error
		if dls, err = d.all(ctx, ""); err != nil {
			return err
		}
	}
	for _, a := range fs.Args() {
		seq, err := strconv.ParseUint(a, 10, 64)
		if err != nil {
			return fmt.Errorf("replay: %q is not a sequence number", a)
		}
		dl, err := d.get(ctx, seq)
		if err != nil {
			return err
		}
		dls = append(dls, dl)
	}
	pub := bus.NewPublisher(d.js)
	for _, dl := range dls {
		seq := dl.msg.Sequence
		m, err := bus.ReplayMsg(&nats.Msg{Subject: dl.msg.Subject, Header: dl.msg.Header, Data: dl.msg.Data}, seq)
		if err != nil {
			return err
		}
		m.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s:replay:%d", dl.id(), seq))
		ack, err := pub.Publish(ctx, m)
		if err != nil {
			return fmt.Errorf("replaying dead letter %d: %w", seq, err)
		}
		what := "replayed"
		if ack.Duplicate {
			what = "already replayed"
		}
		if !*keep {
			if err := d.stream.DeleteMsg(ctx, seq); err != nil {
				return fmt.Errorf("removing dead letter %d: %w", seq, err)
			}
		}
		fmt.Fprintf(out, "%s dead letter %d (%s %s) to %s\n", what, seq, dl.Command, dl.id(), m.Subject)
	}
	if len(dls) == 0 {
		fmt.Fprintln(out, "no dead letters")
	}
	return nil
}

func excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func sortedKeys(h nats.Header) []string { return slices.Sorted(maps.Keys(h)) }
