package handlers

import (
	"context"
	"iter"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// racedGroups is a Mend whose group "team" another worker creates just
// after the first list: listing shows it from then on, and creating it
// is refused with 409.
type racedGroups struct {
	groupService
	mu    sync.Mutex
	lists int
}

func (g *racedGroups) All(context.Context, string, *mend.ListOptions) iter.Seq2[mend.GroupSummary, error] {
	g.mu.Lock()
	g.lists++
	first := g.lists == 1
	g.mu.Unlock()
	return func(yield func(mend.GroupSummary, error) bool) {
		if !first {
			yield(mend.GroupSummary{UUID: "g-uuid", Name: "team"}, nil)
		}
	}
}

func (g *racedGroups) Create(context.Context, string, *mend.GroupRequest) (*mend.Group, *mend.Response, error) {
	return nil, nil, &mend.HTTPError{Method: http.MethodPost, StatusCode: http.StatusConflict, Message: "group exists"}
}

// TestGroupCreateConflictRelists: Mend's 409 on a group create is followed
// by a fresh list, however young the cached one, which finds the group
// another worker just created.
func TestGroupCreateConflictRelists(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	g := &racedGroups{}
	s := &Set{cfg: Config{DefaultOrg: "org"}, groups: g, groupNames: newNameCache(time.Minute, clock.Now)}
	e := event.New()
	e.SetID("c1")
	res, err := s.groupCreate(context.Background(), &Delivery{Event: e, Attempt: 1}, &events.GroupCreate{Name: "team"})
	if err != nil {
		t.Fatalf("groupCreate after a 409: %v", err)
	}
	if got := res.Data.(events.GroupChanged); got.GroupUUID != "g-uuid" || got.Changed {
		t.Errorf("answer %+v, want the other's group, unchanged", got)
	}
	if g.lists != 2 {
		t.Errorf("%d lists, want 2", g.lists)
	}
}
