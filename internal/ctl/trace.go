package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mendflow/mendflow/internal/trail"
)

// traceCmd prints the chain of an incoming event (trail.Build): once, or,
// with -follow, then what arrives until the chain ends or ctx does.
func traceCmd(ctx context.Context, s *settings, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print the trace as JSON (with -follow: one document a line, each time it changes)")
	follow := fs.Bool("follow", false, "keep printing what arrives until the chain ends")
	every := fs.Duration("interval", time.Second, "with -follow: how often to look again")
	// The id comes first or last: flag stops at the first argument.
	id, flags := "", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, flags = args[0], args[1:]
	}
	if err := fs.Parse(flags); err != nil || *every <= 0 {
		return errUsage
	}
	switch {
	case id == "" && fs.NArg() == 1:
		id = fs.Arg(0)
	case fs.NArg() > 0 || id == "":
		return errUsage
	}
	nc, js, err := connectNATS(s)
	if err != nil {
		return err
	}
	defer nc.Close()

	t, err := trail.Build(ctx, js, id)
	switch {
	case errors.Is(err, trail.ErrUnknown) && *follow:
		if !*asJSON {
			if _, err := fmt.Fprintf(out, "nothing is known of %s yet; waiting\n", id); err != nil {
				return err
			}
		}
	case errors.Is(err, trail.ErrUnknown):
		return fmt.Errorf("%s: %w (its records are kept for TRACE_TTL; commands and results for the streams' limits)", id, err)
	case err != nil:
		return err
	default:
		if err := printTrace(out, t, *asJSON); err != nil {
			return err
		}
	}
	if !*follow || (t != nil && t.Ended) {
		return nil
	}
	return followTrace(ctx, js, id, t, *every, *asJSON, out)
}

// followTrace builds the trace of id every while, from t as printed (nil:
// none yet), and prints what is new: the lines of the facts not printed
// yet, or the whole JSON document when it changed. It returns once the
// chain ended, or nil when ctx ends (Ctrl-C).
func followTrace(ctx context.Context, js trail.Reader, id string, t *trail.Trace, every time.Duration, asJSON bool, out io.Writer) error {
	seen := map[string]bool{}
	last, _ := json.Marshal(t)
	if t != nil {
		for _, f := range facts(t) {
			seen[f.key] = true
		}
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		t, err := trail.Build(ctx, js, id)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, trail.ErrUnknown):
			continue
		case err != nil:
			return err
		}
		var b bytes.Buffer
		if asJSON {
			doc, err := json.Marshal(t)
			if err != nil {
				return err
			}
			if !bytes.Equal(doc, last) {
				b.Write(doc)
				b.WriteByte('\n')
				last = doc
			}
		} else {
			for _, f := range facts(t) {
				if !seen[f.key] {
					seen[f.key] = true
					b.WriteString(f.line + "\n")
				}
			}
			if t.Ended {
				b.WriteString("chain ended\n")
			}
		}
		if _, err := out.Write(b.Bytes()); err != nil || t.Ended {
			return err
		}
	}
}

