package handlers

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// TestProductOfWhileCreating: finding a project's product from the cached
// lists (project.delete or project.reassign by token) while projects are
// created in those products (which add to the lists) is safe: run with
// -race.
func TestProductOfWhileCreating(t *testing.T) {
	t.Parallel()
	sim := mendsim.NewServer(mendsim.Config{})
	defer sim.Close()
	client, err := mend.NewClient(sim.URL, mendsim.DefaultUserKey, mend.WithRetry(mend.NoRetry()))
	if err != nil {
		t.Fatal(err)
	}
	org := sim.OrgToken()
	s := NewSet(client, Config{DefaultOrg: org, CacheTTL: time.Minute})
	ctx := context.Background()
	if _, _, err := s.productOf(ctx, org, "none"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 30 {
			d := &events.ProjectCreate{ProductName: "demo-product", ProjectName: fmt.Sprintf("p%d", i)}
			if _, err := s.projectCreate(ctx, &Command{Attempt: 1}, d); err != nil {
				t.Error(err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range 30 {
			if _, _, err := s.productOf(ctx, org, "none"); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
}
