// Package natstest runs an in-process NATS server with JetStream for tests,
// as net/http/httptest does for HTTP: a real server on loopback, file
// storage in the test's temporary directory, shut down when the test ends.
package natstest

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is an in-process NATS server, with JetStream unless started by
// StartCore.
type Server struct {
	t    testing.TB
	opts *server.Options
	srv  *server.Server
}

// Start starts a server with JetStream on a free loopback port and stops it
// when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return startWith(t, func(o *server.Options) {
		o.JetStream, o.StoreDir = true, t.TempDir()
	})
}

// StartCore starts a server without JetStream, as a cluster still forming
// looks to its clients, with the options configure sets (credentials, say;
// nil: none), and stops it when the test ends.
func StartCore(t testing.TB, configure func(*server.Options)) *Server {
	t.Helper()
	return startWith(t, configure)
}

func startWith(t testing.TB, configure func(*server.Options)) *Server {
	t.Helper()
	s := &Server{t: t, opts: &server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true}}
	if configure != nil {
		configure(s.opts)
	}
	s.start()
	// Restart must come back on the same port, so clients reconnect to it.
	s.opts.Port = s.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	srv, err := server.NewServer(s.opts)
	if err != nil {
		s.t.Fatalf("natstest: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		s.t.Fatal("natstest: server not ready")
	}
	s.srv = srv
}

// URL is the client URL of the server.
func (s *Server) URL() string { return s.srv.ClientURL() }

// Addr is the server's client address, host:port.
func (s *Server) Addr() string { return s.srv.Addr().String() }

// Stop shuts the server down; its JetStream data stays on disk for Restart.
func (s *Server) Stop() {
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
}

// Restart starts the server again on the same port with the same storage.
func (s *Server) Restart() {
	s.t.Helper()
	s.start()
}

// Connect connects a client that the test closes when it ends.
func (s *Server) Connect() (*nats.Conn, jetstream.JetStream) {
	s.t.Helper()
	nc, err := nats.Connect(s.URL())
	if err != nil {
		s.t.Fatalf("natstest: connect: %v", err)
	}
	s.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		s.t.Fatalf("natstest: jetstream: %v", err)
	}
	return nc, js
}

// StreamMsgs returns every message stored on stream, oldest first, reading
// them by sequence so that no consumer is left behind.
func StreamMsgs(t testing.TB, js jetstream.JetStream, stream string) []*jetstream.RawStreamMsg {
	t.Helper()
	// Each request has 10 seconds: one deadline for all would fail a test
	// that stored ten thousand messages on a busy machine.
	s, err := within10s(func(ctx context.Context) (jetstream.Stream, error) { return js.Stream(ctx, stream) })
	if err != nil {
		t.Fatalf("natstest: stream %s: %v", stream, err)
	}
	info, err := within10s(func(ctx context.Context) (*jetstream.StreamInfo, error) { return s.Info(ctx) })
	if err != nil {
		t.Fatalf("natstest: stream %s: %v", stream, err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := within10s(func(ctx context.Context) (*jetstream.RawStreamMsg, error) { return s.GetMsg(ctx, seq) })
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted, as a work queue deletes what was consumed
		}
		if err != nil {
			t.Fatalf("natstest: stream %s message %d: %v", stream, seq, err)
		}
		out = append(out, m)
	}
	return out
}

// within10s calls f with a context that ends after 10 seconds.
func within10s[T any](f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return f(ctx)
}
