package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
)

// structured builds a structured-mode CloudEvent carrying a command.
func structured(id, name, data string) []byte {
	return fmt.Appendf(nil, `{"specversion":"1.0","id":%q,"source":"/platform/tooling","type":"io.mendflow.command.%s","datacontenttype":"application/json","data":%s}`,
		id, name, data)
}

func batchOf(evs ...[]byte) []byte {
	return []byte("[" + string(joinBytes(evs, ",")) + "]")
}

func joinBytes(parts [][]byte, sep string) []byte {
	var out []byte
	for i, p := range parts {
		if i > 0 {
			out = append(out, sep...)
		}
		out = append(out, p...)
	}
	return out
}

func statuses(t testing.TB, body []byte) []string {
	t.Helper()
	var out []string
	for _, e := range decodeAnswer(t, body).Events {
		out = append(out, e.ID+":"+e.Status)
	}
	return out
}

func TestRepeatedDeliveryQueuesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	body := readFile(t, "github/repository.created.json")
	header := githubHeaders("repository", "d-1", body)

	status, _, first := h.do(http.MethodPost, "/webhooks/github", header, body)
	if status != http.StatusAccepted {
		t.Fatalf("first delivery: %d %s", status, first)
	}
	// GitHub's redelivery: same X-GitHub-Delivery, same body.
	status, _, second := h.do(http.MethodPost, "/webhooks/github", header, body)
	if status != http.StatusAccepted {
		t.Fatalf("redelivery: %d %s", status, second)
	}
	if diff := cmp.Diff([]string{"d-1:queued"}, statuses(t, first)); diff != "" {
		t.Errorf("first (-want, +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"d-1:duplicate"}, statuses(t, second)); diff != "" {
		t.Errorf("redelivery (-want, +got):\n%s", diff)
	}
	if n := len(h.msgs()); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}

	// The same event again in a batch beside a new one: only the new one
	// is queued.
	batch := batchOf(structured("c-1", "request.track", `{"requestToken":"r1"}`), structured("c-2", "request.track", `{"requestToken":"r2"}`))
	if status, _, b := h.do(http.MethodPost, "/events", http.Header{"Content-Type": {mediaBatch}}, batch); status != http.StatusAccepted {
		t.Fatalf("batch: %d %s", status, b)
	}
	again := batchOf(structured("c-2", "request.track", `{"requestToken":"r2"}`), structured("c-3", "request.track", `{"requestToken":"r3"}`))
	status, _, b := h.do(http.MethodPost, "/events", http.Header{"Content-Type": {mediaBatch}}, again)
	if status != http.StatusAccepted {
		t.Fatalf("second batch: %d %s", status, b)
	}
	if diff := cmp.Diff([]string{"c-2:duplicate", "c-3:queued"}, statuses(t, b)); diff != "" {
		t.Errorf("second batch (-want, +got):\n%s", diff)
	}
	if n := len(h.msgs()); n != 4 {
		t.Errorf("%d messages stored, want 4", n)
	}
}

func TestJetStreamDownThenBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	before := structured("before-outage", "request.track", `{"requestToken":"r0"}`)
	if status, _, b := h.do(http.MethodPost, "/events", structuredHeader, before); status != http.StatusAccepted {
		t.Fatalf("before the outage: %d %s", status, b)
	}

	h.nats.Stop()
	during := structured("during-outage", "project.delete", `{"projectToken":"p-1"}`)
	start := time.Now()
	status, header, body := h.do(http.MethodPost, "/events", structuredHeader, during)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("during the outage: status %d, want 503; body %s", status, body)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("503 took %v; it should not wait for the publish timeout", elapsed)
	}
	if got := header.Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After = %q, want 3 (INGEST_RETRY_AFTER)", got)
	}
	p := decodeProblem(t, header, body)
	if p.Type != problemTypeBase+"unavailable" || p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Detail, "nothing was acknowledged") {
		t.Errorf("problem = %+v", p)
	}
	if status, _, _ := h.do(http.MethodGet, "/readyz", nil, nil); status != http.StatusServiceUnavailable {
		t.Errorf("readyz during the outage = %d, want 503", status)
	}

	h.nats.Restart()
	servicetest.WaitReady(t, h.addr, 10*time.Second)
	status, _, body = h.do(http.MethodPost, "/events", structuredHeader, during)
	if status != http.StatusAccepted {
		t.Fatalf("re-sent after the outage: %d %s", status, body)
	}
	if diff := cmp.Diff([]string{"during-outage:queued"}, statuses(t, body)); diff != "" {
		t.Errorf("re-sent (-want, +got):\n%s", diff)
	}
	var ids []string
	for _, m := range h.msgs() {
		ids = append(ids, m.Header.Get("ce-id"))
	}
	if diff := cmp.Diff([]string{"before-outage", "during-outage"}, ids); diff != "" {
		t.Errorf("stored after the outage (-want, +got):\n%s", diff)
	}
}

