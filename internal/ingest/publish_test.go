package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// gatedPublisher holds every publish until released, counting how many
// are in flight at once.
type gatedPublisher struct {
	mu       sync.Mutex
	inflight int
	max      int
	release  chan struct{}
	fail     string // a subject whose publish fails at once
}

func (p *gatedPublisher) PublishMsg(ctx context.Context, msg *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if msg.Subject == p.fail {
		return nil, jetstream.ErrNoStreamResponse
	}
	p.mu.Lock()
	p.inflight++
	p.max = max(p.max, p.inflight)
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inflight--
		p.mu.Unlock()
	}()
	select {
	case <-p.release:
		return &jetstream.PubAck{Stream: "S", Duplicate: msg.Subject == "dup"}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *gatedPublisher) inFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inflight
}

func commands(n int) []*command {
	out := make([]*command, n)
	for i := range out {
		out[i] = &command{msgID: fmt.Sprint(i), msg: &nats.Msg{Subject: fmt.Sprintf("s.%d", i)}}
	}
	return out
}

func TestPublishAllIsConcurrentAndBounded(t *testing.T) {
	t.Parallel()
	p := &gatedPublisher{release: make(chan struct{})}
	cmds := commands(150)
	cmds[7].msg.Subject = "dup"
	done := make(chan error, 1)
	go func() { done <- publishAll(t.Context(), p, cmds) }()

	deadline := time.Now().Add(5 * time.Second)
	for p.inFlight() < maxConcurrentPublishes {
		if time.Now().After(deadline) {
			t.Fatalf("only %d publishes in flight at once, want %d", p.inFlight(), maxConcurrentPublishes)
		}
		time.Sleep(time.Millisecond)
	}
	close(p.release)
	if err := <-done; err != nil {
		t.Fatalf("publishAll: %v", err)
	}
	if p.max != maxConcurrentPublishes {
		t.Errorf("at most %d publishes in flight, want %d", p.max, maxConcurrentPublishes)
	}
	for i, c := range cmds {
		if c.view.Duplicate != (i == 7) {
			t.Errorf("command %d: duplicate = %v", i, c.view.Duplicate)
		}
	}
}

func TestPublishAllStopsAtTheFirstFailure(t *testing.T) {
	t.Parallel()
	p := &gatedPublisher{release: make(chan struct{}), fail: "s.3"}
	err := publishAll(t.Context(), p, commands(10))
	if !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Fatalf("publishAll = %v, want the failed publish's error", err)
	}
	if got := failureReason(err); got != "no_responders" {
		t.Errorf("failureReason = %q", got)
	}
}
