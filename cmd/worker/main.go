// Command worker carries out mendflow commands against Mend. It pulls them
// from the MENDFLOW_COMMANDS stream through one durable consumer that all
// worker processes share, makes each command's effect exactly once,
// publishes a result event for each success, retries what may pass with
// backoff, and keeps what gave up on MENDFLOW_DLQ. See the README's Worker
// section for its environment.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/sethvargo/go-envconfig"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := realMain(ctx, envconfig.OsLookuper(), logger, nil); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// realMain runs the worker until ctx ends, then drains it. When ready is
// not nil, it receives the address of the health and metrics server once
// the worker takes commands.
func realMain(ctx context.Context, env envconfig.Lookuper, logger *slog.Logger, ready chan<- string) error {
	cfg, err := loadSettings(ctx, env)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	svc, err := newService(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer svc.close()
	return svc.run(ctx, ready)
}
