package poller

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sethvargo/go-envconfig"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

func startNATS(t testing.TB) string { return natstest.Start(t).URL() }

// TestRealMain runs the poller as a user would, from its environment, and
// follows one plugin request to its completion event.
func TestRealMain(t *testing.T) {
	t.Parallel()
	natsURL := startNATS(t)
	sim := mendsim.NewServer(mendsim.Config{RequestDuration: time.Hour, RequestPolls: 2})
	t.Cleanup(sim.Close)
	var logs bytes.Buffer
	env := envconfig.MapLookuper(map[string]string{
		"NATS_URL":              natsURL,
		"POLLER_ADDR":           "127.0.0.1:0",
		"MEND_URL":              sim.URL,
		"MEND_USER_KEY":         mendsim.DefaultUserKey,
		"MEND_USER_EMAIL":       mendsim.DefaultUserEmail,
		"MEND_ORG_TOKEN":        mendsim.DefaultOrgToken,
		"POLLER_FIRST_INTERVAL": "10ms",
		"POLLER_MAX_INTERVAL":   "50ms",
	})
	addr, cancel, done := servicetest.Start(t, func(ctx context.Context, listening func(string)) error {
		return Run(ctx, env, app.Telemetry{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Tracer: sdktrace.NewTracerProvider(), OnListen: listening})
	})
	servicetest.WaitReady(t, addr, 10*time.Second)

	// An item without orgToken belongs to MEND_ORG_TOKEN.
	token, err := sim.RegisterRequest(mendsim.PluginRequest{})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	msg := trackMsg(t, "1", events.Track{Kind: events.TrackRequest, RequestToken: token, Started: time.Now()})
	if _, err := js.PublishMsg(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	sub, err := nc.SubscribeSync(events.ResultSubject(events.TypeRequestFinished))
	if err != nil {
		t.Fatal(err)
	}
	got, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no request.finished event: %v", err)
	}
	ce, err := bus.FromMsg(got)
	if err != nil {
		t.Fatal(err)
	}
	var data struct{ OrgToken, RequestToken, RequestState string }
	if err := json.Unmarshal(ce.Data(), &data); err != nil {
		t.Fatal(err)
	}
	if data.OrgToken != mendsim.DefaultOrgToken || data.RequestToken != token || data.RequestState != "FINISHED" ||
		events.Extension(ce, events.ExtCorrelationID) != "incoming-1" || events.Extension(ce, events.ExtCausationID) != "command-1" {
		t.Errorf("completion %+v correlationid %q causationid %q, want FINISHED for the organization, incoming-1, command-1",
			data, events.Extension(ce, events.ExtCorrelationID), events.Extension(ce, events.ExtCausationID))
	}
	// The poll continued the item's trace: its Mend calls and the
	// completion carry it, from spans of the poller's.
	if tp := events.Extension(ce, events.ExtTraceparent); !strings.HasPrefix(tp, "00-"+testTraceID+"-") || strings.Contains(tp, "00f067aa0ba902b7") {
		t.Errorf("completion traceparent %q, want a span of trace %s", tp, testTraceID)
	}
	for _, c := range sim.CallsOf("getRequestState") {
		if !strings.HasPrefix(c.Traceparent, "00-"+testTraceID+"-") {
			t.Errorf("getRequestState traceparent %q, want trace %s", c.Traceparent, testTraceID)
		}
	}

	for _, tt := range []struct{ path, want string }{
		{"/healthz", "ok"},
		{"/readyz", "ok"},
		{"/metrics", `mendflow_poller_completions_total{kind="request",outcome="succeeded"} 1`},
		{"/metrics", "mendflow_poller_items_followed 0"},
		{"/metrics", "process_resident_memory_bytes"},
		{"/metrics", `mendflow_mend_request_duration_seconds_count{class="2xx",operation="getRequestState"} 2`},
		{"/metrics", `mendflow_consumer_pending_messages{consumer="poller",stream="MENDFLOW_TRACKING"} 0`},
	} {
		// The poller counts a completion, and the consumer drops the item,
		// only after the event is published: poll until they catch up.
		var status int
		var body string
		if !servicetest.Poll(10*time.Second, func() bool {
			status, body = servicetest.Get(t, addr, tt.path)
			return status == http.StatusOK && strings.Contains(body, tt.want)
		}) {
			t.Errorf("GET %s: %d, want 200 with %q in:\n%s", tt.path, status, tt.want, body)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not stop")
	}
	if strings.Contains(logs.String(), mendsim.DefaultUserKey) {
		t.Error("the user key is in the logs")
	}
	// The hosts it calls, MEND_API_URL derived from MEND_URL.
	if want := `"msg":"Mend hosts","mend_url":"` + sim.URL + `","mend_api_url":"` + sim.URL + `"`; !strings.Contains(logs.String(), want) {
		t.Errorf("the logs do not name the Mend hosts as %s", want)
	}
}

// testTraceID is the trace of the Track items of trackMsg.
const testTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"

// trackMsg is the message of a Track item as the worker hands it over,
// answering command-<n> of incoming event incoming-<n>.
func trackMsg(t testing.TB, n string, tr events.Track) *nats.Msg {
	t.Helper()
	e := event.New()
	e.SetID("track-" + n)
	e.SetSource("/mendflow/worker")
	e.SetType(events.TrackType(tr.Kind))
	e.SetExtension(events.ExtCorrelationID, "incoming-"+n)
	e.SetExtension(events.ExtCausationID, "command-"+n)
	e.SetExtension(events.ExtTraceparent, "00-"+testTraceID+"-00f067aa0ba902b7-01")
	if err := e.SetData(event.ApplicationJSON, tr); err != nil {
		t.Fatal(err)
	}
	msg, err := bus.ToMsg(events.TrackSubject(tr.Kind), e)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// TestRealMainBadConfig: what waiting would not cure stops the poller at
// once, even with NATS down.
func TestRealMainBadConfig(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	valid := map[string]string{
		"NATS_URL":        "nats://127.0.0.1:1",
		"POLLER_ADDR":     "127.0.0.1:0",
		"MEND_URL":        "http://127.0.0.1:1",
		"MEND_USER_KEY":   "s3cr3t-user-key",
		"MEND_USER_EMAIL": "svc@example.com",
		"MEND_ORG_TOKEN":  "org",
	}
	tests := []struct {
		name    string
		set     map[string]string
		unset   string
		wantVar string
	}{
		{name: "no Mend URL", unset: "MEND_URL", wantVar: "MEND_URL"},
		{name: "no user key", unset: "MEND_USER_KEY", wantVar: "MEND_USER_KEY"},
		{name: "no organization", unset: "MEND_ORG_TOKEN", wantVar: "MEND_ORG_TOKEN"},
		{name: "interval not a duration", set: map[string]string{"POLLER_FIRST_INTERVAL": "soon"}, wantVar: "POLLER_FIRST_INTERVAL"},
		{name: "cap below the first interval", set: map[string]string{"POLLER_FIRST_INTERVAL": "1m", "POLLER_MAX_INTERVAL": "1s"}, wantVar: "POLLER_MAX_INTERVAL"},
		{name: "multiplier that does not grow", set: map[string]string{"POLLER_MULTIPLIER": "1"}, wantVar: "POLLER_MULTIPLIER"},
		{name: "jitter of 1", set: map[string]string{"POLLER_JITTER": "1"}, wantVar: "POLLER_JITTER"},
		{name: "no concurrency", set: map[string]string{"POLLER_CONCURRENCY": "0"}, wantVar: "POLLER_CONCURRENCY"},
		{name: "updated-is-done not a bool", set: map[string]string{"POLLER_UPDATED_IS_DONE": "perhaps"}, wantVar: "POLLER_UPDATED_IS_DONE"},
		{name: "replicas", set: map[string]string{"STREAM_REPLICAS": "7"}, wantVar: "STREAM_REPLICAS"},
		{name: "negative rate limit", set: map[string]string{"MEND_RATE_LIMIT": "-1"}, wantVar: "MEND_RATE_LIMIT"},
		{name: "address in use", set: map[string]string{"POLLER_ADDR": taken.Addr().String()}, wantVar: "POLLER_ADDR"},
		{name: "NATS URL malformed", set: map[string]string{"NATS_URL": "nats://user:hunter2@127.0.0.1:42x2"}, wantVar: "NATS_URL"},
		{name: "empty organization", set: map[string]string{"MEND_ORG_TOKEN": ""}, wantVar: "MEND_ORG_TOKEN"},
		{name: "empty Mend URL", set: map[string]string{"MEND_URL": ""}, wantVar: "MEND_URL"},
		{name: "Mend URL without scheme", set: map[string]string{"MEND_URL": "saas.mend.io"}, wantVar: "MEND_URL"},
		{name: "API URL without scheme", set: map[string]string{"MEND_API_URL": "api-saas.mend.io"}, wantVar: "MEND_API_URL"},
		{name: "empty user key", set: map[string]string{"MEND_USER_KEY": ""}, wantVar: "MEND_USER_KEY"},
		// Every process status is a v2.0 call, which needs the JWT login.
		{name: "no user e-mail", unset: "MEND_USER_EMAIL", wantVar: "MEND_USER_EMAIL"},
		{name: "blank user e-mail", set: map[string]string{"MEND_USER_EMAIL": " "}, wantVar: "MEND_USER_EMAIL"},
		// A Mend timeout of 0 or below is not taken for the default.
		{name: "negative Mend timeout", set: map[string]string{"MEND_TIMEOUT": "-1s"}, wantVar: "MEND_TIMEOUT"},
		{name: "zero Mend timeout", set: map[string]string{"MEND_TIMEOUT": "0s"}, wantVar: "MEND_TIMEOUT"},
		{name: "negative retry time", set: map[string]string{"MEND_RETRY_MAX_ELAPSED": "-15s"}, wantVar: "MEND_RETRY_MAX_ELAPSED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			for k, v := range valid {
				env[k] = v
			}
			for k, v := range tt.set {
				env[k] = v
			}
			delete(env, tt.unset)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := Run(ctx, envconfig.MapLookuper(env), app.Telemetry{Logger: slog.New(slog.DiscardHandler)})
			if err == nil || !strings.Contains(err.Error(), tt.wantVar+":") {
				t.Fatalf("run = %v, want at once an error naming %s", err, tt.wantVar)
			}
			if strings.Contains(err.Error(), valid["MEND_USER_KEY"]) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("a secret is in the error: %v", err)
			}
		})
	}
}
