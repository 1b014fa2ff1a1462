package ingest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// refusal is a request that ingest must refuse with a 4xx problem,
// storing nothing.
type refusal struct {
	name       string
	path       string
	header     http.Header
	body       []byte
	wantStatus int
	wantType   string
	wantField  string // the field of the first listed error, if any
	wantDetail string // a substring of the detail or of a listed error's
}

// checkRefusals sends each request in turn and checks its answer, and that
// nothing reached the stream.
func checkRefusals(t *testing.T, h *harness, cases []refusal) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, header, body := h.do(http.MethodPost, tc.path, tc.header, tc.body)
			if status != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %.500s", status, tc.wantStatus, body)
			}
			p := decodeProblem(t, header, body)
			if p.Type != problemTypeBase+tc.wantType {
				t.Errorf("type = %s, want %s", p.Type, tc.wantType)
			}
			if !strings.Contains(p.Detail+" "+errorDetails(p), tc.wantDetail) {
				t.Errorf("detail %q (errors %q), want it to contain %q", p.Detail, errorDetails(p), tc.wantDetail)
			}
			if tc.wantField != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.wantField) {
				t.Errorf("errors = %+v, want the first to name field %q", p.Errors, tc.wantField)
			}
			if n := len(h.msgs()); n != 0 {
				t.Fatalf("%d messages stored after a refused request", n)
			}
		})
	}
}

func binaryHeader(extra map[string]string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0"}, "Ce-Id": {"b-1"},
		"Ce-Source": {"/platform/tooling"}, "Ce-Type": {"io.mendflow.command.request.track"}}
	for k, v := range extra {
		h.Set(k, v)
	}
	return h
}

// An event that could never be stored (its headers would pass JetStream's
// 64 KiB limit, or those of what the worker derives from it) is refused
// with a 4xx, never 503: a sender that follows the contract would send a
// 503's event again forever.
func TestOverlongInputIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	long := strings.Repeat("i", 33000)
	track := `{"requestToken":"r"}`
	ghBody := readFile(t, "github/repository.created.json")
	glBody := readFile(t, "gitlab/project_create.json")
	gitlab := func(k, v string) http.Header {
		hd := gitlabHeaders("0b8e2f6a-1c3d-4e5f-8a9b-0c1d2e3f4a5b")
		hd.Set(k, v)
		return hd
	}
	var manyExtensions strings.Builder
	for i := range 20 {
		fmt.Fprintf(&manyExtensions, `,"ext%d":%q`, i, strings.Repeat("v", 2000))
	}
	wantLimit := fmt.Sprintf("over the limit of %d bytes", maxAttributeBytes)
	checkRefusals(t, h, []refusal{
		{name: "structured id", path: "/events", header: structuredHeader, body: structured(long, "request.track", track),
			wantStatus: 400, wantType: "invalid-event", wantField: "id", wantDetail: wantLimit},
		{name: "binary id", path: "/events", header: binaryHeader(map[string]string{"Ce-Id": long}), body: []byte(track),
			wantStatus: 400, wantType: "invalid-event", wantField: "id", wantDetail: wantLimit},
		{name: "batch id", path: "/events", header: http.Header{"Content-Type": {mediaBatch}},
			body:       batchOf(structured("ok", "request.track", track), structured(long, "request.track", track)),
			wantStatus: 400, wantType: "invalid-event", wantField: "id", wantDetail: "event 1: id is 33000 bytes, " + wantLimit},
		{name: "structured extension", path: "/events", header: structuredHeader,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"io.mendflow.command.request.track","correlationid":"` + long + `","data":` + track + `}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "correlationid", wantDetail: wantLimit},
		{name: "binary extension", path: "/events", header: binaryHeader(map[string]string{"Ce-Traceparent": long}), body: []byte(track),
			wantStatus: 400, wantType: "invalid-event", wantField: "traceparent", wantDetail: wantLimit},
		{name: "structured source", path: "/events", header: structuredHeader,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/` + long + `","type":"io.mendflow.command.request.track","data":` + track + `}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "source", wantDetail: wantLimit},
		{name: "extension name", path: "/events", header: structuredHeader,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"io.mendflow.command.request.track","` + strings.Repeat("x", 100) + `":"v","data":` + track + `}`),
			wantStatus: 400, wantType: "invalid-event", wantDetail: fmt.Sprintf("over the limit of %d", maxExtensionNameBytes)},
		{name: "binary extension name", path: "/events", header: binaryHeader(map[string]string{"Ce-" + strings.Repeat("x", 100): "v"}), body: []byte(track),
			wantStatus: 400, wantType: "invalid-event", wantDetail: fmt.Sprintf("over the limit of %d", maxExtensionNameBytes)},
		{name: "command headers over the limit", path: "/events", header: structuredHeader,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"io.mendflow.command.request.track"` + manyExtensions.String() + `,"data":` + track + `}`),
			wantStatus: 413, wantType: "body-too-large", wantDetail: fmt.Sprintf("over the limit of %d bytes", maxCommandHeaderBytes)},
		{name: "X-GitHub-Delivery", path: "/webhooks/github", header: githubHeaders("repository", strings.Repeat("d", 70<<10), ghBody), body: ghBody,
			wantStatus: 400, wantType: "malformed-request", wantDetail: "X-GitHub-Delivery is 71680 bytes, " + wantLimit},
		{name: "X-Gitlab-Event-UUID", path: "/webhooks/gitlab", header: gitlab("X-Gitlab-Event-Uuid", long), body: glBody,
			wantStatus: 400, wantType: "malformed-request", wantDetail: "X-Gitlab-Event-UUID is 33000 bytes, " + wantLimit},
		{name: "Idempotency-Key", path: "/webhooks/gitlab", header: gitlab("Idempotency-Key", long), body: glBody,
			wantStatus: 400, wantType: "malformed-request", wantDetail: "Idempotency-Key is 33000 bytes, " + wantLimit},
		{name: "X-Gitlab-Instance", path: "/webhooks/gitlab", header: gitlab("X-Gitlab-Instance", "https://gitlab.example.com/"+long), body: glBody,
			wantStatus: 400, wantType: "malformed-request", wantDetail: "X-Gitlab-Instance is 33027 bytes, " + wantLimit},
	})

	// At the limits, an event is taken.
	atLimit := strings.Repeat("a", maxAttributeBytes)
	body := []byte(`{"specversion":"1.0","id":"` + atLimit + `","source":"/s","type":"io.mendflow.command.request.track","` +
		strings.Repeat("e", maxExtensionNameBytes) + `":"` + atLimit + `","data":` + track + `}`)
	if status, _, b := h.do(http.MethodPost, "/events", structuredHeader, body); status != http.StatusAccepted {
		t.Errorf("an event at the limits: status %d, want 202: %.300s", status, b)
	}
}

