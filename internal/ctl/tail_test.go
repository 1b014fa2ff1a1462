package ctl

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
)

// publishResult publishes a result event as the worker does.
func publishResult(t *testing.T, js jetstream.JetStream, typ, id, correlation, subject, data string) {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetSource("/mendflow/worker")
	e.SetType(typ)
	e.SetSubject(subject)
	e.SetTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	e.SetExtension(events.ExtCorrelationID, correlation)
	if err := e.SetData(event.ApplicationJSON, json.RawMessage(data)); err != nil {
		t.Fatal(err)
	}
	m, err := bus.ToMsg(events.ResultSubject(typ), e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func TestTail(t *testing.T) {
	t.Parallel()
	env, js := setup(t)
	publishResult(t, js, events.TypeProjectCreated, "r-1", "c-1", "", `{"productName":"acme","projectToken":"p1","created":true,"tagsSaved":{"k":"v"}}`)
	publishResult(t, js, events.TypeProjectTagged, "r-2", "c-2", "p1", `{"projectToken":"p1","changed":true}`)
	publishResult(t, js, events.TypePoliciesApplied, "r-3", "c-1", "uuid-1", `{"status":"SUCCESS"}`)
	publishResult(t, js, events.TypeCommandFailed, "r-4", "c-3", "", `{"command":"project.create"}`)

	tests := []struct {
		name    string
		args    []string
		wantIDs []string
	}{
		{"all", []string{"-all", "-n", "4"}, []string{"r-1", "r-2", "r-3", "r-4"}},
		{"since", []string{"-since", "1h", "-n", "4"}, []string{"r-1", "r-2", "r-3", "r-4"}},
		{"correlation", []string{"-all", "-correlation", "c-1", "-n", "2"}, []string{"r-1", "r-3"}},
		{"correlations", []string{"-all", "-correlation", "c-3, c-2", "-n", "2"}, []string{"r-2", "r-4"}},
		{"type glob", []string{"-all", "-type", "io.mendflow.project.*", "-n", "2"}, []string{"r-1", "r-2"}},
		{"exact type", []string{"-all", "-type", events.TypePoliciesApplied, "-n", "1"}, []string{"r-3"}},
		{"subject", []string{"-all", "-subject", "p*", "-n", "1"}, []string{"r-2"}},
		{"all filters", []string{"-all", "-type", "*.applied", "-correlation", "c-1", "-subject", "uuid-?", "-n", "1"}, []string{"r-3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := run(t, env, append([]string{"events", "tail", "-timeout", "10s"}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				ids = append(ids, strings.Fields(l)[2])
			}
			if strings.Join(ids, " ") != strings.Join(tt.wantIDs, " ") {
				t.Errorf("events %q, want %q:\n%s", ids, tt.wantIDs, out)
			}
		})
	}

	out, err := run(t, env, "events", "tail", "-all", "-n", "1", "-timeout", "10s")
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(out)
	want := []string{events.TypeProjectCreated, "r-1", "correlation=c-1", "productName=acme", "projectToken=p1", "created=true", `tagsSaved={"k":"v"}`}
	if strings.Join(fields[1:], " ") != strings.Join(want, " ") {
		t.Errorf("line %q, want time then %q", out, want)
	}

	out, err = run(t, env, "events", "tail", "-all", "-n", "1", "-json", "-timeout", "10s")
	if err != nil {
		t.Fatal(err)
	}
	var e event.Event
	if err := json.Unmarshal([]byte(out), &e); err != nil || e.ID() != "r-1" || events.Extension(e, events.ExtCorrelationID) != "c-1" {
		t.Errorf("-json line %q: %v", out, err)
	}
}

func TestTailStops(t *testing.T) {
	t.Parallel()
	env, js := setup(t)
	publishResult(t, js, events.TypeProjectCreated, "old", "c-1", "", `{}`)
	tests := []struct {
		name    string
		args    []string
		wantErr string // "usage": errUsage
	}{
		{"timeout with fewer events than -n", []string{"-all", "-n", "2", "-timeout", "300ms"}, "timeout after 300ms: 1 of 2 events"},
		{"timeout without -n", []string{"-timeout", "300ms"}, ""},
		{"new events only: none", []string{"-n", "1", "-timeout", "300ms"}, "0 of 1"},
		{"bad glob", []string{"-type", "["}, "-type"},
		{"-all and -since", []string{"-all", "-since", "1m"}, "usage"},
		{"negative -n", []string{"-n", "-1"}, "usage"},
		{"argument", []string{"x"}, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := run(t, env, append([]string{"events", "tail"}, tt.args...)...)
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestTailEndsWithContext(t *testing.T) {
	t.Parallel()
	env, js := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		var out strings.Builder
		done <- realMain(ctx, []string{"events", "tail"}, env, &out)
	}()
	// Following: its ordered consumer is on the stream.
	servicetest.Eventually(t, 10*time.Second, func() bool {
		s, err := js.Stream(t.Context(), events.StreamEvents)
		return err == nil && s.CachedInfo().State.Consumers > 0
	}, "tail to follow the stream")
	cancel() // Ctrl-C
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("tail ended with %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("tail did not end with its context")
	}
}
