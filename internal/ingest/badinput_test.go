package ingest

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

func TestBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) {
		c.AuthToken = "ingest-bearer-5e6f"
		c.WebhookOrigins = []string{"https://events.acme.example.com"}
	})
	auth := func(extra http.Header) http.Header {
		out := http.Header{"Authorization": {"Bearer ingest-bearer-5e6f"}}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	binary := func(extra map[string]string) http.Header {
		hd := auth(http.Header{"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0"}, "Ce-Id": {"b-1"},
			"Ce-Source": {"/platform/tooling"}, "Ce-Type": {"io.mendflow.command.request.track"}})
		for k, v := range extra {
			if v == "" {
				hd.Del(k)
			} else {
				hd.Set(k, v)
			}
		}
		return hd
	}
	structuredAuth := auth(structuredHeader)
	ghBody := readFile(t, "github/repository.created.json")
	altered := bytes.Replace(ghBody, []byte(`"name": "payments-api"`), []byte(`"name": "payments-apx"`), 1)
	if bytes.Equal(altered, ghBody) {
		t.Fatal("test setup: body not altered")
	}
	glBody := readFile(t, "gitlab/project_create.json")
	ctlName := bytes.Replace(ghBody, []byte(`"name": "payments-api"`), []byte(`"name": "payments\u001b[2J"`), 1)
	withHeader := func(hd http.Header, k, v string) http.Header {
		out := hd.Clone()
		if v == "" {
			out.Del(k)
		} else {
			out.Set(k, v)
		}
		return out
	}
	big := append([]byte(`{"specversion":"1.0","id":"big","source":"/s","type":"t","data":"`), bytes.Repeat([]byte("x"), 70<<10)...)
	big = append(big, `"}`...)

	cases := []struct {
		name       string
		method     string
		path       string
		header     http.Header
		body       []byte
		wantStatus int
		wantType   string
		wantDetail string // a substring of the detail
		wantField  string // the field of the first listed error, if any
	}{
		// POST /events: credentials
		{name: "no credentials", path: "/events", header: structuredHeader, body: structured("a", "request.track", `{"requestToken":"r"}`),
			wantStatus: 401, wantType: "unauthorized", wantDetail: "Authorization: Bearer <token> is required"},
		{name: "wrong token", path: "/events", header: http.Header{"Content-Type": {mediaStructured}, "Authorization": {"Bearer nope"}},
			body: structured("a", "request.track", `{"requestToken":"r"}`), wantStatus: 401, wantType: "unauthorized", wantDetail: "the bearer token is wrong"},
		{name: "basic auth", path: "/events", header: http.Header{"Content-Type": {mediaStructured}, "Authorization": {"Basic aW5nZXN0OnB3"}},
			body: structured("a", "request.track", `{"requestToken":"r"}`), wantStatus: 401, wantType: "unauthorized"},

		// POST /events: content types and size
		{name: "plain JSON without ce headers", path: "/events", header: auth(http.Header{"Content-Type": {"application/json"}}),
			body: []byte(`{"a":1}`), wantStatus: 415, wantType: "unsupported-media-type", wantDetail: "not a CloudEvent"},
		{name: "other event format", path: "/events", header: auth(http.Header{"Content-Type": {"application/cloudevents+protobuf"}}),
			body: []byte{1, 2}, wantStatus: 415, wantType: "unsupported-media-type", wantDetail: "application/cloudevents+protobuf is not supported"},
		{name: "unparsable content type", path: "/events", header: auth(http.Header{"Content-Type": {"application/cloudevents+json; ="}}),
			body: []byte(`{}`), wantStatus: 415, wantType: "unsupported-media-type"},
		{name: "body over the limit", path: "/events", header: structuredAuth, body: big,
			wantStatus: 413, wantType: "body-too-large", wantDetail: "limit of 65536 bytes"},

		// POST /events: structured
		{name: "malformed JSON", path: "/events", header: structuredAuth, body: []byte(`{"specversion":"1.0",`),
			wantStatus: 400, wantType: "malformed-request", wantDetail: "not valid JSON"},
		{name: "nested deeper than encoding/json takes", path: "/events", header: structuredAuth, body: bytes.Repeat([]byte("["), 10001),
			wantStatus: 400, wantType: "malformed-request", wantDetail: "exceeded max depth"},
		{name: "structured event not an object", path: "/events", header: structuredAuth, body: []byte(`["x"]`),
			wantStatus: 400, wantType: "malformed-request", wantDetail: "a structured event is a JSON object"},
		{name: "missing id", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","source":"/s","type":"io.mendflow.command.request.track","data":{"requestToken":"r"}}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "id", wantDetail: "event 0: id is required"},
		{name: "missing source", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","id":"1","type":"t"}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "source", wantDetail: "event 0: source is required"},
		{name: "missing type", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s"}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "type"},
		{name: "missing specversion", path: "/events", header: structuredAuth,
			body:       []byte(`{"id":"1","source":"/s","type":"t"}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "specversion", wantDetail: "specversion is required"},
		{name: "unknown specversion", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"2.0","id":"1","source":"/s","type":"t"}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "specversion", wantDetail: "unknown value: 2.0"},
		{name: "old specversion", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"0.3","id":"1","source":"/s","type":"t"}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "specversion", wantDetail: `unsupported specversion "0.3"`},
		{name: "bad time", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","time":"yesterday"}`),
			wantStatus: 400, wantType: "invalid-event"},
		{name: "object extension", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","tenant":{"a":1}}`),
			wantStatus: 400, wantType: "invalid-event"},
		{name: "upper-case extension name", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"io.mendflow.command.request.track","CorrelationId":"c","data":{"requestToken":"r"}}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "CorrelationId", wantDetail: "lower-case"},
		{name: "extension number with a fraction", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"io.mendflow.command.request.track","priority":1.5,"data":{"requestToken":"r"}}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "priority", wantDetail: "not an integer"},
		{name: "extension number with an exponent", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"io.mendflow.command.request.track","priority":1e2,"data":{"requestToken":"r"}}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "priority", wantDetail: "not an integer"},
		{name: "empty subject", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"io.mendflow.command.request.track","subject":"","data":{"requestToken":"r"}}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "subject", wantDetail: "non-empty"},
		{name: "control character in an attribute", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"io.mendflow.command.request.track","subject":"a\u0001b","data":{"requestToken":"r"}}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "subject", wantDetail: "control character"},
		{name: "C1 control character in an extension", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"io.mendflow.command.request.track","note":"a\u0085b","data":{"requestToken":"r"}}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "note", wantDetail: "control character"},
		{name: "attribute twice", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"io.mendflow.command.request.track","source":"/t","data":{"requestToken":"r"}}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "source", wantDetail: "more than once"},
		{name: "data and data_base64", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"com.example.note","datacontenttype":"text/plain","data":"x","data_base64":"aGk="}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "data_base64", wantDetail: "not both"},
		{name: "command data fails its schema", path: "/events", header: structuredAuth,
			body:       structured("c", "project.create", `{"productName":"acme"}`),
			wantStatus: 400, wantType: "invalid-command", wantDetail: "project.create: projectName is required"},
		{name: "command data misspelt", path: "/events", header: structuredAuth,
			body:       structured("c", "project.tag.save", `{"projectToken":"p","tagkey":"k","tagValue":"v"}`),
			wantStatus: 400, wantType: "invalid-command", wantDetail: `unknown field "tagkey" (did you mean "tagKey"?)`},
		{name: "command data of the wrong type", path: "/events", header: structuredAuth,
			body:       structured("c", "project.create", `{"productName":"a","projectName":"b","createProduct":"yes"}`),
			wantStatus: 400, wantType: "invalid-command", wantDetail: "createProduct: expected a JSON boolean"},
		{name: "command with an escaped control character in a name", path: "/events", header: structuredAuth,
			body:       structured("c", "project.create", `{"productName":"acme","projectName":"api\u0001","createProduct":true}`),
			wantStatus: 400, wantType: "invalid-command", wantDetail: "project.create: projectName holds a control character (U+0001 at byte 3)"},
		{name: "webhook naming a repository with a control character", path: "/webhooks/github", header: auth(githubHeaders("repository", "gh-ctl", ctlName)),
			body:       ctlName,
			wantStatus: 400, wantType: "invalid-command", wantDetail: "project.create: projectName holds a control character (U+001B at byte 8)"},
		{name: "policies.apply with a bad scope", path: "/events", header: structuredAuth,
			body:       structured("c", "policies.apply", `{"scope":"global"}`),
			wantStatus: 400, wantType: "invalid-command", wantDetail: "scope must be organization|product|project"},
		{name: "unknown command", path: "/events", header: structuredAuth,
			body:       structured("c", "project.archive", `{"projectToken":"p"}`),
			wantStatus: 400, wantType: "unknown-command", wantDetail: `unknown command "project.archive"`},
		{name: "CDEvent without a CDEvent", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"dev.cdevents.repository.created.0.2.0","data":{"name":"x"}}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "data", wantDetail: "CDEvent: context.id is required"},
		{name: "CDEvent with data that is not JSON", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"dev.cdevents.repository.created.0.2.0","datacontenttype":"text/plain","data":"{\"context\":{}}"}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "data", wantDetail: "a CDEvent's data is a JSON object"},
		{name: "+json data that is a JSON string, not a CDEvent", path: "/events", header: structuredAuth,
			body:       []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"dev.cdevents.repository.created.0.2.0","datacontenttype":"application/vnd.acme+json","data":"{\"context\":"}`),
			wantStatus: 400, wantType: "invalid-event", wantField: "data", wantDetail: "CDEvent: context.id is required"},
		{name: "CDEvent the rule cannot route", path: "/events", header: structuredAuth,
			body: []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"dev.cdevents.repository.created.0.2.0",
				"data":{"context":{"id":"1","type":"dev.cdevents.repository.created.0.2.0"},"subject":{"id":"x","content":{"name":"x"}}}}`),
			wantStatus: 400, wantType: "invalid-event", wantDetail: "rule cdevents-repository-created: {{ subject.content.owner }}: the event has no subject.content.owner"},

		// POST /events: batch
		{name: "batch not an array", path: "/events", header: auth(http.Header{"Content-Type": {mediaBatch}}),
			body: structured("a", "request.track", `{"requestToken":"r"}`), wantStatus: 400, wantType: "malformed-request", wantDetail: "a batch is a JSON array"},
		{name: "batch with one invalid event", path: "/events", header: auth(http.Header{"Content-Type": {mediaBatch}}),
			body: batchOf(structured("ok-1", "request.track", `{"requestToken":"r"}`),
				[]byte(`{"specversion":"1.0","id":"bad-1","type":"t"}`),
				structured("ok-2", "request.track", `{"requestToken":"r"}`)),
			wantStatus: 400, wantType: "invalid-event", wantDetail: "event 1: source is required", wantField: "source"},
		{name: "batch with a non-object", path: "/events", header: auth(http.Header{"Content-Type": {mediaBatch}}),
			body:       batchOf(structured("ok-1", "request.track", `{"requestToken":"r"}`), []byte(`42`)),
			wantStatus: 400, wantType: "invalid-event", wantDetail: "event 1: an event is a JSON object"},
		{name: "batch with an invalid command", path: "/events", header: auth(http.Header{"Content-Type": {mediaBatch}}),
			body:       batchOf(structured("ok-1", "request.track", `{"requestToken":"r"}`), structured("bad", "request.track", `{}`)),
			wantStatus: 400, wantType: "invalid-command", wantDetail: "event 1: request.track: requestToken is required"},

		// POST /events: binary
		{name: "binary unknown specversion", path: "/events", header: binary(map[string]string{"Ce-Specversion": "0.1"}),
			body: []byte(`{"requestToken":"r"}`), wantStatus: 400, wantType: "invalid-event", wantField: "specversion"},
		{name: "binary missing type", path: "/events", header: binary(map[string]string{"Ce-Type": ""}),
			body: []byte(`{"requestToken":"r"}`), wantStatus: 400, wantType: "invalid-event", wantField: "type"},
		{name: "binary malformed JSON data", path: "/events", header: binary(nil),
			body: []byte(`{"requestToken":`), wantStatus: 400, wantType: "invalid-event", wantField: "data", wantDetail: "not valid JSON"},
		{name: "binary command as text", path: "/events", header: binary(map[string]string{"Content-Type": "text/plain"}),
			body: []byte(`requestToken=r`), wantStatus: 400, wantType: "invalid-command", wantDetail: "datacontenttype must be application/json"},
		{name: "binary header with a bad percent escape", path: "/events", header: binary(map[string]string{"Ce-Id": "b%zz"}),
			body: []byte(`{"requestToken":"r"}`), wantStatus: 400, wantType: "invalid-event", wantField: "id", wantDetail: "invalid percent-encoding"},
		{name: "binary header percent-encoding bytes that are not UTF-8", path: "/events", header: binary(map[string]string{"Ce-Id": "b%C0%A0"}),
			body: []byte(`{"requestToken":"r"}`), wantStatus: 400, wantType: "invalid-event", wantField: "id", wantDetail: "not UTF-8"},
		{name: "binary header percent-encoding a control character", path: "/events", header: binary(map[string]string{"Ce-Subject": "a%0Ab"}),
			body: []byte(`{"requestToken":"r"}`), wantStatus: 400, wantType: "invalid-event", wantField: "subject", wantDetail: "control character"},
		{name: "binary header ce-data", path: "/events", header: binary(map[string]string{"Ce-Data": "x"}),
			body: []byte(`{"requestToken":"r"}`), wantStatus: 400, wantType: "invalid-event", wantField: "data", wantDetail: "named data"},
		{name: "bad dryRun", path: "/events?dryRun=maybe", header: structuredAuth, body: structured("a", "request.track", `{"requestToken":"r"}`),
			wantStatus: 400, wantType: "malformed-request", wantDetail: `dryRun must be true or false, not "maybe"`},

		// GitHub
		{name: "github without signature", path: "/webhooks/github",
			header: withHeader(githubHeaders("repository", "d", ghBody), "X-Hub-Signature-256", ""), body: ghBody,
			wantStatus: 401, wantType: "unauthorized", wantDetail: "X-Hub-Signature-256 is missing"},
		{name: "github with a wrong signature", path: "/webhooks/github",
			header: withHeader(githubHeaders("repository", "d", ghBody), "X-Hub-Signature-256", "sha256=0000"), body: ghBody,
			wantStatus: 401, wantType: "unauthorized", wantDetail: "does not match"},
		{name: "github valid signature over an altered body", path: "/webhooks/github",
			header: githubHeaders("repository", "d", ghBody), body: altered,
			wantStatus: 401, wantType: "unauthorized", wantDetail: "X-Hub-Signature-256 does not match the body"},
		{name: "github sha1 signature only", path: "/webhooks/github",
			header: withHeader(withHeader(githubHeaders("repository", "d", ghBody), "X-Hub-Signature-256", ""), "X-Hub-Signature", "sha1=0123"), body: ghBody,
			wantStatus: 401, wantType: "unauthorized"},
		{name: "github signature of another scheme", path: "/webhooks/github",
			header: withHeader(githubHeaders("repository", "d", ghBody), "X-Hub-Signature-256", "sha512=00"), body: ghBody,
			wantStatus: 401, wantType: "unauthorized", wantDetail: "sha256=<hex HMAC>"},
		{name: "github without event header", path: "/webhooks/github",
			header: withHeader(githubHeaders("repository", "d", ghBody), "X-Github-Event", ""), body: ghBody,
			wantStatus: 400, wantType: "malformed-request", wantDetail: "X-GitHub-Event"},
		{name: "github without delivery", path: "/webhooks/github",
			header: withHeader(githubHeaders("repository", "", ghBody), "X-Github-Delivery", ""), body: ghBody,
			wantStatus: 400, wantType: "malformed-request", wantDetail: "X-GitHub-Delivery is missing"},
		{name: "github XML", path: "/webhooks/github",
			header: withHeader(githubHeaders("repository", "d", ghBody), "Content-Type", "application/xml"), body: ghBody,
			wantStatus: 415, wantType: "unsupported-media-type"},
		{name: "github malformed payload", path: "/webhooks/github",
			header: githubHeaders("repository", "d", []byte(`{"action":`)), body: []byte(`{"action":`),
			wantStatus: 400, wantType: "malformed-request", wantDetail: "not valid JSON"},
		{name: "github body over the limit", path: "/webhooks/github",
			header: githubHeaders("repository", "d", big), body: big, wantStatus: 413, wantType: "body-too-large"},
		{name: "github body over the limit without signature", path: "/webhooks/github",
			header: withHeader(githubHeaders("repository", "d", big), "X-Hub-Signature-256", ""), body: big,
			wantStatus: 401, wantType: "unauthorized", wantDetail: "X-Hub-Signature-256 is missing"},

		// GitLab
		{name: "gitlab without token", path: "/webhooks/gitlab", header: withHeader(gitlabHeaders("u"), "X-Gitlab-Token", ""), body: glBody,
			wantStatus: 401, wantType: "unauthorized", wantDetail: "X-Gitlab-Token is missing"},
		{name: "gitlab with a wrong token", path: "/webhooks/gitlab", header: withHeader(gitlabHeaders("u"), "X-Gitlab-Token", testGitLabToken+"x"), body: glBody,
			wantStatus: 401, wantType: "unauthorized", wantDetail: "X-Gitlab-Token is wrong"},
		{name: "gitlab body over the limit with a wrong token", path: "/webhooks/gitlab", header: withHeader(gitlabHeaders("u"), "X-Gitlab-Token", testGitLabToken+"x"), body: big,
			wantStatus: 401, wantType: "unauthorized", wantDetail: "X-Gitlab-Token is wrong"},
		{name: "gitlab without event uuid", path: "/webhooks/gitlab", header: withHeader(gitlabHeaders("u"), "X-Gitlab-Event-Uuid", ""), body: glBody,
			wantStatus: 400, wantType: "malformed-request", wantDetail: "X-Gitlab-Event-UUID is missing"},
		{name: "gitlab form", path: "/webhooks/gitlab", header: withHeader(gitlabHeaders("u"), "Content-Type", "application/x-www-form-urlencoded"), body: glBody,
			wantStatus: 415, wantType: "unsupported-media-type"},
		{name: "gitlab payload without event name", path: "/webhooks/gitlab", header: gitlabHeaders("u"), body: []byte(`{"path":"x"}`),
			wantStatus: 400, wantType: "malformed-request", wantDetail: "event_name (or object_kind) is missing"},
		{name: "gitlab payload not an object", path: "/webhooks/gitlab", header: gitlabHeaders("u"), body: []byte(`[]`),
			wantStatus: 400, wantType: "malformed-request", wantDetail: "a GitLab payload is a JSON object"},
		{name: "gitlab project_create without a namespace", path: "/webhooks/gitlab", header: gitlabHeaders("u"),
			body:       []byte(`{"event_name":"project_create","path":"x","path_with_namespace":"x"}`),
			wantStatus: 400, wantType: "invalid-event", wantDetail: `"x" has no namespace`},

		// Everything else
		{name: "wrong method", method: http.MethodDelete, path: "/events", wantStatus: 405, wantType: "method-not-allowed", wantDetail: "allowed: OPTIONS, POST"},
		{name: "webhook GET", method: http.MethodGet, path: "/webhooks/github", wantStatus: 405, wantType: "method-not-allowed"},
		{name: "unknown path", path: "/event", wantStatus: 404, wantType: "not-found"},
		{name: "handshake without origin", method: http.MethodOptions, path: "/events", wantStatus: 400, wantType: "malformed-request", wantDetail: "WebHook-Request-Origin is required"},
		{name: "handshake from another origin", method: http.MethodOptions, path: "/events",
			header:     http.Header{"Webhook-Request-Origin": {"https://evil.example.com"}, "Webhook-Request-Callback": {"https://evil.example.com/cb"}},
			wantStatus: 403, wantType: "origin-not-allowed"},
	}
	for _, tc := range cases { // in turn: nothing may reach the stream
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			status, header, body := h.do(method, tc.path, tc.header, tc.body)
			if status != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", status, tc.wantStatus, body)
			}
			p := decodeProblem(t, header, body)
			if p.Status != tc.wantStatus || p.Type != problemTypeBase+tc.wantType || p.Title == "" {
				t.Errorf("problem = %+v, want status %d and type %s", p, tc.wantStatus, tc.wantType)
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

func errorDetails(p problem) string {
	var parts []string
	for _, e := range p.Errors {
		parts = append(parts, e.Detail)
	}
	return strings.Join(parts, "; ")
}

func TestDisabledWebhooks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.GitHubSecret, c.GitLabToken = "", "" })
	for _, path := range []string{"/webhooks/github", "/webhooks/gitlab"} {
		status, header, body := h.do(http.MethodPost, path, gitlabHeaders("u"), []byte(`{}`))
		if status != http.StatusNotFound {
			t.Fatalf("%s: status %d, want 404", path, status)
		}
		if p := decodeProblem(t, header, body); !strings.Contains(p.Detail, "is empty") {
			t.Errorf("%s: detail %q, want it to name the variable", path, p.Detail)
		}
	}
}

func TestSecretsStayOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.AuthToken = "bearer-secret-77" })
	// Every refusal a secret could leak into.
	requests := []struct {
		path   string
		header http.Header
	}{
		{"/events", http.Header{"Content-Type": {mediaStructured}, "Authorization": {"Bearer bearer-secret-7"}}},
		{"/webhooks/github", withSig(githubHeaders("repository", "d", []byte(`{}`)), "sha256=abcd")},
		{"/webhooks/gitlab", http.Header{"X-Gitlab-Token": {testGitLabToken[:5]}}},
	}
	for _, r := range requests {
		_, _, body := h.do(http.MethodPost, r.path, r.header, []byte(`{}`))
		for _, secret := range []string{"bearer-secret-77", testGitHubSecret, testGitLabToken, "org-token-not-for-events"} {
			if bytes.Contains(body, []byte(secret)) {
				t.Errorf("%s: the answer holds a secret: %s", r.path, body)
			}
		}
	}
}

func withSig(h http.Header, sig string) http.Header {
	h.Set("X-Hub-Signature-256", sig)
	return h
}
