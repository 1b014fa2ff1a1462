package reconcile

import (
	"strings"
	"testing"

	"github.com/mendflow/mendflow/pkg/events"
)

func change(name string, after ...string) Change {
	data := &events.ProjectCreate{ProductName: "acme", ProjectName: name}
	return Change{ID: changeID(events.CommandProjectCreate, data), Kind: KindCreate, Target: "project " + name, Command: events.CommandProjectCreate, Data: data, After: after}
}

// TestProgress: a change is ready once those it follows are done; a
// failure skips what follows it, transitively; a result read twice counts
// once.
func TestProgress(t *testing.T) {
	a := change("a")
	b := change("b", a.ID)
	c := change("c", b.ID)
	d := change("d")
	p, err := NewProgress(&Plan{Changes: []Change{a, b, c, d}})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(cs []Change) string {
		var s []string
		for _, c := range cs {
			s = append(s, strings.TrimPrefix(c.Target, "project "))
		}
		return strings.Join(s, ",")
	}
	if got := ids(p.Ready()); got != "a,d" {
		t.Fatalf("ready at first: %s", got)
	}
	p.Queued(a.ID)
	p.Queued(d.ID)
	if got := ids(p.Ready()); got != "" {
		t.Fatalf("ready with a and d queued: %s", got)
	}
	if !p.End(a.ID, events.TypeProjectCreated, false, "") || p.End(a.ID, events.TypeProjectCreated, false, "") {
		t.Fatal("End of a: not once")
	}
	if p.End("not-in-the-plan", events.TypeProjectCreated, false, "") {
		t.Fatal("End of a command not in the plan")
	}
	if got := ids(p.Ready()); got != "b" {
		t.Fatalf("ready once a is done: %s", got)
	}
	p.Queued(b.ID)
	p.End(b.ID, events.TypeCommandFailed, true, "permanent: no")
	p.End(d.ID, events.TypeProjectCreated, false, "")
	if !p.Finished() {
		t.Fatalf("not finished: %+v", p.Counts())
	}
	if c := p.Counts(); c.Done != 2 || c.Failed != 1 || c.Skipped != 1 || c.Queued != 0 || c.Waiting != 0 {
		t.Errorf("counts %+v", c)
	}
	if s, why := p.Status(c.ID); s != StatusSkipped || !strings.Contains(why, b.ID) {
		t.Errorf("c: %s %s", s, why)
	}
	if bad := p.Unsuccessful(); len(bad) != 2 || bad[0].Why != "permanent: no" {
		t.Errorf("unsuccessful: %+v", bad)
	}
	// b replayed from its dead letter, and done: c waits again.
	if !p.End(b.ID, events.TypeProjectCreated, false, "") || p.Finished() {
		t.Fatalf("a success after the failure: %+v", p.Counts())
	}
	if got := ids(p.Ready()); got != "c" {
		t.Errorf("ready once b is done after all: %s", got)
	}
}

// TestProgressRefusesAnEditedPlan: a change's id must be its command's,
// since it is the command's Nats-Msg-Id.
func TestProgressRefusesAnEditedPlan(t *testing.T) {
	a := change("a")
	edited := a
	edited.Data = &events.ProjectCreate{ProductName: "acme", ProjectName: "other"}
	for name, plan := range map[string]*Plan{
		"edited data":   {Changes: []Change{edited}},
		"twice":         {Changes: []Change{a, a}},
		"unknown after": {Changes: []Change{change("b", "0000")}},
	} {
		if _, err := NewProgress(plan); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
