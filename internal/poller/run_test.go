package poller

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
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
	logs := &servicetest.Logs{}
	p, err := New(js, nil, fastConfig(), orgToken, slog.New(slog.NewTextHandler(logs, nil)), m, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	servicetest.Eventually(t, 10*time.Second, func() bool {
		return strings.Count(logs.String(), "JetStream cannot serve the set-up yet") >= 2
	}, "a retry or two of the set-up")
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
