// Package worker is the core of cmd/worker: it carries out mendflow
// commands against Mend. It pulls them from the MENDFLOW_COMMANDS stream
// through one durable consumer that all worker processes share, makes each
// command's effect exactly once, publishes a result event for each
// success, retries what may pass with backoff, and keeps what gave up on
// MENDFLOW_DLQ. See the README's Worker section for its environment.
package worker

import (
	"context"
	"fmt"

	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/app"
)

// Run runs the worker until ctx ends, then drains it.
func Run(ctx context.Context, env envconfig.Lookuper, tel app.Telemetry) error {
	return run(ctx, env, tel, nil)
}

// run is Run, and when ready is not nil, it receives the address of the
// health and metrics server once the worker takes commands.
func run(ctx context.Context, env envconfig.Lookuper, tel app.Telemetry, ready chan<- string) error {
	cfg, err := loadSettings(ctx, env)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	svc, err := newService(ctx, cfg, tel)
	if err != nil {
		if ctx.Err() != nil {
			tel.Logger.Info("worker stopped before the set-up was done")
			return nil
		}
		return err
	}
	defer svc.close()
	return svc.run(ctx, ready)
}