func TestStreamGoneGives503(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	if err := h.js.DeleteStream(t.Context(), "MENDFLOW_COMMANDS"); err != nil {
		t.Fatal(err)
	}
	status, header, body := h.do(http.MethodPost, "/events", structuredHeader, structured("x", "request.track", `{"requestToken":"r"}`))
	if status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After; body %s", status, header.Get("Retry-After"), body)
	}
	if p := decodeProblem(t, header, body); !strings.Contains(p.Detail, "no_responders") {
		t.Errorf("detail = %q, want it to name the cause", p.Detail)
	}
}

// JetStream's refusals that sending again cannot cure are 4xx: a command
// too large (10054, 10097) 413, any other (a sealed stream) 409.
func TestPermanentPublishFailuresAre4xx(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	// Errors as the server gives them.
	header := nats.Header{"Big": {strings.Repeat("h", 70<<10)}}
	_, headerErr := h.js.PublishMsg(t.Context(), &nats.Msg{Subject: events.CommandSubject("request.track"), Header: header})
	var apiErr *jetstream.APIError
	if !errors.As(headerErr, &apiErr) || apiErr.ErrorCode != jetstream.ErrorCode(10097) {
		t.Fatalf("publishing 70 KiB of headers: %v, want JetStream's error 10097", headerErr)
	}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("publish x: %w", headerErr), http.StatusRequestEntityTooLarge},
		{&jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeStreamMessageExceedsMaximum}, http.StatusRequestEntityTooLarge},
		{nats.ErrMaxPayload, http.StatusRequestEntityTooLarge},
		{&jetstream.APIError{Code: 400, ErrorCode: 10109, Description: "invalid operation on sealed stream"}, http.StatusConflict},
		{&jetstream.APIError{Code: 503, ErrorCode: 10077, Description: "maximum bytes exceeded"}, http.StatusServiceUnavailable},
		{&jetstream.APIError{Code: 400, ErrorCode: 10002, Description: "resource limits exceeded for account"}, http.StatusServiceUnavailable},
		{&jetstream.APIError{Code: 409, ErrorCode: 10158, Description: "duplicate message id is in process"}, http.StatusServiceUnavailable},
		{jetstream.ErrNoStreamResponse, http.StatusServiceUnavailable},
	} {
		if got := publishProblem(tc.err, time.Second).Status; got != tc.want {
			t.Errorf("%v: answered %d, want %d", tc.err, got, tc.want)
		}
	}

	// A sealed stream, through ingest.
	stream, err := h.js.Stream(t.Context(), events.StreamCommands)
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.CachedInfo().Config
	cfg.Sealed = true
	if _, err := h.js.UpdateStream(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	status, hd, body := h.do(http.MethodPost, "/events", structuredHeader, structured("s-1", "request.track", `{"requestToken":"r"}`))
	if status != http.StatusConflict || hd.Get("Retry-After") != "" {
		t.Fatalf("sealed stream: status %d, Retry-After %q; want 409 without Retry-After: %s", status, hd.Get("Retry-After"), body)
	}
	if p := decodeProblem(t, hd, body); p.Type != problemTypeBase+"refused-by-stream" || !strings.Contains(p.Detail, "sealed") {
		t.Errorf("problem %+v, want refused-by-stream naming the cause", p)
	}
}

