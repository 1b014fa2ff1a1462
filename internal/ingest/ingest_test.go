package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nats-io/nats.go"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/trail"
	"github.com/mendflow/mendflow/pkg/events"
)

// wantMsgID is the documented Nats-Msg-Id: the first 128 bits of
// SHA-256(source NUL id NUL index), in hex.
func wantMsgID(source, id, index string) string {
	sum := sha256.Sum256([]byte(source + "\x00" + id + "\x00" + index))
	return hex.EncodeToString(sum[:16])
}

// stored is what a test expects of a message in MENDFLOW_COMMANDS.
type stored struct {
	Subject string
	Header  nats.Header
	Data    map[string]any
}

// commandMsg is the message ingest stores for a command it made from the
// event (source, id).
func commandMsg(name, source, id string, data map[string]any) stored {
	cid := wantMsgID(source, id, "0")
	return stored{
		Subject: "mendflow.cmd." + name,
		Header: nats.Header{
			"ce-specversion":     {"1.0"},
			"ce-id":              {cid},
			"ce-source":          {"urn:mendflow:ingest"},
			"ce-type":            {"io.mendflow.command." + name},
			"ce-correlationid":   {id},
			"ce-causationid":     {id},
			"ce-datacontenttype": {"application/json"},
			"Nats-Msg-Id":        {cid},
		},
		Data: data,
	}
}

// githubCommandMsg is commandMsg for a GitHub delivery, whose commands' ids
// key on its signed body rather than on its id (see server.github).
func githubCommandMsg(name, source, delivery string, body []byte, data map[string]any) stored {
	return githubCommandMsgAt(0, name, source, delivery, body, data)
}

// githubCommandMsgAt is githubCommandMsg for the command at index of the
// delivery's commands.
func githubCommandMsgAt(index int, name, source, delivery string, body []byte, data map[string]any) stored {
	m := commandMsg(name, source, delivery, data)
	digest := sha256.Sum256(body)
	cid := wantMsgID(source, hex.EncodeToString(digest[:]), strconv.Itoa(index))
	m.Header["ce-id"], m.Header["Nats-Msg-Id"] = []string{cid}, []string{cid}
	return m
}

// repo is the repository identity a built-in rule puts into a command, as
// stored JSON decodes: GitHub's and GitLab's numeric ids are written as
// they come.
func repo(source string, id any) map[string]any { return map[string]any{"source": source, "id": id} }

