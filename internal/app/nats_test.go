package app

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
)

// TestConnectNATSReconnects: the connection ConnectNATS makes logs losing
// its server and reconnects when it is back, with no option from the
// caller; drain then closes it.
func TestConnectNATSReconnects(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	logs := &servicetest.Logs{}
	nc, err := ConnectNATS(t.Context(), NewGate(), slog.New(slog.NewTextHandler(logs, nil)), ns.URL(), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	bounce(t, ns, nc, logs)
	if err := drain(nc, 5*time.Second); err != nil {
		t.Errorf("drain = %v", err)
	}
	if !nc.IsClosed() {
		t.Errorf("connection is %v after drain, want closed", nc.Status())
	}
}

// TestConnectNATSLogsNoToken: a token in NATS_URL (nats://TOKEN@host, as
// NATS documents token authentication) is a secret; the reconnect line
// must not carry it, as url.URL.Redacted leaves a user without password
// in place.
func TestConnectNATSLogsNoToken(t *testing.T) {
	t.Parallel()
	const token = "s3cr3t-nats-token"
	ns := natstest.StartCore(t, func(o *server.Options) { o.Authorization = token })
	logs := &servicetest.Logs{}
	nc, err := ConnectNATS(t.Context(), NewGate(), slog.New(slog.NewTextHandler(logs, nil)), "nats://"+token+"@"+ns.Addr(), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	bounce(t, ns, nc, logs)
	if strings.Contains(logs.String(), token) {
		t.Errorf("the NATS token is logged:\n%s", logs.String())
	}
}

// bounce stops the server and starts it again, waiting for nc to log its
// disconnection and then its reconnection.
func bounce(t *testing.T, ns *natstest.Server, nc *nats.Conn, logs *servicetest.Logs) {
	t.Helper()
	ns.Stop()
	servicetest.Eventually(t, 10*time.Second, func() bool { return strings.Contains(logs.String(), "NATS disconnected") }, "the disconnect to be logged")
	ns.Restart()
	servicetest.Eventually(t, 10*time.Second, func() bool { return nc.IsConnected() && strings.Contains(logs.String(), "NATS reconnected") }, "a logged reconnect")
}
