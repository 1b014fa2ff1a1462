package events

import (
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
)

// TestChains: Propagate makes an event answer its cause; Continue makes
// it answer what another answers, carrying that one's chain on as it is.
func TestChains(t *testing.T) {
	t.Parallel()
	from := func(ext map[string]any) event.Event {
		e := event.New()
		e.SetID("evt-2")
		e.SetSource("/s")
		e.SetType("t")
		for k, v := range ext {
			e.SetExtension(k, v)
		}
		return e
	}
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	cases := []struct {
		name string
		tie  func(out *event.Event, from event.Event)
		from event.Event
		want map[string]any
	}{
		{
			name: "the cause starts the chain", tie: Propagate,
			from: from(nil),
			want: map[string]any{ExtCorrelationID: "evt-2", ExtCausationID: "evt-2"},
		},
		{
			name: "the chain goes on", tie: Propagate,
			from: from(map[string]any{ExtCorrelationID: "evt-1", ExtCausationID: "evt-0"}),
			want: map[string]any{ExtCorrelationID: "evt-1", ExtCausationID: "evt-2"},
		},
		{
			name: "trace context is copied, other extensions are not", tie: Propagate,
			from: from(map[string]any{ExtTraceparent: tp, "partition": "7"}),
			want: map[string]any{ExtCorrelationID: "evt-2", ExtCausationID: "evt-2", ExtTraceparent: tp},
		},
		{
			name: "continued: the chain is carried on as it is", tie: Continue,
			from: from(map[string]any{ExtCorrelationID: "evt-1", ExtCausationID: "evt-0", ExtTraceparent: tp, "partition": "7"}),
			want: map[string]any{ExtCorrelationID: "evt-1", ExtCausationID: "evt-0", ExtTraceparent: tp},
		},
		{
			name: "continued: an event without a chain is its own cause", tie: Continue,
			from: from(nil),
			want: map[string]any{ExtCorrelationID: "evt-2", ExtCausationID: "evt-2"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := event.New()
			tc.tie(&out, tc.from)
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