func TestAcceptedEventsAreInTheStream(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	const (
		ghDelivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
		glUUID     = "b1f5e6c7-8a9b-4c0d-9e1f-2a3b4c5d6e7f"
	)
	repoCreated := readFile(t, "github/repository.created.json")
	deployment := readFile(t, "github/deployment_status.created.json")
	transfer := readFile(t, "github/repository.transferred.json")
	deleted := readFile(t, "github/repository.deleted.json")
	renamed := readFile(t, "github/repository.renamed.json")
	archived := readFile(t, "github/repository.archived.json")
	installed := readFile(t, "github/installation_repositories.added.json")
	orgRenamed := readFile(t, "github/organization.renamed.json")
	vendorJSON := bytes.Replace(bytes.Replace(readFile(t, "cdevents/repository.created.json"),
		[]byte(`"datacontenttype": "application/json"`), []byte(`"datacontenttype": "application/vnd.acme+json; charset=utf-8"`), 1),
		[]byte(`"id": "5b1e4e5a-3d4c-4f6e-9a1b-2c3d4e5f6a7b"`), []byte(`"id": "vendor-json-1"`), 1)
	if !bytes.Contains(vendorJSON, []byte("vnd.acme+json")) || !bytes.Contains(vendorJSON, []byte("vendor-json-1")) {
		t.Fatal("test setup: body not altered")
	}
	gitea := repo("https://gitea.acme.example.com", "acme-corp/payments-api")
	cases := []struct {
		name       string
		path       string
		header     http.Header
		body       []byte
		wantStatus int
		want       eventResult // Commands not compared here: see the stream
		wantMsgs   []stored
	}{
		{
			name: "github repository created", path: "/webhooks/github",
			header: githubHeaders("repository", ghDelivery+"-1", repoCreated), body: repoCreated,
			wantStatus: http.StatusAccepted,
			want:       eventResult{ID: ghDelivery + "-1", Source: "https://github.com/acme-corp/payments-api", Type: "com.github.repository.created", Status: statusQueued},
			wantMsgs: []stored{githubCommandMsg("project.create", "https://github.com/acme-corp/payments-api", ghDelivery+"-1", repoCreated,
				map[string]any{"productName": "acme-corp", "projectName": "payments-api", "createProduct": true, "repository": repo("https://github.com", 812345678.0)})},
		},
		{
			name: "github repository deleted", path: "/webhooks/github",
			header: githubHeaders("repository", ghDelivery+"-2", deleted), body: deleted,
			wantStatus: http.StatusAccepted,
			want:       eventResult{ID: ghDelivery + "-2", Source: "https://github.com/acme-corp/payments-api", Type: "com.github.repository.deleted", Status: statusQueued},
			wantMsgs: []stored{githubCommandMsg("project.delete", "https://github.com/acme-corp/payments-api", ghDelivery+"-2", deleted,
				map[string]any{"productName": "acme-corp", "projectName": "payments-api", "repository": repo("https://github.com", 812345678.0)})},
		},
		{
			name: "github repository transferred", path: "/webhooks/github",
			header: githubHeaders("repository", ghDelivery+"-3", transfer), body: transfer,
			wantStatus: http.StatusAccepted,
			want:       eventResult{ID: ghDelivery + "-3", Source: "https://github.com/acme-corp/ledger-tools", Type: "com.github.repository.transferred", Status: statusQueued},
			wantMsgs: []stored{githubCommandMsg("project.reassign", "https://github.com/acme-corp/ledger-tools", ghDelivery+"-3", transfer,
				map[string]any{"productName": "jdoe", "projectName": "ledger-tools", "newProductName": "acme-corp", "createProduct": true,
					"repository": repo("https://github.com", 790011223.0)})},
		},
		{
			name: "github deployment succeeded", path: "/webhooks/github",
			header: githubHeaders("deployment_status", ghDelivery+"-4", deployment), body: deployment,
			wantStatus: http.StatusAccepted,
			want:       eventResult{ID: ghDelivery + "-4", Source: "https://github.com/acme-corp/payments-api", Type: "com.github.deployment_status.created", Status: statusQueued},
			wantMsgs: []stored{githubCommandMsg("project.tag.save", "https://github.com/acme-corp/payments-api", ghDelivery+"-4", deployment,
				map[string]any{"productName": "acme-corp", "projectName": "payments-api", "tagKey": "environment", "tagValue": "production",
					"repository": repo("https://github.com", 812345678.0)})},
		},
		{
			name: "github deployment failed is ignored", path: "/webhooks/github",
			header:     githubHeaders("deployment_status", ghDelivery+"-5", readFile(t, "github/deployment_status.created.failure.json")),
			body:       readFile(t, "github/deployment_status.created.failure.json"),
			wantStatus: http.StatusAccepted,
			want:       eventResult{ID: ghDelivery + "-5", Source: "https://github.com/acme-corp/payments-api", Type: "com.github.deployment_status.created", Status: statusIgnored},
		},
		{
			name: "github repository renamed", path: "/webhooks/github",
			header:     githubHeaders("repository", ghDelivery+"-6", renamed),
			body:       renamed,
			wantStatus: http.StatusAccepted,
			want:       eventResult{ID: ghDelivery + "-6", Source: "https://github.com/acme-corp/payments-service", Type: "com.github.repository.renamed", Status: statusQueued},
			wantMsgs: []stored{githubCommandMsg("project.rename", "https://github.com/acme-corp/payments-service", ghDelivery+"-6", renamed,
				map[string]any{"productName": "acme-corp", "projectName": "payments-api", "newProjectName": "payments-service", "repository": repo("https://github.com", 812345678.0)})},
		},
		{
			name: "github repository archived", path: "/webhooks/github",
			header:     githubHeaders("repository", ghDelivery+"-8", archived),
			body:       archived,
			wantStatus: http.StatusAccepted,
			want:       eventResult{ID: ghDelivery + "-8", Source: "https://github.com/acme-corp/payments-api", Type: "com.github.repository.archived", Status: statusQueued},
			wantMsgs: []stored{githubCommandMsg("project.tag.save", "https://github.com/acme-corp/payments-api", ghDelivery+"-8", archived,
				map[string]any{"productName": "acme-corp", "projectName": "payments-api", "tagKey": "archived", "tagValue": "true", "repository": repo("https://github.com", 812345678.0)})},
		},
		{
			// One 202 for the delivery, one command per repository, each
			// with a Nats-Msg-Id of its own.
			name: "github app installed on repositories", path: "/webhooks/github",
			header:     githubHeaders("installation_repositories", ghDelivery+"-9", installed),
			body:       installed,
			wantStatus: http.StatusAccepted,
			want:       eventResult{ID: ghDelivery + "-9", Source: "https://github.com", Type: "com.github.installation_repositories.added", Status: statusQueued},
			wantMsgs: []stored{
				githubCommandMsgAt(0, "project.create", "https://github.com", ghDelivery+"-9", installed,
					map[string]any{"productName": "acme-corp", "projectName": "checkout-web", "createProduct": true, "repository": repo("https://github.com", 812345901.0)}),
				githubCommandMsgAt(1, "project.create", "https://github.com", ghDelivery+"-9", installed,
					map[string]any{"productName": "acme-corp", "projectName": "fraud-rules", "createProduct": true, "repository": repo("https://github.com", 812346002.0)}),
			},
		},
		{
			name: "github organization renamed", path: "/webhooks/github",
			header:     githubHeaders("organization", ghDelivery+"-10", orgRenamed),
			body:       orgRenamed,
			wantStatus: http.StatusAccepted,
			want:       eventResult{ID: ghDelivery + "-10", Source: "https://github.com/acme-inc", Type: "com.github.organization.renamed", Status: statusQueued},
			wantMsgs: []stored{githubCommandMsg("product.rename", "https://github.com/acme-inc", ghDelivery+"-10", orgRenamed,
				map[string]any{"productName": "acme-corp", "newProductName": "acme-inc"})},
		},
		{
			name: "github ping answers 200", path: "/webhooks/github",
			header: githubHeaders("ping", ghDelivery+"-7", readFile(t, "github/ping.json")), body: readFile(t, "github/ping.json"),
			wantStatus: http.StatusOK,
			want:       eventResult{ID: ghDelivery + "-7", Source: "https://github.com/acme-corp", Type: "com.github.ping", Status: statusIgnored},
		},
		{
			name: "gitlab project_create", path: "/webhooks/gitlab",
			header: gitlabHeaders(glUUID + "-1"), body: readFile(t, "gitlab/project_create.json"),
			wantStatus: http.StatusAccepted,
			want: eventResult{ID: glUUID + "-1", Source: "https://gitlab.acme.example.com/platform/backend/billing-service",
				Type: "com.gitlab.project_create", Status: statusQueued},
			wantMsgs: []stored{commandMsg("project.create", "https://gitlab.acme.example.com/platform/backend/billing-service", glUUID+"-1",
				map[string]any{"productName": "platform/backend", "projectName": "billing-service", "createProduct": true, "repository": repo("https://gitlab.acme.example.com", 1742.0)})},
		},
		{
			name: "gitlab project_destroy", path: "/webhooks/gitlab",
			header: gitlabHeaders(glUUID + "-2"), body: readFile(t, "gitlab/project_destroy.json"),
			wantStatus: http.StatusAccepted,
			want: eventResult{ID: glUUID + "-2", Source: "https://gitlab.acme.example.com/platform/backend/billing-service",
				Type: "com.gitlab.project_destroy", Status: statusQueued},
			wantMsgs: []stored{commandMsg("project.delete", "https://gitlab.acme.example.com/platform/backend/billing-service", glUUID+"-2",
				map[string]any{"productName": "platform/backend", "projectName": "billing-service", "repository": repo("https://gitlab.acme.example.com", 1742.0)})},
		},
		{
			name: "gitlab project_transfer", path: "/webhooks/gitlab",
			header: gitlabHeaders(glUUID + "-3"), body: readFile(t, "gitlab/project_transfer.json"),
			wantStatus: http.StatusAccepted,
			want: eventResult{ID: glUUID + "-3", Source: "https://gitlab.acme.example.com/platform/payments/invoice-renderer",
				Type: "com.gitlab.project_transfer", Status: statusQueued},
			wantMsgs: []stored{commandMsg("project.reassign", "https://gitlab.acme.example.com/platform/payments/invoice-renderer", glUUID+"-3",
				map[string]any{"productName": "platform/backend", "projectName": "invoice-renderer", "newProductName": "platform/payments",
					"newProjectName": "invoice-renderer", "createProduct": true, "repository": repo("https://gitlab.acme.example.com", 1519.0)})},
		},
		{
			name: "gitlab project_rename", path: "/webhooks/gitlab",
			header: gitlabHeaders(glUUID + "-4"), body: readFile(t, "gitlab/project_rename.json"),
			wantStatus: http.StatusAccepted,
			want: eventResult{ID: glUUID + "-4", Source: "https://gitlab.acme.example.com/platform/payments/invoice-generator",
				Type: "com.gitlab.project_rename", Status: statusQueued},
			wantMsgs: []stored{commandMsg("project.rename", "https://gitlab.acme.example.com/platform/payments/invoice-generator", glUUID+"-4",
				map[string]any{"productName": "platform/payments", "projectName": "invoice-renderer", "newProjectName": "invoice-generator",
					"repository": repo("https://gitlab.acme.example.com", 1519.0)})},
		},
		{
			name: "gitlab group_rename", path: "/webhooks/gitlab",
			header: gitlabHeaders(glUUID + "-5"), body: readFile(t, "gitlab/group_rename.json"),
			wantStatus: http.StatusAccepted,
			want:       eventResult{ID: glUUID + "-5", Source: "https://gitlab.acme.example.com", Type: "com.gitlab.group_rename", Status: statusQueued},
			wantMsgs: []stored{commandMsg("product.rename", "https://gitlab.acme.example.com", glUUID+"-5",
				map[string]any{"productName": "platform/payments", "newProductName": "platform/payments-platform"})},
		},
		{
			// A project hook: object_kind, no event_name.
			name: "gitlab deployment", path: "/webhooks/gitlab",
			header: withDeploymentHook(gitlabHeaders(glUUID + "-6")), body: readFile(t, "gitlab/deployment.json"),
			wantStatus: http.StatusAccepted,
			want: eventResult{ID: glUUID + "-6", Source: "https://gitlab.acme.example.com/platform/backend/billing-service",
				Type: "com.gitlab.deployment", Status: statusQueued},
			wantMsgs: []stored{commandMsg("project.tag.save", "https://gitlab.acme.example.com/platform/backend/billing-service", glUUID+"-6",
				map[string]any{"productName": "platform/backend", "projectName": "billing-service", "tagKey": "environment", "tagValue": "production",
					"repository": repo("https://gitlab.acme.example.com", 1742.0)})},
		},
		{
			name: "cdevents repository created, structured", path: "/events",
			header: structuredHeader, body: readFile(t, "cdevents/repository.created.json"),
			wantStatus: http.StatusAccepted,
			want: eventResult{ID: "5b1e4e5a-3d4c-4f6e-9a1b-2c3d4e5f6a7b", Source: "https://gitea.acme.example.com",
				Type: "dev.cdevents.repository.created.0.2.0", Status: statusQueued},
			wantMsgs: []stored{commandMsg("project.create", "https://gitea.acme.example.com", "5b1e4e5a-3d4c-4f6e-9a1b-2c3d4e5f6a7b",
				map[string]any{"productName": "acme-corp", "projectName": "payments-api", "createProduct": true, "repository": gitea})},
		},
		{
			// The JSON event format: the data of any +json type is a JSON
			// value, which the SDK would want as a string.
			name: "cdevents repository created, structured, +json datacontenttype", path: "/events",
			header: structuredHeader, body: vendorJSON,
			wantStatus: http.StatusAccepted,
			want: eventResult{ID: "vendor-json-1", Source: "https://gitea.acme.example.com",
				Type: "dev.cdevents.repository.created.0.2.0", Status: statusQueued},
			wantMsgs: []stored{commandMsg("project.create", "https://gitea.acme.example.com", "vendor-json-1",
				map[string]any{"productName": "acme-corp", "projectName": "payments-api", "createProduct": true, "repository": gitea})},
		},
		{
			name: "cdevents repository deleted, structured", path: "/events",
			header: structuredHeader, body: readFile(t, "cdevents/repository.deleted.json"),
			wantStatus: http.StatusAccepted,
			want: eventResult{ID: "8f2d6c1b-7a9e-4b3c-8d5f-1e2a3b4c5d6e", Source: "https://gitea.acme.example.com",
				Type: "dev.cdevents.repository.deleted.0.2.0", Status: statusQueued},
			wantMsgs: []stored{commandMsg("project.delete", "https://gitea.acme.example.com", "8f2d6c1b-7a9e-4b3c-8d5f-1e2a3b4c5d6e",
				map[string]any{"productName": "acme-corp", "projectName": "payments-api", "repository": gitea})},
		},
		{
			name: "cdevents repository modified, structured", path: "/events",
			header: structuredHeader, body: readFile(t, "cdevents/repository.modified.json"),
			wantStatus: http.StatusAccepted,
			want: eventResult{ID: "c41f9a2e-8b7d-4e3c-9f1a-6d5e4c3b2a19", Source: "https://gitea.acme.example.com",
				Type: "dev.cdevents.repository.modified.0.2.0", Status: statusQueued},
			wantMsgs: []stored{commandMsg("project.rename", "https://gitea.acme.example.com", "c41f9a2e-8b7d-4e3c-9f1a-6d5e4c3b2a19",
				map[string]any{"productName": "acme-corp", "projectName": "payments-service", "newProjectName": "payments-service", "repository": gitea})},
		},
		{
			// JSON format 3.1.2: binary data of no type is not JSON, and
			// a rule reading the data does not match it.
			name: "binary data of no type, structured", path: "/events", header: structuredHeader,
			body: []byte(`{"specversion" : "1.0", "type" : "com.github.repository.created", "source" : "/mycontext", "id" : "D234-1234-1234",
				"data_base64" : "eyAieHl6IjogMTIzIH0="}`),
			wantStatus: http.StatusAccepted,
			want:       eventResult{ID: "D234-1234-1234", Source: "/mycontext", Type: "com.github.repository.created", Status: statusIgnored},
		},
		{
			name: "binary data of no type, binary mode", path: "/events",
			header: http.Header{"Ce-Specversion": {"1.0"}, "Ce-Id": {"D234-1234-1235"}, "Ce-Source": {"/mycontext"},
				"Ce-Type": {"com.github.repository.created"}},
			body:       []byte("\x00\x01 not JSON"),
			wantStatus: http.StatusAccepted,
			want:       eventResult{ID: "D234-1234-1235", Source: "/mycontext", Type: "com.github.repository.created", Status: statusIgnored},
		},
		{
			name: "command posted in binary mode is queued as is", path: "/events",
			header: http.Header{
				"Content-Type":     {"application/json"},
				"Ce-Specversion":   {"1.0"},
				"Ce-Id":            {"tool-42"},
				"Ce-Source":        {"/platform/tooling"},
				"Ce-Type":          {"io.mendflow.command.policies.apply"},
				"Ce-Correlationid": {"release-2024-10"},
				"Ce-Traceparent":   {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
			},
			body:       []byte(`{"scope":"product","token":"prod-8c2f"}`),
			wantStatus: http.StatusAccepted,
			want:       eventResult{ID: "tool-42", Source: "/platform/tooling", Type: "io.mendflow.command.policies.apply", Status: statusQueued},
			wantMsgs: []stored{{
				Subject: "mendflow.cmd.policies.apply",
				Header: nats.Header{
					"ce-specversion":     {"1.0"},
					"ce-id":              {"tool-42"},
					"ce-source":          {"/platform/tooling"},
					"ce-type":            {"io.mendflow.command.policies.apply"},
					"ce-correlationid":   {"release-2024-10"},
					"ce-traceparent":     {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
					"ce-datacontenttype": {"application/json"},
					"Nats-Msg-Id":        {wantMsgID("/platform/tooling", "tool-42", "0")},
				},
				Data: map[string]any{"scope": "product", "token": "prod-8c2f"},
			}},
		},
		{
			// HTTP protocol binding 3.1.3.2: a header value is unquoted, then
			// percent-decoded, before it is an attribute.
			name: "binary mode header values are percent-decoded", path: "/events",
			header: http.Header{
				"Content-Type":     {"application/json"},
				"Ce-Specversion":   {"1.0"},
				"Ce-Id":            {"tool%2043"},
				"Ce-Source":        {"/platform/tooling"},
				"Ce-Type":          {"io.mendflow.command.policies.apply"},
				"Ce-Subject":       {`"release \"2024\""`},
				"Ce-Correlationid": {"caf%C3%A9%20%25%2f"},
			},
			body:       []byte(`{"scope":"product","token":"prod-8c2f"}`),
			wantStatus: http.StatusAccepted,
			want:       eventResult{ID: "tool 43", Source: "/platform/tooling", Type: "io.mendflow.command.policies.apply", Status: statusQueued},
			wantMsgs: []stored{{
				Subject: "mendflow.cmd.policies.apply",
				Header: nats.Header{
					"ce-specversion":     {"1.0"},
					"ce-id":              {"tool 43"},
					"ce-source":          {"/platform/tooling"},
					"ce-type":            {"io.mendflow.command.policies.apply"},
					"ce-subject":         {`release "2024"`},
					"ce-correlationid":   {"café %/"},
					"ce-datacontenttype": {"application/json"},
					"Nats-Msg-Id":        {wantMsgID("/platform/tooling", "tool 43", "0")},
				},
				Data: map[string]any{"scope": "product", "token": "prod-8c2f"},
			}},
		},
		{
			// JSON format 2.2: a null attribute is unset, not invalid.
			name: "structured command with null attributes", path: "/events", header: structuredHeader,
			body: []byte(`{"specversion":"1.0","id":"tool-43","source":"/platform/tooling","type":"io.mendflow.command.policies.apply",
				"datacontenttype":null,"subject":null,"time":null,"dataschema":null,"correlationid":null,"data":{"scope":"product","token":"prod-8c2f"}}`),
			wantStatus: http.StatusAccepted,
			want:       eventResult{ID: "tool-43", Source: "/platform/tooling", Type: "io.mendflow.command.policies.apply", Status: statusQueued},
			wantMsgs: []stored{{
				Subject: "mendflow.cmd.policies.apply",
				Header: nats.Header{
					"ce-specversion":   {"1.0"},
					"ce-id":            {"tool-43"},
					"ce-source":        {"/platform/tooling"},
					"ce-type":          {"io.mendflow.command.policies.apply"},
					"ce-correlationid": {"tool-43"},
					"Nats-Msg-Id":      {wantMsgID("/platform/tooling", "tool-43", "0")},
				},
				Data: map[string]any{"scope": "product", "token": "prod-8c2f"},
			}},
		},
	}
	for _, tc := range cases { // in turn: they share the stream
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.msgs())
			status, header, body := h.do(http.MethodPost, tc.path, tc.header, tc.body)
			if status != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", status, tc.wantStatus, body)
			}
			if ct := header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			ans := decodeAnswer(t, body)
			if len(ans.Events) != 1 {
				t.Fatalf("answer has %d events, want 1: %s", len(ans.Events), body)
			}
			got := ans.Events[0]
			if len(got.Commands) != len(tc.wantMsgs) {
				t.Errorf("answer lists %d commands, want %d", len(got.Commands), len(tc.wantMsgs))
			}
			got.Commands = nil
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answer (-want, +got):\n%s", diff)
			}

			var gotMsgs []stored
			for i, m := range h.msgs()[before:] {
				// The traceparent is that of ingest's span of the event: a
				// new span, of the event's own trace if it had one.
				tp := m.Header.Get("ce-traceparent")
				if !traceparentRE.MatchString(tp) {
					t.Errorf("ce-traceparent = %q, want a W3C traceparent", tp)
				}
				if i < len(tc.wantMsgs) {
					if want := tc.wantMsgs[i].Header.Get("ce-traceparent"); want != "" && (tp[3:35] != want[3:35] || tp == want) {
						t.Errorf("ce-traceparent = %q, want a new span of the trace of %q", tp, want)
					}
					tc.wantMsgs[i].Header.Del("ce-traceparent")
				}
				m.Header.Del("ce-traceparent")
				// What the command says of its incoming event, for
				// mendflowctl trace: the event's type and source.
				if typ, src := m.Header.Get(trail.HeaderEventType), m.Header.Get(trail.HeaderEventSource); typ != tc.want.Type || src != tc.want.Source {
					t.Errorf("incoming event headers: type %q, source %q; want %q, %q", typ, src, tc.want.Type, tc.want.Source)
				}
				m.Header.Del(trail.HeaderEventType)
				m.Header.Del(trail.HeaderEventSource)
				if ts, err := time.Parse(time.RFC3339Nano, m.Header.Get("ce-time")); err == nil && time.Since(ts) < time.Minute {
					m.Header.Del("ce-time") // the time of ingestion, checked, then left out
				} else if m.Header.Get("ce-time") != "" {
					t.Errorf("ce-time = %q, want the time of ingestion", m.Header.Get("ce-time"))
				}
				var data map[string]any
				if err := json.Unmarshal(m.Data, &data); err != nil {
					t.Fatalf("stored data %s: %v", m.Data, err)
				}
				gotMsgs = append(gotMsgs, stored{Subject: m.Subject, Header: m.Header, Data: data})
			}
			// Commands of one event are published at once, stored in any order.
			byID := cmpopts.SortSlices(func(a, b stored) bool { return a.Header.Get("Nats-Msg-Id") < b.Header.Get("Nats-Msg-Id") })
			if diff := cmp.Diff(tc.wantMsgs, gotMsgs, byID); diff != "" {
				t.Errorf("stored messages (-want, +got):\n%s", diff)
			}
		})
	}
}

