package events

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Headers of a dead letter, next to the command's own ce- headers and
// payload, which stay as the command came so that it can be replayed as is.
const (
	HeaderDLQReason   = "Mendflow-Dlq-Reason"
	HeaderDLQError    = "Mendflow-Dlq-Error"
	HeaderDLQAttempts = "Mendflow-Dlq-Attempts"
	HeaderDLQFailedAt = "Mendflow-Dlq-Failed-At"
	// HeaderDLQCommandSeq is the command's sequence in MENDFLOW_COMMANDS.
	HeaderDLQCommandSeq = "Mendflow-Dlq-Command-Seq"
	// HeaderReplayOf marks a command replayed from the dead-letter stream
	// with the dead letter's sequence there. The worker tells a replay from
	// a copy of the original by it.
	HeaderReplayOf = "Mendflow-Replay-Of"
)

// maxHeaderError bounds the error text kept in a header.
const maxHeaderError = 1024

// DeadLetter is why a command gave up: what a dead letter holds besides the
// command.
type DeadLetter struct {
	// Command is the command's name, from the subject mendflow.dlq.<name>.
	Command    string
	Reason     string
	Error      string
	Attempts   int
	FailedAt   time.Time
	CommandSeq uint64
}

// DLQCommand is the command name of a dead letter's subject, and whether
// the subject is one.
func DLQCommand(subject string) (string, bool) {
	name, ok := strings.CutPrefix(subject, "mendflow.dlq.")
	return name, ok && name != ""
}

// NewDeadLetterMsg copies the command message cmd onto DLQSubject(d.Command)
// with d in its headers. Header values cannot hold line breaks, so the error
// text is folded onto one line and bounded.
func NewDeadLetterMsg(cmd *nats.Msg, d DeadLetter) *nats.Msg {
	out := nats.NewMsg(DLQSubject(d.Command))
	for k, vs := range cmd.Header {
		if strings.EqualFold(k, nats.MsgIdHdr) {
			continue // the publisher sets the dead letter's own
		}
		out.Header[k] = append([]string(nil), vs...)
	}
	out.Data = cmd.Data
	errText := strings.Join(strings.Fields(d.Error), " ")
	if len(errText) > maxHeaderError {
		errText = errText[:maxHeaderError] + "…"
	}
	out.Header.Set(HeaderDLQReason, d.Reason)
	out.Header.Set(HeaderDLQError, errText)
	out.Header.Set(HeaderDLQAttempts, strconv.Itoa(d.Attempts))
	out.Header.Set(HeaderDLQFailedAt, d.FailedAt.UTC().Format(time.RFC3339Nano))
	out.Header.Set(HeaderDLQCommandSeq, strconv.FormatUint(d.CommandSeq, 10))
	return out
}

// ParseDeadLetter reads why a dead letter's command gave up.
func ParseDeadLetter(subject string, h nats.Header) (DeadLetter, error) {
	name, ok := DLQCommand(subject)
	if !ok {
		return DeadLetter{}, fmt.Errorf("dead letter: subject %q is not mendflow.dlq.<name>", subject)
	}
	d := DeadLetter{Command: name, Reason: h.Get(HeaderDLQReason), Error: h.Get(HeaderDLQError)}
	if d.Reason == "" {
		return DeadLetter{}, errors.New("dead letter: no " + HeaderDLQReason + " header")
	}
	var err error
	if v := h.Get(HeaderDLQAttempts); v != "" {
		if d.Attempts, err = strconv.Atoi(v); err != nil {
			return DeadLetter{}, fmt.Errorf("dead letter: %s: %w", HeaderDLQAttempts, err)
		}
	}
	if v := h.Get(HeaderDLQFailedAt); v != "" {
		if d.FailedAt, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return DeadLetter{}, fmt.Errorf("dead letter: %s: %w", HeaderDLQFailedAt, err)
		}
	}
	if v := h.Get(HeaderDLQCommandSeq); v != "" {
		if d.CommandSeq, err = strconv.ParseUint(v, 10, 64); err != nil {
			return DeadLetter{}, fmt.Errorf("dead letter: %s: %w", HeaderDLQCommandSeq, err)
		}
	}
	return d, nil
}

// ReplayMsg is the command of the dead letter at sequence seq, ready to
// publish again on CommandSubject: its ce- headers and payload, without the
// dead letter's headers, marked with HeaderReplayOf.
func ReplayMsg(dl *nats.Msg, seq uint64) (*nats.Msg, error) {
	name, ok := DLQCommand(dl.Subject)
	if !ok {
		return nil, fmt.Errorf("replay: subject %q is not mendflow.dlq.<name>", dl.Subject)
	}
	out := nats.NewMsg(CommandSubject(name))
	for k, vs := range dl.Header {
		if strings.HasPrefix(strings.ToLower(k), "mendflow-dlq-") || strings.EqualFold(k, nats.MsgIdHdr) {
			continue
		}
		out.Header[k] = append([]string(nil), vs...)
	}
	out.Header.Set(HeaderReplayOf, strconv.FormatUint(seq, 10))
	out.Data = dl.Data
	return out, nil
}
