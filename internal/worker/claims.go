package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Key-value buckets of the worker, shared by all workers.
const (
	// claimsBucket holds the claims of commands whose effect Mend cannot
	// be asked about afterwards (see handlers.Claims).
	claimsBucket = "MENDFLOW_WORKER_CLAIMS"
	// locksBucket holds the locks of commands running (handlers.Locks).
	locksBucket = "MENDFLOW_WORKER_LOCKS"
	// latersBucket counts the deliveries of each command that spent no
	// attempt: asked for later (Mend unavailable, a target not there
	// yet, another copy running) or handed back (bus.Laters).
	latersBucket = "MENDFLOW_WORKER_LATERS"
)

// openBucket creates a key-value bucket or updates it to ttl: like the
// consumer, the buckets follow the settings of the worker started last.
func openBucket(ctx context.Context, js jetstream.JetStream, name, description string, ttl time.Duration, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: name, Description: description, TTL: ttl, Replicas: replicas, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", name, err)
	}
	return kv, nil
}

// kvClaims are handlers.Claims in a bucket: Create succeeds for one
// claimant only. Claims live as long as commands are deduplicated; a copy
// published later is a new command.
type kvClaims struct{ kv jetstream.KeyValue }

// Claim implements handlers.Claims.
func (c kvClaims) Claim(ctx context.Context, key string) (bool, error) {
	_, err := c.kv.Create(ctx, key, nil)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	return err == nil, err
}

// Put implements handlers.Claims.
func (c kvClaims) Put(ctx context.Context, key string, value []byte) error {
	_, err := c.kv.Put(ctx, key, value)
	return err
}

// Get implements handlers.Claims.
func (c kvClaims) Get(ctx context.Context, key string) ([]byte, error) {
	e, err := c.kv.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return e.Value(), nil
}

// Release implements handlers.Claims.
func (c kvClaims) Release(ctx context.Context, key string) error { return c.kv.Purge(ctx, key) }

// kvLocks are handlers.Locks in a bucket whose entries live a short TTL:
// the holder renews its lock every third of it while the command runs, so
// that the lock of a worker that died expires about when JetStream gives
// its command to another worker.
type kvLocks struct {
	kv    jetstream.KeyValue
	renew time.Duration
}

// Lock implements handlers.Locks.
func (l kvLocks) Lock(ctx context.Context, key string) (func(), bool, error) {
	rev, err := l.kv.Create(ctx, key, nil)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	// The lock outlives ctx by design: it is given back after the handler.
	bg := context.WithoutCancel(ctx)
	done := make(chan struct{})
	var mu sync.Mutex // guards rev
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(l.renew)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				mu.Lock()
				next, err := l.kv.Update(bg, key, nil, rev)
				if err == nil {
					rev = next
				}
				mu.Unlock()
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		ctx, cancel := context.WithTimeout(bg, 5*time.Second)
		defer cancel()
		// Only this holder's lock: had it expired and been taken by
		// another, the revision differs and the other's stays.
		_ = l.kv.Purge(ctx, key, jetstream.LastRevision(rev))
	}, true, nil
}
