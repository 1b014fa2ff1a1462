package main

import (
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// TestReassignByTokenWithItsProductTwice: a project.reassign naming the
// project by token and its old product too, stored twice, moves the
// project once: the second copy finds it in its new product.
func TestReassignByTokenWithItsProductTwice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	f := newFixture(t, h)
	cmd := h.command(events.CommandProjectReassign, events.ProjectReassign{
		ProjectRef: events.ProjectRef{ProjectToken: f.api, ProductToken: f.product}, NewProductToken: f.other,
	})
	h.publish(cmd, "copy-1")
	h.publish(cmd, "copy-2")
	h.startWorker(nil)
	var got []event.Event
	waitFor(t, 15*time.Second, func() bool { got = h.answers(cmd.ID()); return len(got) == 2 }, "two answers")
	changed := 0
	for _, e := range got {
		if e.Type() != events.TypeProjectReassigned {
			t.Fatalf("answer %s %s", e.Type(), e.Data())
		}
		if data(t, e)["reassigned"] == true {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("%d answers say reassigned, want exactly one", changed)
	}
	if n := h.okCalls(mend.ReqChangeProjectAssignment); n != 1 {
		t.Errorf("changeProjectAssignment succeeded %d times in Mend, want once", n)
	}
}