// Text that is not UTF-8, or holds a control character, a noncharacter or
// (in JSON data) a NUL, is refused in every content mode, naming where it
// is; the same text percent-encoded in a binary-mode header, or escaped in
// JSON, is refused alike.
func TestInvalidTextIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	event := func(member, value string) []byte {
		attrs := map[string]string{"id": `"1"`, "source": `"/s"`, "type": `"io.mendflow.command.request.track"`, "data": `{"requestToken":"r"}`}
		attrs[member] = value
		return []byte(`{"specversion":"1.0","id":` + attrs["id"] + `,"source":` + attrs["source"] + `,"type":` + attrs["type"] +
			extension(attrs) + `,"datacontenttype":"application/json","data":` + attrs["data"] + `}`)
	}
	ghBody := readFile(t, "github/repository.created.json")
	withName := func(name string) []byte {
		b := []byte(strings.Replace(string(ghBody), `"name": "payments-api"`, `"name": "`+name+`"`, 1))
		if string(b) == string(ghBody) {
			t.Fatal("test setup: payload not changed")
		}
		return b
	}
	const notUTF8, control, nul = "not UTF-8", "control character", "NUL"
	cases := []refusal{}
	for _, c := range []struct {
		member, value, want string
	}{
		{"id", "\"a\xffb\"", notUTF8},
		{"source", "\"/s\xff\"", notUTF8},
		{"type", "\"t\xc0\xa0\"", notUTF8},
		{"note", "\"\xff\"", notUTF8},
		{"data", "{\"requestToken\":\"r\xff\"}", notUTF8},
		{"id", `"a\u0000b"`, control},
		{"source", `"/s\u0000"`, control},
		{"source", `"/s\u0085"`, control},
		{"type", `"t\u001f"`, control},
		{"note", `"\u007f"`, control},
		{"note", `"a\ufffeb"`, "noncharacter"},
		{"data", `{"requestToken":"a\u0000b"}`, nul},
	} {
		cases = append(cases, refusal{name: "structured " + c.member + " " + c.want, path: "/events", header: structuredHeader,
			body: event(c.member, c.value), wantStatus: 400, wantType: "invalid-event", wantField: c.member, wantDetail: c.want})
	}
	cases = append(cases,
		refusal{name: "batch", path: "/events", header: http.Header{"Content-Type": {mediaBatch}},
			body:       batchOf(event("id", `"ok"`), event("note", "\"\xff\"")),
			wantStatus: 400, wantType: "invalid-event", wantField: "note", wantDetail: "event 1: note holds bytes that are not UTF-8"},
		refusal{name: "binary id", path: "/events", header: binaryHeader(map[string]string{"Ce-Id": "a\xffb"}), body: []byte(`{"requestToken":"r"}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "id", wantDetail: notUTF8},
		refusal{name: "binary source", path: "/events", header: binaryHeader(map[string]string{"Ce-Source": "/s\xff"}), body: []byte(`{"requestToken":"r"}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "source", wantDetail: notUTF8},
		refusal{name: "binary percent-encoded source", path: "/events", header: binaryHeader(map[string]string{"Ce-Source": "/s%C2%85"}), body: []byte(`{"requestToken":"r"}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "source", wantDetail: control},
		refusal{name: "binary type", path: "/events", header: binaryHeader(map[string]string{"Ce-Type": "t\xc0\xa0"}), body: []byte(`{"requestToken":"r"}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "type", wantDetail: notUTF8},
		refusal{name: "binary extension", path: "/events", header: binaryHeader(map[string]string{"Ce-Note": "\xff"}), body: []byte(`{"requestToken":"r"}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "note", wantDetail: notUTF8},
		refusal{name: "binary content type", path: "/events", header: binaryHeader(map[string]string{"Content-Type": "application/json; x=\"\xff\""}), body: []byte(`{"requestToken":"r"}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "datacontenttype", wantDetail: notUTF8},
		refusal{name: "binary data", path: "/events", header: binaryHeader(nil), body: []byte("{\"requestToken\":\"r\xff\"}"),
			wantStatus: 400, wantType: "invalid-event", wantField: "data", wantDetail: notUTF8},
		refusal{name: "binary data NUL", path: "/events", header: binaryHeader(nil), body: []byte(`{"requestToken":"a\u0000b"}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "data", wantDetail: nul},
		refusal{name: "github name NUL", path: "/webhooks/github", header: githubHeaders("repository", "d-1", withName(`pay\u0000ments`)), body: withName(`pay\u0000ments`),
			wantStatus: 400, wantType: "invalid-event", wantField: "data", wantDetail: nul},
		refusal{name: "github name not UTF-8", path: "/webhooks/github", header: githubHeaders("repository", "d-1", withName("pay\xffments")), body: withName("pay\xffments"),
			wantStatus: 400, wantType: "invalid-event", wantField: "data", wantDetail: notUTF8},
		refusal{name: "github delivery not UTF-8", path: "/webhooks/github", header: githubHeaders("repository", "d-\xff", ghBody), body: ghBody,
			wantStatus: 400, wantType: "malformed-request", wantDetail: "X-GitHub-Delivery holds bytes that are not UTF-8"},
	)
	checkRefusals(t, h, cases)

	// An escaped backslash before u0000 is text, not a NUL.
	status, _, body := h.do(http.MethodPost, "/events", structuredHeader, event("data", `{"requestToken":"a\\u0000b"}`))
	if status != http.StatusAccepted {
		t.Errorf(`data "a\\u0000b": status %d, want 202: %s`, status, body)
	}
}

// extension is the "note" member of attrs as a JSON member, if any.
func extension(attrs map[string]string) string {
	if v, ok := attrs["note"]; ok {
		return `,"note":` + v
	}
	return ""
}

// An answer or a log line quotes a bounded part of what a request holds,
// however large.
func TestRefusalsQuoteBoundedInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.MaxBodyBytes = 2 << 20 })
	huge := strings.Repeat("i", 900<<10)
	const maxAnswer = 2 << 10
	for _, r := range []struct {
		name   string
		path   string
		header http.Header
		body   []byte
	}{
		{"structured id with a control character", "/events", structuredHeader,
			[]byte(`{"specversion":"1.0","id":"` + huge + `\u0001","source":"/s","type":"t"}`)},
		{"command with a huge id and invalid data", "/events", structuredHeader, structured(huge, "request.track", `{}`)},
		{"binary id", "/events", binaryHeader(map[string]string{"Ce-Id": huge}), []byte(`{"requestToken":"r"}`)},
		{"binary specversion", "/events", binaryHeader(map[string]string{"Ce-Specversion": huge}), []byte(`{"requestToken":"r"}`)},
		{"extension name", "/events", structuredHeader, []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","` + strings.ToUpper(huge) + `":"v"}`)},
		{"content type", "/events", http.Header{"Content-Type": {"application/cloudevents+" + huge}}, []byte(`{}`)},
		{"unknown path", "/" + huge, nil, nil},
	} {
		status, _, body := h.do(http.MethodPost, r.path, r.header, r.body)
		if status < 400 || status > 499 || len(body) > maxAnswer {
			t.Errorf("%s: status %d with %d bytes, want a 4xx of at most %d bytes: %.300s", r.name, status, len(body), maxAnswer, body)
		}
	}

	// An event refused after it is read is logged, with its id quoted in part.
	id := strings.Repeat("j", maxAttributeBytes)
	status, _, body := h.do(http.MethodPost, "/events", structuredHeader, structured(id, "request.track", `{}`))
	if status != http.StatusBadRequest {
		t.Fatalf("invalid command: status %d, want 400: %.300s", status, body)
	}
	const maxLine = 1 << 10
	refused := 0
	for line := range strings.Lines(h.logs.String()) {
		if len(line) > maxLine {
			t.Errorf("a log line of %d bytes, want at most %d: %.300s", len(line), maxLine, line)
		}
		if strings.Contains(line, "event refused") {
			refused++
			if !strings.Contains(line, fmt.Sprintf("… (%d bytes)", maxAttributeBytes)) {
				t.Errorf("the refusal's line does not say how long the id was: %s", line)
			}
		}
	}
	if refused != 1 {
		t.Errorf("%d lines say an event was refused, want 1:\n%s", refused, h.logs)
	}
}
