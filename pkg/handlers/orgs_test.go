package handlers

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// memClaims are Claims in a map.
type memClaims struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *memClaims) Claim(_ context.Context, key string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; ok {
		return false, nil
	}
	c.m[key] = nil
	return true, nil
}

func (c *memClaims) Put(_ context.Context, key string, value []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = value
	return nil
}

func (c *memClaims) Get(_ context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	if !ok {
		return nil, errors.New("no such claim")
	}
	return v, nil
}

func (c *memClaims) Release(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
	return nil
}

// globalOrgs counts createGlobalOrg calls; the rest is not called.
type globalOrgs struct {
	globalOrgService
	creates int
}

func (g *globalOrgs) Create(context.Context, *mend.CreateGlobalOrgRequest) (*mend.CreateGlobalOrgResponse, *mend.Response, error) {
	g.creates++
	return &mend.CreateGlobalOrgResponse{GlobalOrgToken: "gtoken"}, nil, nil
}

// TestGlobalOrgCreateRedelivered: a delivery of globalorg.create that
// created the global organization, but whose result or ack was lost, is
// answered again with the same token when it comes back, without calling
// Mend; a copy of the command stored apart stays in doubt.
func TestGlobalOrgCreateRedelivered(t *testing.T) {
	t.Parallel()
	g := &globalOrgs{}
	s := &Set{cfg: Config{Claims: &memClaims{m: map[string][]byte{}}}, globalOrgs: g}
	e := event.New()
	e.SetID("c1")
	d := &events.GlobalOrgCreate{Name: "holding", AccountAdminEmail: "admin@example.com"}
	want := events.GlobalOrgCreated{Name: "holding", GlobalOrgToken: "gtoken", Created: true}
	for attempt := 1; attempt <= 2; attempt++ {
		res, err := s.globalOrgCreate(context.Background(), &Delivery{Event: e, Attempt: attempt, Seq: 7}, d)
		if err != nil {
			t.Fatalf("delivery %d: %v", attempt, err)
		}
		if res.Type != events.TypeGlobalOrgCreated || res.Data != want {
			t.Errorf("delivery %d answered %s %+v, want %s %+v", attempt, res.Type, res.Data, events.TypeGlobalOrgCreated, want)
		}
	}
	if g.creates != 1 {
		t.Errorf("createGlobalOrg called %d times, want once", g.creates)
	}
	if _, err := s.globalOrgCreate(context.Background(), &Delivery{Event: e, Attempt: 1, Seq: 8}, d); !errors.Is(err, errInDoubt) {
		t.Errorf("a copy answered %v, want %v", err, errInDoubt)
	}
	if g.creates != 1 {
		t.Errorf("createGlobalOrg called %d times, want once", g.creates)
	}
}
