package bus

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/pkg/events"
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
	// HeaderDLQOmitted names what of the command a dead letter leaves out
	// so that it fits in a NATS message, and why (see FitDeadLetter).
	HeaderDLQOmitted = "Mendflow-Dlq-Omitted"
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
	// Omitted is what FitDeadLetter left out of the command, and why; empty
	// when the dead letter holds the command whole.
	Omitted string
}

// DLQCommand is the command name of a dead letter's subject, and whether
// the subject is one.
func DLQCommand(subject string) (string, bool) {
	name, ok := strings.CutPrefix(subject, "mendflow.dlq.")
	return name, ok && name != ""
}

// NewDeadLetterMsg copies the command message cmd onto events.DLQSubject(d.Command)
// with d in its headers. Header values cannot hold line breaks, so the error
// text is folded onto one line and bounded.
func NewDeadLetterMsg(cmd *nats.Msg, d DeadLetter) *nats.Msg {
	out := nats.NewMsg(events.DLQSubject(d.Command))
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

// FitDeadLetter makes the dead letter dl, which holds the Nats-Msg-Id it is
// to be published with, fit in a NATS message of at most maxPayload bytes
// (see Oversize): a command that gave up because of its size must still be
// kept. It leaves out the command's headers, largest first, but for the
// CloudEvent's specversion, id, source and type, which a replay needs; then,
// should that not do, those too; then the data. HeaderDLQOmitted names each
// part left out, with its size, and why. It leaves a dl that fits as it is;
// one that cannot fit even so (a max_payload of a few hundred bytes) stays
// too large, and NATS refuses it.
func FitDeadLetter(dl *nats.Msg, maxPayload int64) {
	why := Oversize(dl, maxPayload)
	if why == nil {
		return
	}
	var omitted []string
	for Oversize(dl, maxPayload) != nil {
		if k := nextCut(dl.Header); k != "" {
			omitted = append(omitted, fmt.Sprintf("%s (%d bytes)", k, len(strings.Join(dl.Header[k], ""))))
			delete(dl.Header, k)
		} else if dl.Data != nil {
			omitted = append(omitted, fmt.Sprintf("data (%d bytes)", len(dl.Data)))
			dl.Data = nil
		} else {
			return
		}
		dl.Header.Set(HeaderDLQOmitted, strings.Join(omitted, ", ")+": "+why.Error())
	}
}

// nextCut is the key of the header FitDeadLetter leaves out next: the
// largest of those that go first (cutRank), or "" when none may go. Equal
// sizes go by key, so that a dead letter is always cut the same way.
func nextCut(h nats.Header) string {
	var best string
	bestRank, bestSize := 0, -1
	for k, vs := range h {
		r := cutRank(k)
		if r == 0 {
			continue
		}
		size := len(strings.Join(vs, ""))
		if r > bestRank || (r == bestRank && (size > bestSize || (size == bestSize && k < best))) {
			best, bestRank, bestSize = k, r, size
		}
	}
	return best
}

// cutRank ranks the headers of a dead letter for FitDeadLetter: the dead
// letter's own and its Nats-Msg-Id stay (0), the CloudEvent's identity goes
// last (1), anything else first (2).
func cutRank(key string) int {
	k := strings.ToLower(key)
	switch {
	case strings.HasPrefix(k, "mendflow-dlq-"), k == strings.ToLower(nats.MsgIdHdr):
		return 0
	case k == "ce-specversion", k == "ce-id", k == "ce-source", k == "ce-type":
		return 1
	}
	return 2
}

// ParseDeadLetter reads why a dead letter's command gave up.
func ParseDeadLetter(subject string, h nats.Header) (DeadLetter, error) {
	name, ok := DLQCommand(subject)
	if !ok {
		return DeadLetter{}, fmt.Errorf("dead letter: subject %q is not mendflow.dlq.<name>", subject)
	}
	d := DeadLetter{Command: name, Reason: h.Get(HeaderDLQReason), Error: h.Get(HeaderDLQError), Omitted: h.Get(HeaderDLQOmitted)}
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
// publish again on events.CommandSubject: its ce- headers and payload, without the
// dead letter's headers, marked with HeaderReplayOf.
func ReplayMsg(dl *nats.Msg, seq uint64) (*nats.Msg, error) {
	name, ok := DLQCommand(dl.Subject)
	if !ok {
		return nil, fmt.Errorf("replay: subject %q is not mendflow.dlq.<name>", dl.Subject)
	}
	out := nats.NewMsg(events.CommandSubject(name))
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

// DeadLetters is the PoisonFunc of a runner of commands: it keeps a
// command that gave up on MENDFLOW_DLQ with why it failed, then announces
// it as io.mendflow.command.failed from source, both published by pub
// with ids derived from the delivery. The command is named by the
// delivery's label, the name its handler decoded, or else by its subject.
// Both are cut to fit in a NATS message (FitDeadLetter, failedMsg), so
// that a command too large to answer can still be kept. Should either not
// be stored (NATS unreachable), the runner delivers the command again
// after a backoff, to be decided again: a retry counted like any other,
// until the dead letter is kept.
func DeadLetters(pub *Publisher, source string) PoisonFunc {
	return func(ctx context.Context, d *Delivery, reason string, cause error) error {
		name, _ := strings.CutPrefix(d.Msg.Subject(), events.CommandSubject(""))
		name = cmp.Or(d.Label, name)
		errText := cause.Error()
		now := time.Now().UTC()
		dl := NewDeadLetterMsg(&nats.Msg{Subject: d.Msg.Subject(), Header: d.Msg.Headers(), Data: d.Msg.Data()}, DeadLetter{
			Command: name, Reason: reason, Error: errText, Attempts: d.Attempt, FailedAt: now, CommandSeq: d.Seq,
		})
		dl.Header.Set(jetstream.MsgIDHeader, d.AnswerID("dlq"))
		FitDeadLetter(dl, pub.maxPayload)
		ack, err := pub.Publish(ctx, dl)
		if err != nil {
			return err
		}
		m, err := failedMsg(ctx, pub, source, d, events.CommandFailed{
			Command: name, CommandID: d.Event.ID(), Reason: reason, Error: errText, Attempts: d.Attempt, FailedAt: now,
			DeadLetterSubject: dl.Subject, DeadLetterSeq: ack.Sequence, Data: jsonData(dl.Data),
		})
		if err == nil {
			_, err = pub.Publish(ctx, m)
		}
		if err != nil {
			return err
		}
		d.Note("dead_letter_subject", dl.Subject, "dead_letter_seq", ack.Sequence)
		if omitted := dl.Header.Get(HeaderDLQOmitted); omitted != "" {
			d.Note("omitted", omitted)
		}
		return nil
	}
}

// failedMsg is the io.mendflow.command.failed message of the delivery d.
// Like the dead letter it must be storable whatever the command holds:
// should it not fit in a NATS message, it leaves out the command's data
// (the dead letter keeps it) while that is what is too large, and the
// largest extension attributes (a correlationid of tens of kilobytes)
// while the headers are; failed.Omitted names what it left out.
func failedMsg(ctx context.Context, pub *Publisher, source string, d *Delivery, failed events.CommandFailed) (*nats.Msg, error) {
	id := d.AnswerID("failed")
	var cut []string // extension attributes left out
	for {
		e, err := NewEvent(id, source, events.TypeCommandFailed, failed)
		if err != nil {
			return nil, err
		}
		Answering(d.Event).tie(ctx, &e)
		for _, ext := range cut {
			e.SetExtension(ext, nil)
		}
		m, err := toMsg(events.ResultSubject(events.TypeCommandFailed), e, id)
		if err != nil {
			return nil, err
		}
		why := pub.Oversize(m)
		switch {
		case why == nil:
			return m, nil
		case failed.Data != nil && HeaderBytes(m) <= pub.maxHeaders:
			failed.Data = nil
			failed.Omitted = append(failed.Omitted, "data")
		default:
			ext := largestExtension(e)
			if ext == "" {
				return nil, fmt.Errorf("%s: %w", events.TypeCommandFailed, why)
			}
			cut = append(cut, ext)
			failed.Omitted = append(failed.Omitted, ext)
		}
	}
}

// largestExtension is the name of e's largest extension attribute, or ""
// when it has none. Equal sizes go by name.
func largestExtension(e event.Event) string {
	var best string
	size := -1
	for name := range e.Extensions() {
		n := len(events.Extension(e, name))
		if n > size || (n == size && name < best) {
			best, size = name, n
		}
	}
	return best
}

// jsonData keeps command data in the failed event when it is JSON.
func jsonData(b []byte) json.RawMessage {
	if json.Valid(b) {
		return b
	}
	return nil
}
