package app

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Gate is the readiness of a service that serves its Server before it has
// set itself up (connected to NATS, created its streams and consumers),
// so that /healthz and /metrics answer while a NATS cluster forms. Until
// Open, Ready reports what the set-up waits for, and /readyz answers 503
// with it; from Open on, Ready is the service's own check.
type Gate struct {
	mu      sync.Mutex
	open    bool
	waiting string
	ready   func(context.Context) error
}

// NewGate returns a closed gate. A service's set-up begins with NATS.
func NewGate() *Gate { return &Gate{waiting: "connecting to NATS"} }

// Wait records what the set-up waits for now. Once the gate is open, it
// does nothing.
func (g *Gate) Wait(reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		g.waiting = reason
	}
}

// Retrying returns an onRetry for bus.RetrySetup that makes each failure
// of the JetStream set-up the reason the gate gives, then passes it on to
// next (which logs it).
func (g *Gate) Retrying(next func(err error, wait time.Duration)) func(err error, wait time.Duration) {
	return func(err error, wait time.Duration) {
		g.Wait("waiting for JetStream set-up: " + err.Error())
		next(err, wait)
	}
}

// Open ends the set-up: from now on Ready runs ready (nil: always ready).
func (g *Gate) Open(ready func(context.Context) error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open, g.waiting, g.ready = true, "", ready
}

// Ready is the gate's readiness check, for ServerConfig.Ready.
func (g *Gate) Ready(ctx context.Context) error {
	g.mu.Lock()
	open, waiting, ready := g.open, g.waiting, g.ready
	g.mu.Unlock()
	switch {
	case !open:
		return errors.New(waiting)
	case ready == nil:
		return nil
	}
	return ready(ctx)
}