// printTrace prints t as a tree, or as one JSON document.
func printTrace(out io.Writer, t *trail.Trace, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	}
	root := node{text: eventLine(t.Event)}
	for _, c := range t.Commands {
		root.children = append(root.children, commandNode(c))
	}
	var b strings.Builder
	root.write(&b, "", "")
	for _, n := range t.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	if t.Ended {
		b.WriteString("chain ended\n")
	} else {
		b.WriteString("chain open\n")
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// node is a line of the tree, with lines of detail under it and the
// nodes it holds.
type node struct {
	text     string
	detail   []string
	children []node
}

func (n node) write(b *strings.Builder, first, rest string) {
	fmt.Fprintf(b, "%s%s\n", first, n.text)
	bar := rest + "   "
	if len(n.children) > 0 {
		bar = rest + "│  "
	}
	for _, d := range n.detail {
		fmt.Fprintf(b, "%s%s\n", bar, d)
	}
	for i, c := range n.children {
		if i == len(n.children)-1 {
			c.write(b, rest+"└─ ", rest+"   ")
		} else {
			c.write(b, rest+"├─ ", rest+"│  ")
		}
	}
}

// eventLine is the incoming event: its id, and what its commands say of
// its type, source and arrival.
func eventLine(e trail.Incoming) string {
	s := "event " + e.ID
	if e.Type != "" {
		s += "  " + e.Type
	}
	if e.Source != "" {
		s += "  from " + e.Source
	}
	if e.Received != nil {
		s += "  received " + clock(*e.Received)
	}
	return s
}

func commandNode(c trail.Command) node {
	n := node{
		text:   fmt.Sprintf("command %s  seq %d  %s", c.Name, c.Seq, c.State),
		detail: []string{"id " + c.ID + "  published " + clock(c.Published)},
	}
	for _, a := range c.Attempts {
		n.children = append(n.children, attemptNode("attempt", a))
	}
	for _, r := range c.Results {
		n.children = append(n.children, node{text: resultLine(r)})
	}
	if dl := c.DeadLetter; dl != nil {
		n.children = append(n.children, node{text: deadLetterLine(dl)})
	}
	for _, it := range c.Items {
		n.children = append(n.children, itemNode(it))
	}
	return n
}

// attemptNode is a delivery (what "attempt" or "poll") with its Mend calls.
func attemptNode(what string, a trail.Attempt) node {
	n := node{text: attemptLine(what, a)}
	if a.Error != "" {
		n.detail = append(n.detail, "error: "+a.Error)
	}
	for _, m := range a.Mend {
		n.children = append(n.children, node{text: mendLine(m)})
	}
	if a.MendOmitted > 0 {
		n.children = append(n.children, node{text: fmt.Sprintf("… %d more Mend calls", a.MendOmitted)})
	}
	return n
}

func attemptLine(what string, a trail.Attempt) string {
	s := fmt.Sprintf("%s %d  %s  %s", what, a.Attempt, clock(a.Started), a.Outcome)
	if a.Reason != "" {
		s += " (" + a.Reason + ")"
	}
	s += "  " + a.Ended.Sub(a.Started).Round(time.Microsecond).String()
	if a.Next != nil {
		s += "  next " + clock(*a.Next)
	}
	return s
}

func mendLine(m trail.MendCall) string {
	s := "mend " + m.Operation
	if m.Attempt > 1 {
		s += " #" + strconv.Itoa(m.Attempt)
	}
	if m.Status != 0 {
		s += "  " + strconv.Itoa(m.Status)
	} else {
		s += "  no answer"
	}
	if m.ErrorCode != 0 {
		s += "  errorCode " + strconv.Itoa(m.ErrorCode)
	}
	s += "  " + strconv.FormatFloat(m.DurationMS, 'f', 1, 64) + "ms"
	if m.Error != "" {
		s += "  " + m.Error
	}
	return s
}

func resultLine(r trail.Event) string {
	s := fmt.Sprintf("result %s  seq %d  id %s", r.Type, r.Seq, r.ID)
	if r.Expired {
		return s + "  (no longer in the stream)"
	}
	if len(r.Data) > 0 {
		s += "  " + summary(r.Data, 200)
	}
	return s
}

func deadLetterLine(dl *trail.DeadLetter) string {
	s := fmt.Sprintf("dead letter %s  seq %d", dl.Subject, dl.Seq)
	if dl.Expired {
		return s + "  (no longer in the stream)"
	}
	return fmt.Sprintf("%s  %s after %d attempts: %s", s, dl.Reason, dl.Attempts, dl.Error)
}

func itemNode(it trail.Item) node {
	n := node{text: itemLine(it)}
	if len(it.Follows) > 0 {
		n.detail = append(n.detail, "follows "+summary(it.Follows, 200))
	}
	if it.LastPoll != nil {
		n.children = append(n.children, attemptNode("poll", *it.LastPoll))
	}
	if it.Completion != nil {
		n.children = append(n.children, node{text: "completion " + strings.TrimPrefix(resultLine(*it.Completion), "result ")})
	}
	return n
}

func itemLine(it trail.Item) string {
	s := fmt.Sprintf("poller item %s  seq %d  %s", it.Kind, it.Seq, it.State)
	switch {
	case it.State != trail.StateOpen:
	case it.LastPoll == nil:
		s += "  not polled yet"
	case it.LastPoll.Next != nil:
		s += "  next poll " + clock(*it.LastPoll.Next)
	}
	return s
}

// clock is a time as the tree shows it: the local time of day, to the
// millisecond.
func clock(t time.Time) string { return t.Local().Format("15:04:05.000") }

// fact is one thing of a trace that -follow prints when it appears.
type fact struct{ key, line string }

// facts are the things of t, each once: what -follow prints as they come.
func facts(t *trail.Trace) []fact {
	var out []fact
	for _, c := range t.Commands {
		cmd := fmt.Sprintf("command %s seq %d", c.Name, c.Seq)
		key := "cmd." + strconv.FormatUint(c.Seq, 10)
		out = append(out, fact{key, cmd + "  id " + c.ID + "  published " + clock(c.Published)})
		for _, a := range c.Attempts {
			line := cmd + ": " + attemptLine("attempt", a)
			if a.Error != "" {
				line += "  error: " + a.Error
			}
			out = append(out, fact{key + ".attempt." + strconv.Itoa(a.Attempt), line})
		}
		if c.State == trail.StateSucceeded || c.State == trail.StateFailed {
			out = append(out, fact{key + ".end", cmd + ": " + c.State})
		}
		for _, r := range c.Results {
			out = append(out, fact{"evt." + strconv.FormatUint(r.Seq, 10), cmd + ": " + resultLine(r)})
		}
		if dl := c.DeadLetter; dl != nil {
			out = append(out, fact{"dlq." + strconv.FormatUint(dl.Seq, 10), cmd + ": " + deadLetterLine(dl)})
		}
		for _, it := range c.Items {
			item := fmt.Sprintf("poller item %s seq %d", it.Kind, it.Seq)
			ikey := "item." + strconv.FormatUint(it.Seq, 10)
			out = append(out, fact{ikey, cmd + ": " + item + "  handed to the poller"})
			if p := it.LastPoll; p != nil {
				out = append(out, fact{ikey + ".poll." + strconv.Itoa(p.Attempt), item + ": " + attemptLine("poll", *p)})
			}
			if it.Completion != nil {
				out = append(out, fact{ikey + ".completion", item + ": completion " + strings.TrimPrefix(resultLine(*it.Completion), "result ")})
			}
			if it.State == trail.StateEnded {
				out = append(out, fact{ikey + ".end", item + ": ended"})
			}
		}
	}
	return out
}
