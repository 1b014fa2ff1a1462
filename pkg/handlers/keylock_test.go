package handlers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

func TestKeyLock(t *testing.T) {
	t.Parallel()
	var l keyLock
	unlock, err := l.lock(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	// Another key is free; the same key waits, until its context ends.
	unlockB, err := l.lock(context.Background(), "b")
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.lock(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock of a held key = %v, want it to wait until its context ends", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := l.lock(context.Background(), "a")
		if err == nil {
			u()
		}
		got <- err
	}()
	unlock()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if len(l.held) != 0 {
		t.Errorf("%d keys held after all were unlocked", len(l.held))
	}
}

// The first projects of a new product, created at once, create the
// product once.
func TestProjectsOfANewProductCreateItOnce(t *testing.T) {
	t.Parallel()
	sim := mendsim.NewServer(mendsim.Config{})
	defer sim.Close()
	// Slow enough that all the commands ask for the product together.
	if err := sim.SetFault(mendsim.Fault{Op: "createProduct", Latency: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	client, err := mend.NewClient(sim.URL, mendsim.DefaultUserKey)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSet(client, Config{DefaultOrg: sim.OrgToken(), CacheTTL: time.Minute})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := &events.ProjectCreate{ProductName: "new-product", ProjectName: fmt.Sprintf("p%d", i), CreateProduct: true}
			if _, err := s.projectCreate(context.Background(), &Delivery{Attempt: 1}, d); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(sim.CallsOf("createProduct")); n != 1 {
		t.Errorf("%d createProduct calls for 16 projects of one new product, want 1", n)
	}
	if n := len(sim.CallsOf("createProject")); n != 16 {
		t.Errorf("%d createProject calls, want 16", n)
	}
}
