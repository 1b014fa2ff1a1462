package ctl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/pkg/events"
)

// setup starts NATS with the streams and three dead letters, as the worker
// leaves them, at sequences 1 to 3.
func setup(t *testing.T) (envconfig.Lookuper, jetstream.JetStream) {
	t.Helper()
	ns := natstest.Start(t)
	url := ns.URL()
	_, js := ns.Connect()
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, js, bus.StreamConfig{Replicas: 1, DedupWindow: time.Hour, EventsMaxBytes: -1, DLQMaxBytes: -1}); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct{ name, data, reason string }{
		{events.CommandProductCreate, `{"productName":"a"}`, events.FailPermanent},
		{events.CommandProjectTagSave, `{"projectToken":"p","tagKey":"k","tagValue":"v"}`, events.FailNotFound},
		{events.CommandProductCreate, `{"productName":"c"}`, events.FailAttemptsSpent},
	} {
		e := event.New()
		e.SetID(fmt.Sprintf("cmd-%d", i+1))
		e.SetSource("/test")
		e.SetType(events.CommandType(c.name))
		e.SetExtension(events.ExtCorrelationID, "corr-1")
		if err := e.SetData(event.ApplicationJSON, []byte(c.data)); err != nil {
			t.Fatal(err)
		}
		m, err := bus.ToMsg(events.CommandSubject(c.name), e)
		if err != nil {
			t.Fatal(err)
		}
		dl := bus.NewDeadLetterMsg(m, bus.DeadLetter{
			Command: c.name, Reason: c.reason, Error: "mend createProduct: error 5001: not allowed\nsecond line",
			Attempts: i + 1, FailedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), CommandSeq: uint64(10 + i),
		})
		if _, err := js.PublishMsg(ctx, dl); err != nil {
			t.Fatal(err)
		}
	}
	return envconfig.MapLookuper(map[string]string{"NATS_URL": url}), js
}

func run(t *testing.T, env envconfig.Lookuper, args ...string) (string, error) {
	t.Helper()
	var out strings.Builder
	err := realMain(context.Background(), args, env, &out)
	return out.String(), err
}

// checkErr checks what a subcommand returned against want: "usage" for
// the usage error, "" for none, else a part of the error's text.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "usage":
		if !errors.Is(err, errUsage) {
			t.Errorf("err = %v, want the usage", err)
		}
	case want == "":
		if err != nil {
			t.Errorf("err = %v", err)
		}
	case err == nil || !strings.Contains(err.Error(), want):
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	env, _ := setup(t)
	tests := []struct {
		name     string
		args     []string
		wantRows []string // "seq command id reason attempts"
	}{
		{"all", []string{"dlq", "list"}, []string{
			"1 product.create cmd-1 permanent 1", "2 project.tag.save cmd-2 not found 2", "3 product.create cmd-3 attempts spent 3",
		}},
		{"one command", []string{"dlq", "list", "-command", events.CommandProjectTagSave}, []string{"2 project.tag.save cmd-2 not found 2"}},
		{"none of that command", []string{"dlq", "list", "-command", "group.create"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := run(t, env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if !strings.HasPrefix(lines[0], "SEQ") {
				t.Fatalf("no header:\n%s", out)
			}
			var got []string
			for _, l := range lines[1:] {
				if l == "no dead letters" {
					continue
				}
				f := strings.Fields(l)
				row := strings.Join(f[:4], " ")
				if f[3] == "not" || f[3] == "attempts" { // two-word reasons
					row = strings.Join(f[:5], " ")
				}
				got = append(got, row+" "+f[len(strings.Fields(row))])
				if !strings.Contains(l, "2025-01-02T03:04:05Z") || !strings.Contains(l, "error 5001: not allowed second line") {
					t.Errorf("row lacks the time or the error: %q", l)
				}
			}
			if diff := cmp.Diff(tt.wantRows, got); diff != "" {
				t.Errorf("rows (-want, +got):\n%s\n%s", diff, out)
			}
		})
	}
}

func TestInspect(t *testing.T) {
	t.Parallel()
	env, _ := setup(t)
	out, err := run(t, env, "dlq", "inspect", "2")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"command:     project.tag.save", "reason:      not found", "attempts:    2",
		"command seq: 11 in MENDFLOW_COMMANDS", "id:          cmd-2", "correlationid: corr-1",
		`"tagKey": "k"`,
	} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("inspect lacks %q:\n%s", want, out)
		}
	}
	if _, err := run(t, env, "dlq", "inspect", "9"); err == nil || !strings.Contains(err.Error(), "no dead letter 9") {
		t.Errorf("inspect 9 = %v, want no such dead letter", err)
	}
}

