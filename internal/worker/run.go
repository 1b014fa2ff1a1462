// Package worker is the core of cmd/worker: it carries out mendflow
// commands against Mend. It pulls them from the MENDFLOW_COMMANDS stream
// through one durable consumer that all worker processes share, makes each
// command's effect exactly once, publishes a result event for each
// success, retries what may pass with backoff, and keeps what gave up on
// MENDFLOW_DLQ. See the README's Worker section for its environment.
package worker

import (
	"context"

	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/config"
)

// Run runs the worker until ctx ends, then drains it; it is an
// app.RealMain.
func Run(ctx context.Context, env envconfig.Lookuper, tel app.Telemetry) error {
	var cfg settings
	if err := config.Load(ctx, env, &cfg); err != nil {
		return err
	}
	cfg.getenv = func(name string) string { v, _ := env.Lookup(name); return v }
	svc, err := newService(ctx, cfg, tel)
	if err != nil {
		return app.SetUpFailed(ctx, tel.Logger, err)
	}
	defer svc.close()
	return svc.run(ctx)
}