var traceparentRE = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$`)

func TestFromMsgReadsWhatIngestStores(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	body := readFile(t, "gitlab/project_transfer.json")
	if status, _, b := h.do(http.MethodPost, "/webhooks/gitlab", gitlabHeaders("uuid-1"), body); status != http.StatusAccepted {
		t.Fatalf("status %d: %s", status, b)
	}
	msgs := h.msgs()
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored, want 1", len(msgs))
	}
	e, err := bus.FromMsg(&nats.Msg{Subject: msgs[0].Subject, Header: msgs[0].Header, Data: msgs[0].Data})
	if err != nil {
		t.Fatalf("FromMsg: %v", err)
	}
	cmd, err := events.NewRegistry().DecodeEvent(e)
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	want := events.Command{Name: events.CommandProjectReassign, Data: &events.ProjectReassign{
		ProjectRef: events.ProjectRef{ProductName: "platform/backend", ProjectName: "invoice-renderer",
			Repository: &events.Repository{Source: "https://gitlab.acme.example.com", ID: "1519"}},
		NewProductName: "platform/payments", NewProjectName: "invoice-renderer", CreateProduct: true,
	}}
	if diff := cmp.Diff(want, cmd); diff != "" {
		t.Errorf("command (-want, +got):\n%s", diff)
	}
}

// withDeploymentHook is the headers of a project hook's deployment event.
func withDeploymentHook(h http.Header) http.Header {
	h.Set("X-Gitlab-Event", "Deployment Hook")
	return h
}
