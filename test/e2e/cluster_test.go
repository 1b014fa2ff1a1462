package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/pkg/mendflowtest"
)

// TestClusterSurvivesNodeLoss checks the NATS shape mendflow is deployed on:
// a stream with 3 replicas keeps every acknowledged message, and keeps
// taking writes, when one of the three nodes is killed.
func TestClusterSurvivesNodeLoss(t *testing.T) {
	c := run(t, mendflowtest.WithNATSCluster(3))
	js := waitJetStream(t, connect(t, c))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Right after the meta leader is elected, not every peer is known yet
	// and placement fails for a moment.
	for {
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{
			Name: "E2E", Subjects: []string{"e2e.>"}, Replicas: 3, Storage: jetstream.FileStorage,
		})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("creating an R3 stream: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	publish := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			for {
				_, err := js.Publish(ctx, "e2e.msg", []byte(fmt.Sprint(i)), jetstream.WithMsgID(fmt.Sprint(i)))
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("publishing %d: %v", i, err)
				}
				time.Sleep(100 * time.Millisecond) // a leader election is under way
			}
		}
	}
	publish(0, 100)
	kill(t, c, "nats-2") // with no shutdown of its own
	publish(100, 200)

	s, err := js.Stream(ctx, "E2E")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 200 {
		t.Fatalf("the stream holds %d messages after losing a node, want all 200", info.State.Msgs)
	}
}