func TestBatchPublishesConcurrently(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	const n = 200
	evs := make([][]byte, n)
	want := make([]string, n)
	for i := range evs {
		id := fmt.Sprintf("b-%03d", i)
		evs[i] = structured(id, "project.tag.save", fmt.Sprintf(`{"projectToken":"p-%d","tagKey":"k","tagValue":"v"}`, i))
		want[i] = id + ":queued"
	}
	status, _, body := h.do(http.MethodPost, "/events", http.Header{"Content-Type": {mediaBatch}}, batchOf(evs...))
	if status != http.StatusAccepted {
		t.Fatalf("status %d: %s", status, body)
	}
	if diff := cmp.Diff(want, statuses(t, body)); diff != "" {
		t.Errorf("answer (-want, +got):\n%s", diff)
	}
	if got := len(h.msgs()); got != n {
		t.Errorf("%d messages stored, want %d", got, n)
	}
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	batch := batchOf(readFile(t, "cdevents/repository.created.json"),
		[]byte(`{"specversion":"1.0","id":"n-1","source":"/x","type":"com.example.nothing"}`))
	status, _, body := h.do(http.MethodPost, "/events?dryRun=true", http.Header{"Content-Type": {mediaBatch}}, batch)
	if status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", status, body)
	}
	ans := decodeAnswer(t, body)
	id := wantMsgID("https://gitea.acme.example.com", "5b1e4e5a-3d4c-4f6e-9a1b-2c3d4e5f6a7b", "0")
	want := answer{DryRun: true, Events: []eventResult{
		{ID: "5b1e4e5a-3d4c-4f6e-9a1b-2c3d4e5f6a7b", Source: "https://gitea.acme.example.com", Type: "dev.cdevents.repository.created.0.2.0",
			Status: statusPlanned, Commands: []commandView{{
				ID: id, Type: "io.mendflow.command.project.create", Subject: "mendflow.cmd.project.create",
				Data: json.RawMessage(`{"createProduct":true,"productName":"acme-corp","projectName":"payments-api",` +
					`"repository":{"id":"acme-corp/payments-api","source":"https://gitea.acme.example.com"}}`),
			}}},
		{ID: "n-1", Source: "/x", Type: "com.example.nothing", Status: statusIgnored},
	}}
	if diff := cmp.Diff(want, ans); diff != "" {
		t.Errorf("dry run (-want, +got):\n%s", diff)
	}
	if n := len(h.msgs()); n != 0 {
		t.Errorf("a dry run stored %d messages", n)
	}
}

// A command over the NATS max_payload (1 MiB, the server's default) is
// answered 413 before any command of the request is published: none of the
// smaller ones before it is stored.
func TestCommandOverMaxPayloadQueuesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.MaxBodyBytes = 4 << 20 })
	evs := [][]byte{structured("small-0", "request.track", `{"requestToken":"r"}`)}
	for i := 1; i < 40; i++ {
		evs = append(evs, structured(fmt.Sprintf("small-%d", i), "request.track", `{"requestToken":"r"}`))
		if i == 20 {
			evs = append(evs, structured("large", "request.track", `{"requestToken":"`+strings.Repeat("x", 1<<20)+`"}`))
		}
	}
	status, header, body := h.do(http.MethodPost, "/events", http.Header{"Content-Type": {mediaBatch}}, batchOf(evs...))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %.300s", status, body)
	}
	if p := decodeProblem(t, header, body); p.Type != problemTypeBase+"body-too-large" || !strings.Contains(p.Detail, "over the NATS max_payload") {
		t.Errorf("problem %+v, want body-too-large", p)
	}
	if n := len(h.msgs()); n != 0 {
		t.Errorf("%d messages stored after a 413, want none", n)
	}
}

