package bus_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/pkg/events"
)

// TestTooLarge publishes to a real server what it refuses for its size,
// and what it refuses for other reasons: TooLarge tells them apart, and
// Oversize foresees the first.
func TestTooLarge(t *testing.T) {
	t.Parallel()
	nc, js := natstest.Start(t).Connect()
	if err := bus.EnsureStreams(t.Context(), js, testStreams); err != nil {
		t.Fatal(err)
	}
	msg := func(subject string, header, data int) *nats.Msg {
		m := nats.NewMsg(subject)
		m.Header.Set("ce-correlationid", strings.Repeat("x", header))
		m.Data = make([]byte, data)
		return m
	}
	tests := []struct {
		name      string
		msg       *nats.Msg
		wantLarge bool
	}{
		{"headers over 64 KiB (JetStream error 10097)", msg(events.DLQSubject("x"), 70_000, 0), true},
		{"over max_payload (nats.ErrMaxPayload)", msg(events.DLQSubject("x"), 10, int(nc.MaxPayload())), true},
		{"no stream for the subject", msg("mendflow.nowhere", 10, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := js.PublishMsg(t.Context(), tt.msg)
			if err == nil {
				t.Fatal("published")
			}
			if got := bus.TooLarge(err); got != tt.wantLarge {
				t.Errorf("TooLarge(%v) = %v, want %v", err, got, tt.wantLarge)
			}
			if why := bus.Oversize(tt.msg, nc.MaxPayload()); (why != nil) != tt.wantLarge {
				t.Errorf("Oversize = %v, want an error: %v", why, tt.wantLarge)
			}
		})
	}
	if !bus.TooLarge(jetstream.ErrStreamMessageExceedsMaximum) {
		t.Error("a message over the stream's maximum size is not too large")
	}
	if bus.TooLarge(errors.New("nats: timeout")) {
		t.Error("a timeout is too large")
	}
}

// TestFitDeadLetter keeps, on a real server, dead letters of commands
// whose headers or data leave no room for the dead letter's own.
func TestFitDeadLetter(t *testing.T) {
	t.Parallel()
	nc, js := natstest.Start(t).Connect()
	if err := bus.EnsureStreams(t.Context(), js, testStreams); err != nil {
		t.Fatal(err)
	}
	command := func(correlation string, data []byte) *nats.Msg {
		e := event.New()
		e.SetID("cmd-1")
		e.SetSource("/test")
		e.SetType(events.CommandType(events.CommandProductCreate))
		e.SetExtension(events.ExtCorrelationID, correlation)
		e.SetExtension(events.ExtTraceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		e.SetData(event.ApplicationJSON, data)
		m, err := bus.ToMsg(events.CommandSubject(events.CommandProductCreate), e)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	data := []byte(`{"productName":"p"}`)
	tests := []struct {
		name        string
		cmd         *nats.Msg
		maxPayload  int64 // 0: the dead letter's size less over
		over        int64
		wantOmitted []string // in HeaderDLQOmitted
		wantKept    []string // headers still there
		wantData    bool
	}{
		{
			name: "fits: left whole", cmd: command("corr-1", data), maxPayload: nc.MaxPayload(),
			wantKept: []string{"ce-correlationid", "ce-traceparent", "ce-id"}, wantData: true,
		},
		{
			name: "a correlation id filling the headers", cmd: command(strings.Repeat("c", 65_400), data), maxPayload: nc.MaxPayload(),
			wantOmitted: []string{"ce-correlationid (65400 bytes)", "over the 65535 JetStream stores"},
			wantKept:    []string{"ce-traceparent", "ce-id", "ce-source", "ce-type", "ce-specversion"}, wantData: true,
		},
		{
			name: "data filling max_payload", cmd: command(strings.Repeat("c", 500), bytes.Repeat([]byte("d"), 3600)), over: 200,
			wantOmitted: []string{"ce-correlationid (500 bytes)", "over the NATS max_payload"},
			wantKept:    []string{"ce-traceparent", "ce-id", "ce-source", "ce-type", "ce-specversion"}, wantData: true,
		},
		{
			name: "data over max_payload alone", cmd: command("corr-1", bytes.Repeat([]byte("d"), 5000)), maxPayload: 4096,
			wantOmitted: []string{"ce-correlationid", "ce-id (5 bytes)", "data (5000 bytes)"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dl := bus.NewDeadLetterMsg(tt.cmd, bus.DeadLetter{
				Command: events.CommandProductCreate, Reason: events.FailTooLarge, Error: "headers over 64k",
				Attempts: 1, FailedAt: time.Now(), CommandSeq: uint64(i + 1),
			})
			dl.Header.Set(nats.MsgIdHdr, tt.name)
			maxPayload := tt.maxPayload
			if maxPayload == 0 {
				maxPayload = int64(bus.HeaderBytes(dl)+len(dl.Data)) - tt.over
			}
			bus.FitDeadLetter(dl, maxPayload)
			if why := bus.Oversize(dl, maxPayload); why != nil {
				t.Fatalf("still oversize: %v", why)
			}
			ack, err := js.PublishMsg(t.Context(), dl)
			if err != nil {
				t.Fatalf("storing the dead letter: %v", err)
			}
			stored, err := js.Stream(t.Context(), events.StreamDLQ)
			if err != nil {
				t.Fatal(err)
			}
			got, err := stored.GetMsg(t.Context(), ack.Sequence)
			if err != nil {
				t.Fatal(err)
			}
			info, err := bus.ParseDeadLetter(got.Subject, got.Header)
			if err != nil {
				t.Fatal(err)
			}
			if info.Reason != events.FailTooLarge || info.Attempts != 1 {
				t.Errorf("dead letter says %+v", info)
			}
			if len(tt.wantOmitted) == 0 && info.Omitted != "" {
				t.Errorf("omitted %q, want nothing", info.Omitted)
			}
			for _, want := range tt.wantOmitted {
				if !strings.Contains(info.Omitted, want) {
					t.Errorf("omitted %q does not say %q", info.Omitted, want)
				}
			}
			for _, h := range tt.wantKept {
				if got.Header.Get(h) != tt.cmd.Header.Get(h) {
					t.Errorf("header %s = %.20q, want the command's %.20q", h, got.Header.Get(h), tt.cmd.Header.Get(h))
				}
			}
			if tt.wantData != (string(got.Data) == string(tt.cmd.Data)) {
				t.Errorf("data kept: %v, want %v", !tt.wantData, tt.wantData)
			}
			// What is kept replays; what the dead letter says does not.
			replay, err := bus.ReplayMsg(&nats.Msg{Subject: got.Subject, Header: got.Header, Data: got.Data}, ack.Sequence)
			if err != nil {
				t.Fatal(err)
			}
			if replay.Header.Get(bus.HeaderDLQOmitted) != "" {
				t.Error("the replayed command says what its dead letter omitted")
			}
		})
	}
}
