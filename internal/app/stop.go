package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// StopTimeout bounds Shutdown for a service whose work has already stopped
// (the worker and the poller after their grace period, the simulator): its
// HTTP server answers health checks only, and NATS has little to flush.
const StopTimeout = 10 * time.Second

// Shutdown is how every service ends, within timeout: srv stops taking
// connections and answers the requests in flight (Server.Shutdown), then
// nc, when not nil, is drained, flushing what it still buffers (publishes,
// acknowledgements, hand-backs) after the last request that could add to
// it. It returns why srv could not answer every request in time.
//
// A drain that timeout cuts short is not an error: Shutdown closes the
// connection, logs a warning and returns nil, so that the service exits 0.
// Nothing anyone was told is done is lost by it: every publish that was
// answered had been stored by JetStream, and an acknowledgement or a
// hand-back left unsent only makes JetStream deliver that message again
// once its AckWait is over, which the consumers are built for (see the
// README, "Exactly once in effect").
func Shutdown(logger *slog.Logger, srv *Server, nc *nats.Conn, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	err := srv.Shutdown(ctx)
	if nc == nil {
		return err
	}
	switch derr := drain(nc, time.Until(deadline)); {
	case errors.Is(derr, errDrainTimedOut):
		logger.Warn("NATS did not drain in time; what it had not flushed comes back after its AckWait", "timeout", timeout.String())
	case derr != nil:
		err = errors.Join(err, derr)
	}
	return err
}

// errDrainTimedOut is drain's error when the connection did not close in
// time; it is closed then.
var errDrainTimedOut = errors.New("draining NATS: timed out")

// drain drains nc and waits at most timeout for it to close; then it
// closes it anyway. nc's closed handler is replaced.
func drain(nc *nats.Conn, timeout time.Duration) error {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return fmt.Errorf("draining NATS: %w", err)
	}
	select {
	case <-closed:
		return nil
	case <-time.After(timeout):
		nc.Close()
		return errDrainTimedOut
	}
}

// SetUpFailed is what a service returns when its set-up failed with err:
// nil when ctx ended meanwhile, since a stop asked for during the set-up
// (SIGTERM while NATS is still forming) is a clean one, whichever step it
// cut short; err otherwise.
func SetUpFailed(ctx context.Context, logger *slog.Logger, err error) error {
	if ctx.Err() != nil {
		logger.Info("stopped before the set-up was done")
		return nil
	}
	return err
}
