package events

import (
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
)

func TestPropagate(t *testing.T) {
	t.Parallel()
	cause := func(ext map[string]any) event.Event {
		e := event.New()
		e.SetID("evt-2")
		e.SetSource("/s")
		e.SetType("t")
		for k, v := range ext {
			e.SetExtension(k, v)
		}
		return e
	}
	cases := []struct {
		name  string
		cause event.Event
		want  map[string]any
	}{
		{
			name:  "the cause starts the chain",
			cause: cause(nil),
			want:  map[string]any{ExtCorrelationID: "evt-2", ExtCausationID: "evt-2"},
		},
		{
			name:  "the chain goes on",
			cause: cause(map[string]any{ExtCorrelationID: "evt-1", ExtCausationID: "evt-0"}),
			want:  map[string]any{ExtCorrelationID: "evt-1", ExtCausationID: "evt-2"},
		},
		{
			name: "trace context is copied, other extensions are not",
			cause: cause(map[string]any{
				ExtTraceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
				"partition":    "7",
			}),
			want: map[string]any{
				ExtCorrelationID: "evt-2", ExtCausationID: "evt-2",
				ExtTraceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := event.New()
			Propagate(&out, tc.cause)
			if diff := cmp.Diff(tc.want, out.Extensions()); diff != "" {
				t.Errorf("extensions (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestContinue(t *testing.T) {
	t.Parallel()
	from := func(ext map[string]any) event.Event {
		e := event.New()
		e.SetID("track-1")
		e.SetSource("/s")
		e.SetType("t")
		for k, v := range ext {
			e.SetExtension(k, v)
		}
		return e
	}
	cases := []struct {
		name string
		from event.Event
		want map[string]any
	}{
		{
			name: "the chain is carried on as it is",
			from: from(map[string]any{
				ExtCorrelationID: "incoming-1", ExtCausationID: "command-1",
				ExtTraceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "partition": "7",
			}),
			want: map[string]any{
				ExtCorrelationID: "incoming-1", ExtCausationID: "command-1",
				ExtTraceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			},
		},
		{
			name: "an event without a chain is its own cause",
			from: from(nil),
			want: map[string]any{ExtCorrelationID: "track-1", ExtCausationID: "track-1"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := event.New()
			Continue(&out, tc.from)
			if diff := cmp.Diff(tc.want, out.Extensions()); diff != "" {
				t.Errorf("extensions (-want, +got):\n%s", diff)
			}
		})
	}
}

func TestExtension(t *testing.T) {
	t.Parallel()
	e := event.New()
	e.SetExtension("attempt", 3)
	e.SetExtension(ExtCorrelationID, "c")
	for name, want := range map[string]string{"attempt": "3", ExtCorrelationID: "c", "missing": ""} {
		if got := Extension(e, name); got != want {
			t.Errorf("Extension(%q) = %q, want %q", name, got, want)
		}
	}
}
