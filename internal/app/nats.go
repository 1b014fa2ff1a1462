package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/mendflow/mendflow/internal/backoff"
	"github.com/mendflow/mendflow/internal/redact"
)

// natsWaits are the waits between two attempts to reach NATS at start-up:
// a second each, as an attempt may itself take a dial timeout per server.
var natsWaits = backoff.Policy{Initial: time.Second, Max: time.Second}

// ConnectNATS connects to the NATS servers that servers lists
// (comma-separated), with opts, for a service starting behind gate. While
// no server can be reached (none started yet, a name that does not resolve
// yet, a cluster still forming), it logs a warning, makes the failure the
// gate's reason and tries again after natsWaits, until a server answers
// or ctx ends; each attempt takes at most the dial timeout of each server.
// What waiting does not cure (a malformed URL, refused credentials, TLS
// wanted on one side only) fails at once. Errors never hold the URLs, which
// may hold passwords. Once connected, the gate waits for the JetStream
// set-up.
//
// The connection reconnects for ever and logs its disconnects and
// reconnects; opts come after these and may change them.
func ConnectNATS(ctx context.Context, gate *Gate, logger *slog.Logger, servers string, opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil when the service itself closes or drains it
				logger.Warn("NATS disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			// Not ConnectedUrlRedacted: it hides a password but leaves a
			// token (nats://TOKEN@host) or a user name in place.
			logger.Info("NATS reconnected", "server", redact.URL(nc.ConnectedUrl()))
		}),
	}, opts...)
	var nc *nats.Conn
	err := natsWaits.Retry(ctx, func() (err error) {
		nc, err = nats.Connect(servers, opts...)
		return redact.Error(err)
	}, backoff.RetryIf(unreachable), backoff.Notify(func(err error, wait time.Duration) {
		gate.Wait("connecting to NATS: " + err.Error())
		logger.Warn("NATS cannot be reached yet; trying again", "error", err.Error(), "retry_in", wait.String())
	}))
	if err != nil {
		return nil, err
	}
	gate.Wait("waiting for JetStream set-up")
	return nc, nil
}

// unreachable reports whether connecting failed for want of a server that
// answers, which may pass: every server refused the connection, a dial or
// a read failed (a name not resolving, a timeout, a reset), or a server
// closed the connection or did not answer the handshake in time. An
// address that cannot be dialled at all (a port out of range) does not
// pass.
func unreachable(err error) bool {
	var addrErr *net.AddrError
	if errors.As(err, &addrErr) {
		return false
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && (opErr.Op == "dial" || opErr.Op == "read") {
		return true
	}
	return errors.Is(err, nats.ErrNoServers) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, io.EOF)
}
