package poller

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/prometheus/client_golang/prometheus"
)

// TestStopWhileSettingUp: a poller stopped while JetStream cannot create
// its consumer yet stops cleanly, without an error.
func TestStopWhileSettingUp(t *testing.T) {
	t.Parallel()
	// No JetStream: the consumer set-up retries, as with a cluster forming.
	_, js := natstest.StartCore(t, nil).Connect()
	m, err := NewMetrics(prometheus.NewRegistry(), js)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(js, nil, fastConfig(), orgToken, slog.New(slog.DiscardHandler), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	time.Sleep(300 * time.Millisecond) // a retry or two
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run stopped while setting up = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}