// TestInspectOmitted: a dead letter the worker had to cut to fit says what
// it left out.
func TestInspectOmitted(t *testing.T) {
	t.Parallel()
	env, js := setup(t)
	e := event.New()
	e.SetID("cmd-4")
	e.SetSource("/test")
	e.SetType(events.CommandType(events.CommandProductCreate))
	e.SetExtension(events.ExtCorrelationID, strings.Repeat("c", 65_400))
	m, err := bus.ToMsg(events.CommandSubject(events.CommandProductCreate), e)
	if err != nil {
		t.Fatal(err)
	}
	dl := bus.NewDeadLetterMsg(m, bus.DeadLetter{Command: events.CommandProductCreate, Reason: events.FailTooLarge, Attempts: 1, FailedAt: time.Now()})
	bus.FitDeadLetter(dl, 1<<20)
	if _, err := js.PublishMsg(t.Context(), dl); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, env, "dlq", "inspect", "4")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "omitted:") || !strings.Contains(out, "ce-correlationid (65400 bytes)") || strings.Contains(out, "correlationid: c") {
		t.Errorf("inspect does not say the correlation id was left out:\n%.2000s", out)
	}
}

// commands returns the messages queued on MENDFLOW_COMMANDS.
func commands(t *testing.T, js jetstream.JetStream) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, events.StreamCommands)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := uint64(1); ; {
		m, err := s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(events.CommandSubject(">")))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
		seq = m.Sequence + 1
	}
}

func TestReplay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		args        []string
		wantIDs     []string // commands queued, by id
		wantLeft    string   // dead letters left, by seq, as listed
		wantReplays int
	}{
		{"one", []string{"2"}, []string{"cmd-2"}, "1 3", 1},
		{"one kept", []string{"-keep", "2"}, []string{"cmd-2"}, "1 2 3", 1},
		{"several", []string{"3", "1"}, []string{"cmd-3", "cmd-1"}, "2", 2},
		{"all", []string{"-all"}, []string{"cmd-1", "cmd-2", "cmd-3"}, "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, js := setup(t)
			out, err := run(t, env, append([]string{"dlq", "replay"}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(out, "replayed dead letter"); n != tt.wantReplays {
				t.Errorf("output says %d replays, want %d:\n%s", n, tt.wantReplays, out)
			}
			var ids []string
			for _, m := range commands(t, js) {
				ids = append(ids, m.Header.Get("ce-id"))
				for k := range m.Header {
					if strings.HasPrefix(strings.ToLower(k), "mendflow-dlq-") {
						t.Errorf("queued command keeps dead-letter header %s", k)
					}
				}
				if m.Header.Get(bus.HeaderReplayOf) == "" {
					t.Error("queued command is not marked as a replay")
				}
				e, err := bus.FromMsg(natsMsg(m))
				if err != nil {
					t.Fatalf("queued command is no CloudEvent: %v", err)
				}
				if _, err := events.NewRegistry().DecodeEvent(e); err != nil {
					t.Errorf("queued command does not decode: %v", err)
				}
			}
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Errorf("queued commands (-want, +got):\n%s", diff)
			}
			list, err := run(t, env, "dlq", "list")
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			for _, l := range strings.Split(strings.TrimSpace(list), "\n")[1:] {
				if f := strings.Fields(l); len(f) > 0 && f[0] != "no" {
					left = append(left, f[0])
				}
			}
			if got := strings.Join(left, " "); got != tt.wantLeft {
				t.Errorf("dead letters left %q, want %q", got, tt.wantLeft)
			}
		})
	}
}

func TestReplayTwiceQueuesOnce(t *testing.T) {
	t.Parallel()
	env, js := setup(t)
	if _, err := run(t, env, "dlq", "replay", "-keep", "1"); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, env, "dlq", "replay", "1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "already replayed dead letter 1") {
		t.Errorf("second replay says %q", out)
	}
	if n := len(commands(t, js)); n != 1 {
		t.Errorf("%d commands queued, want 1", n)
	}
	if _, err := run(t, env, "dlq", "replay", "1"); err == nil || !strings.Contains(err.Error(), "no dead letter 1") {
		t.Errorf("replay of a removed dead letter = %v", err)
	}
	for _, args := range [][]string{{"dlq", "replay"}, {"dlq", "replay", "-all", "2"}} {
		if _, err := run(t, env, args...); !errors.Is(err, errUsage) {
			t.Errorf("realMain(%q) = %v, want the usage", args, err)
		}
	}
}

func natsMsg(m *jetstream.RawStreamMsg) *nats.Msg {
	return &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data}
}

func TestUsageAndConfiguration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"no subcommand", nil, nil, "usage"},
		{"unknown subcommand", []string{"dlq", "purge"}, nil, "usage"},
		{"NATS unreachable", []string{"dlq", "list"}, map[string]string{"NATS_URL": "nats://127.0.0.1:1"}, "NATS_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := run(t, envconfig.MapLookuper(tt.env), tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("realMain(%q) = %v, want an error naming %s", tt.args, err, tt.wantErr)
			}
		})
	}
}
