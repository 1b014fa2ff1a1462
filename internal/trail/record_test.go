package trail

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/natstest"
)

// TestRecordKeys checks that any correlation id makes a valid key, and
// that the keys of a chain share its prefix and no other chain's.
func TestRecordKeys(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)
	for _, id := range []string{"gh-1", "urn:uuid:5b1e", "a b/c", strings.Repeat("x", 4000), "ü"} {
		k := recordKey(id, KindCommand, 12, 3)
		if !valid.MatchString(k) || len(k) > 64 {
			t.Errorf("key of %q: %q", id, k)
		}
		prefix := strings.TrimSuffix(chainPattern(id), ">")
		if !strings.HasPrefix(k, prefix) || !strings.HasPrefix(recordKey(id, KindItem, 4, 9), prefix) {
			t.Errorf("keys of %q do not start with %q", id, prefix)
		}
		if strings.HasPrefix(recordKey(id+"x", KindCommand, 12, 3), prefix) {
			t.Errorf("another chain's key starts with %q", prefix)
		}
	}
	if recordKey("c", KindItem, 4, 1) == recordKey("c", KindItem, 4, 2) {
		t.Error("two polls of an item share a key: a watch may miss one overwritten")
	}
}

// TestRecordFailureCounted checks that a record that cannot be written is
// logged and counted, and costs the delivery no more than the timeout.
func TestRecordFailureCounted(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	_, js := ns.Connect()
	ctx := t.Context()
	if err := bus.EnsureStreams(ctx, js, bus.StreamConfig{Replicas: 1, DedupWindow: time.Hour, EventsMaxBytes: -1, DLQMaxBytes: -1}); err != nil {
		t.Fatal(err)
	}
	kv, err := OpenBucket(ctx, js, Config{TTL: time.Hour}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	r, err := NewRecorder(kv, KindCommand, slog.New(slog.NewTextHandler(&logs, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	d := delivered(t, js)
	if err := js.DeleteKeyValue(ctx, Bucket); err != nil {
		t.Fatal(err)
	}
	r.End(r.Begin(ctx, d), d, bus.Ending{Outcome: bus.OutcomeRetry, Reason: "transient", Delay: time.Second, Err: errors.New("mend: 503")})
	if got := testutil.ToFloat64(r.failed); got != 1 {
		t.Errorf("failures counted: %v, want 1", got)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "was not written") {
		t.Errorf("log: %s", logs.String())
	}
	// A record of a delivery whose context was cut is still written.
	kv, err = OpenBucket(ctx, js, Config{TTL: time.Hour}, 1)
	if err != nil {
		t.Fatal(err)
	}
	r.kv = kv
	cut, cancel := context.WithCancel(ctx)
	rctx := r.Begin(cut, d)
	cancel()
	r.End(rctx, d, bus.Ending{Outcome: bus.OutcomeHandedBack, Reason: bus.ReasonStopping})
	tr, err := Build(ctx, js, "5b1e4e5a-3d4c-4f6e-9a1b-2c3d4e5f6a7b")
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Commands) != 1 || len(tr.Commands[0].Attempts) != 1 || tr.Commands[0].Attempts[0].Outcome != bus.OutcomeHandedBack {
		t.Fatalf("trace: %+v", tr)
	}
}

// TestMarkIncoming checks what a command's headers keep of its incoming
// event: never a URL's credentials, never a line break, never much.
func TestMarkIncoming(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, typ, source    string
		wantType, wantSource string
	}{
		{"webhook", "com.github.repository.created", "https://github.com/acme/api", "com.github.repository.created", "https://github.com/acme/api"},
		{"credentials", "t", "https://bot:s3cret@git.example/acme?token=s3cret", "t", "https://git.example/acme"},
		{"line break", "t\r\nx", "/test", "", "/test"},
		{"long", strings.Repeat("t", 1000), "/s", strings.Repeat("t", maxMarked) + "…", "/s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := event.New()
			e.SetType(tc.typ)
			e.SetSource(tc.source)
			h := nats.Header{}
			MarkIncoming(h, e)
			if got := h.Get(HeaderEventType); got != tc.wantType {
				t.Errorf("type %q, want %q", got, tc.wantType)
			}
			if got := h.Get(HeaderEventSource); got != tc.wantSource {
				t.Errorf("source %q, want %q", got, tc.wantSource)
			}
		})
	}
}
