package ctl

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/pkg/events"
)

func TestStatus(t *testing.T) {
	t.Parallel()
	env, js := setup(t) // three dead letters
	ctx := context.Background()
	if _, err := js.CreateOrUpdateConsumer(ctx, events.StreamDLQ, jetstream.ConsumerConfig{Durable: "operator", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.OrderedConsumer(ctx, events.StreamDLQ, jetstream.OrderedConsumerConfig{}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"other.>"}}); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, env, "status")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 1 {
			rows[f[0]+" "+f[1]] = strings.Join(f, " ")
		}
	}
	for key, want := range map[string]string{
		"MENDFLOW_DLQ 3":        "MENDFLOW_DLQ 3", // messages; bytes, seqs, replicas, leader follow
		"MENDFLOW_COMMANDS 0":   "MENDFLOW_COMMANDS 0 0 B 0 0 1 -",
		"MENDFLOW_DLQ operator": "MENDFLOW_DLQ operator 3 0 0 0 -",
		"MENDFLOW_EVENTS 0":     "MENDFLOW_EVENTS 0 0 B 0 0 1 -",
		"MENDFLOW_TRACKING 0":   "MENDFLOW_TRACKING 0 0 B 0 0 1 -",
	} {
		if got := rows[key]; !strings.HasPrefix(got, want) {
			t.Errorf("row %q = %q, want %q…\n%s", key, got, want, out)
		}
	}
	if strings.Contains(out, "OTHER") || strings.Count(out, "MENDFLOW_DLQ") != 2 {
		t.Errorf("status shows another stream or an ephemeral consumer:\n%s", out)
	}
	if !strings.Contains(rows["MENDFLOW_DLQ 3"], " 1 3 1 -") {
		t.Errorf("DLQ row %q: want first seq 1, last seq 3, 1 replica, no leader", rows["MENDFLOW_DLQ 3"])
	}
}

func TestStatusEmpty(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	out, err := run(t, envconfig.MapLookuper(map[string]string{"NATS_URL": ns.URL()}), "status")
	if err != nil || !strings.Contains(out, "no mendflow streams") {
		t.Errorf("status = %q, %v", out, err)
	}
}

func TestBytesSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		n    uint64
		want string
	}{
		{"bytes", 1023, "1023 B"},
		{"KiB", 1536, "1.5 KiB"},
		{"MiB", 5 << 20, "5.0 MiB"},
		{"GiB", 3 << 30, "3.0 GiB"},
	}
	for _, tt := range tests {
		if got := bytesSize(tt.n); got != tt.want {
			t.Errorf("%s: bytesSize(%d) = %q, want %q", tt.name, tt.n, got, tt.want)
		}
	}
}
