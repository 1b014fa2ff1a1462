package handlers

import (
	"context"
	"sync"
)

// keyLock is a set of mutexes by key, which a waiter leaves when its
// context ends. Its zero value is ready; it holds only the keys locked.
type keyLock struct {
	mu   sync.Mutex
	held map[string]chan struct{} // closed when the key is unlocked
}

// lock waits until key is free or ctx ends, and takes it.
func (l *keyLock) lock(ctx context.Context, key string) (unlock func(), err error) {
	for {
		l.mu.Lock()
		released, busy := l.held[key]
		if !busy {
			if l.held == nil {
				l.held = map[string]chan struct{}{}
			}
			mine := make(chan struct{})
			l.held[key] = mine
			l.mu.Unlock()
			return func() {
				l.mu.Lock()
				delete(l.held, key)
				l.mu.Unlock()
				close(mine)
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-released:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
