package handlers

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mendflow/mendflow/internal/servicetest"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// lister is a scope's list call that counts how often it runs.
type lister struct {
	calls atomic.Int32
	mu    sync.Mutex
	names map[string]string
	err   error
	gate  chan struct{} // when set, a call waits for it
}

func (l *lister) list(ctx context.Context) (map[string]string, error) {
	l.calls.Add(1)
	if l.gate != nil {
		<-l.gate
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return nil, l.err
	}
	out := make(map[string]string, len(l.names))
	for k, v := range l.names {
		out[k] = v
	}
	return out, nil
}

func (l *lister) set(name, token string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names[name] = token
}

func TestNameCache(t *testing.T) {
	t.Parallel()
	type step struct {
		do        func(c *nameCache, l *lister, clk *fakeClock)
		name      string // looked up after do
		wantTok   string
		wantFound bool
		wantCalls int32 // list calls so far
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a hit needs no call within the TTL", []step{
			{name: "a", wantTok: "ta", wantFound: true, wantCalls: 1},
			{name: "a", wantTok: "ta", wantFound: true, wantCalls: 1},
		}},
		{"a stale list is listed again", []step{
			{name: "a", wantTok: "ta", wantFound: true, wantCalls: 1},
			{do: func(_ *nameCache, _ *lister, clk *fakeClock) { clk.add(time.Minute) }, name: "a", wantTok: "ta", wantFound: true, wantCalls: 2},
		}},
		{"a miss is listed again at once", []step{
			{name: "a", wantTok: "ta", wantFound: true, wantCalls: 1},
			{do: func(_ *nameCache, l *lister, clk *fakeClock) { l.set("new", "tn"); clk.add(recentList) }, name: "new", wantTok: "tn", wantFound: true, wantCalls: 2},
			{do: func(_ *nameCache, _ *lister, clk *fakeClock) { clk.add(recentList) }, name: "gone", wantCalls: 3},
		}},
		{"a miss moments after a list needs no call", []step{
			{name: "a", wantTok: "ta", wantFound: true, wantCalls: 1},
			{name: "missing", wantCalls: 1},
		}},
		{"a name put needs no call", []step{
			{name: "a", wantTok: "ta", wantFound: true, wantCalls: 1},
			{do: func(c *nameCache, _ *lister, _ *fakeClock) { c.put("s", "mine", "tm") }, name: "mine", wantTok: "tm", wantFound: true, wantCalls: 1},
		}},
		{"a token forgotten is looked up again", []step{
			{name: "a", wantTok: "ta", wantFound: true, wantCalls: 1},
			{do: func(c *nameCache, l *lister, clk *fakeClock) {
				c.forget("s", "ta")
				l.set("a", "ta2")
				clk.add(recentList)
			}, name: "a", wantTok: "ta2", wantFound: true, wantCalls: 2},
		}},
		{"a dropped scope is listed again", []step{
			{name: "a", wantTok: "ta", wantFound: true, wantCalls: 1},
			{do: func(c *nameCache, _ *lister, _ *fakeClock) { c.drop("s") }, name: "a", wantTok: "ta", wantFound: true, wantCalls: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := &fakeClock{now: time.Unix(0, 0)}
			c := newNameCache(30*time.Second, clk.Now)
			l := &lister{names: map[string]string{"a": "ta"}}
			for i, s := range tt.steps {
				if s.do != nil {
					s.do(c, l, clk)
				}
				tok, found, err := c.lookup(context.Background(), "s", s.name, l.list)
				if err != nil || tok != s.wantTok || found != s.wantFound || l.calls.Load() != s.wantCalls {
					t.Errorf("step %d: lookup(%q) = %q, %v, %v after %d calls; want %q, %v after %d",
						i, s.name, tok, found, err, l.calls.Load(), s.wantTok, s.wantFound, s.wantCalls)
				}
			}
		})
	}
}

func TestNameCacheRelist(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{now: time.Unix(0, 0)}
	c := newNameCache(30*time.Second, clk.Now)
	l := &lister{names: map[string]string{"a": "ta"}}
	if _, found, _ := c.lookup(context.Background(), "s", "b", l.list); found {
		t.Fatal("b found before it exists")
	}
	// Mend then says b is taken: relist must ask again, however new the list.
	l.set("b", "tb")
	tok, found, err := c.relist(context.Background(), "s", "b", l.list)
	if err != nil || !found || tok != "tb" || l.calls.Load() != 2 {
		t.Errorf("relist = %q, %v, %v after %d calls; want tb, true after 2", tok, found, err, l.calls.Load())
	}
}

// doneCounter counts the calls of its Done: a lookup asks for it as it
// starts to wait on another's list call.
type doneCounter struct {
	context.Context
	n *atomic.Int32
}

func (c doneCounter) Done() <-chan struct{} {
	c.n.Add(1)
	return c.Context.Done()
}

func TestNameCacheSharesOneCall(t *testing.T) {
	t.Parallel()
	c := newNameCache(time.Minute, time.Now)
	l := &lister{names: map[string]string{"a": "ta"}, gate: make(chan struct{})}
	var waiting atomic.Int32
	ctx := doneCounter{Context: context.Background(), n: &waiting}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tok, ok, err := c.lookup(ctx, "s", "a", l.list); tok != "ta" || !ok || err != nil {
				t.Errorf("lookup = %q, %v, %v", tok, ok, err)
			}
		}()
	}
	servicetest.Eventually(t, 10*time.Second, func() bool { return l.calls.Load() == 1 && waiting.Load() == 19 },
		"one lookup to list and the others to wait on it")
	c.drop("s") // a drop meanwhile must not break the waiters
	close(l.gate)
	wg.Wait()
	if n := l.calls.Load(); n != 1 {
		t.Errorf("%d list calls for 20 concurrent lookups, want 1", n)
	}
}

func TestNameCacheErrors(t *testing.T) {
	t.Parallel()
	c := newNameCache(time.Minute, time.Now)
	boom := errors.New("boom")
	l := &lister{names: map[string]string{"a": "ta"}, err: boom}
	if _, _, err := c.lookup(context.Background(), "s", "a", l.list); !errors.Is(err, boom) {
		t.Fatalf("lookup = %v, want the list error", err)
	}
	l.err = nil
	if tok, ok, err := c.lookup(context.Background(), "s", "a", l.list); tok != "ta" || !ok || err != nil {
		t.Errorf("after the error, lookup = %q, %v, %v; the failure must not be cached", tok, ok, err)
	}
	if _, ok := c.peek("s", "a"); !ok {
		t.Error("peek misses a fresh name")
	}
	if _, ok := c.peek("s", "b"); ok {
		t.Error("peek finds an unknown name")
	}
}