// A request of one command over the NATS max_payload needs no check of its
// own: the NATS client refuses it before sending, and it is answered 413.
func TestSingleCommandOverMaxPayload(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.MaxBodyBytes = 4 << 20 })
	ev := structured("large", "request.track", `{"requestToken":"`+strings.Repeat("x", 1<<20)+`"}`)
	status, header, body := h.do(http.MethodPost, "/events", http.Header{"Content-Type": {mediaStructured}}, ev)
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %.300s", status, body)
	}
	if p := decodeProblem(t, header, body); p.Type != problemTypeBase+"body-too-large" || !strings.Contains(p.Detail, nats.ErrMaxPayload.Error()) {
		t.Errorf("problem %+v, want body-too-large naming the max payload", p)
	}
	if n := len(h.msgs()); n != 0 {
		t.Errorf("%d messages stored after a 413, want none", n)
	}
	// The sender's fault, not JetStream's: ingest stays ready.
	if status, body := h.readyz(); status != http.StatusOK {
		t.Errorf("readyz after a 413: %d %s, want 200", status, body)
	}
}

// TestGitLabResendIsDuplicate: GitLab resends a delivery (the hook log's
// "Resend request", or a retry) with the same Idempotency-Key but a new
// X-Gitlab-Event-UUID (one per hook and request, see GitLab's
// Gitlab::WebHooks::RecursionDetection::UUID): the resend queues nothing new.
func TestGitLabResendIsDuplicate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	body := readFile(t, "gitlab/project_create.json")
	first := gitlabHeaders("0b8e2f6a-1c3d-4e5f-8a9b-0c1d2e3f4a5b")
	resend := gitlabHeaders("7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928")
	resend.Set("Idempotency-Key", first.Get("Idempotency-Key"))
	for i, hd := range []http.Header{first, resend} {
		status, _, b := h.do(http.MethodPost, "/webhooks/gitlab", hd, body)
		if status != http.StatusAccepted {
			t.Fatalf("delivery %d: status %d: %s", i, status, b)
		}
		want := statusQueued
		if i == 1 {
			want = statusDuplicate
		}
		if got := decodeAnswer(t, b).Events[0]; got.Status != want || got.ID != hd.Get("X-Gitlab-Event-Uuid") {
			t.Errorf("delivery %d: answered %+v, want status %s and id %s", i, got, want, hd.Get("X-Gitlab-Event-Uuid"))
		}
	}
	if n := len(h.msgs()); n != 1 {
		t.Errorf("%d commands stored for one delivery sent twice, want 1", n)
	}

	// Another delivery (its own Idempotency-Key) is queued.
	other := gitlabHeaders("5f4e3d2c-1b0a-4987-8765-43210fedcba9")
	other.Set("Idempotency-Key", "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
	if status, _, b := h.do(http.MethodPost, "/webhooks/gitlab", other, body); status != http.StatusAccepted || decodeAnswer(t, b).Events[0].Status != statusQueued {
		t.Errorf("another delivery: %d %s, want it queued", status, b)
	}
}

// TestGitHubReplayIsDuplicate: X-GitHub-Delivery is not signed, so whoever
// saw a delivery can send its signed body again under a new delivery id;
// the body names the delivery, and the replay queues nothing new. A change
// to the body is another delivery, which needs the secret to sign.
func TestGitHubReplayIsDuplicate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	body := readFile(t, "github/repository.created.json")
	for i, delivery := range []string{"72d3162e-0001", "72d3162e-0002"} {
		status, _, b := h.do(http.MethodPost, "/webhooks/github", githubHeaders("repository", delivery, body), body)
		want := statusQueued
		if i > 0 {
			want = statusDuplicate
		}
		if status != http.StatusAccepted || decodeAnswer(t, b).Events[0].Status != want {
			t.Fatalf("delivery %s: %d %s, want 202 %s", delivery, status, b, want)
		}
	}
	if n := len(h.msgs()); n != 1 {
		t.Errorf("%d commands stored for one body sent under two delivery ids, want 1", n)
	}

	other := bytes.Replace(body, []byte(`"payments-api"`), []byte(`"ledger-api"`), 1)
	if status, _, b := h.do(http.MethodPost, "/webhooks/github", githubHeaders("repository", "72d3162e-0003", other), other); status != http.StatusAccepted || decodeAnswer(t, b).Events[0].Status != statusQueued {
		t.Errorf("another body: %d %s, want it queued", status, b)
	}
}
