package ctl

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-github/v93/github"
	"github.com/sethvargo/go-envconfig"
)

// received is a request the ingest double took.
type received struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// ingestDouble is an httptest server that records each request and answers
// with status and a JSON body. Ingest's own tests (internal/ingest) check
// what it does with what send sends, and these check that send sends
// exactly that, without a NATS server behind it.
func ingestDouble(t *testing.T, status int) (string, func() []received) {
	t.Helper()
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), b})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, `{"events":[{"id":"x","status":"queued"}]}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return append([]received(nil), got...)
	}
}

const (
	testGitHubSecret = "gh-secret-value"
	testGitLabToken  = "gl-token-value"
	testAuthToken    = "bearer-token-value"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSend(t *testing.T) {
	t.Parallel()
	githubPayload, err := os.ReadFile("../../testdata/github/repository.created.json")
	if err != nil {
		t.Fatal(err)
	}
	gitlabFile := "../../testdata/gitlab/project_create.json"
	structured := writeFile(t, "event.json", `{"specversion":"1.0","id":"e-1","source":"/s","type":"t"}`)
	batch := writeFile(t, "batch.json", ` [{"specversion":"1.0","id":"e-1","source":"/s","type":"t"}]`)
	dataFile := writeFile(t, "data.json", `{"productName":"from-file"}`)

	tests := []struct {
		name  string
		args  []string
		auth  bool // INGEST_AUTH_TOKEN set
		check func(t *testing.T, r received)
	}{
		{"event from flags", []string{"-type", "io.mendflow.command.product.create", "-id", "cmd-1", "-subject", "s1", "-data", `{"productName":"acme"}`}, false,
			func(t *testing.T, r received) {
				wantRequest(t, r, "/events", "", "application/cloudevents+json")
				var e map[string]any
				if err := json.Unmarshal(r.body, &e); err != nil {
					t.Fatal(err)
				}
				for k, v := range map[string]any{"specversion": "1.0", "id": "cmd-1", "source": defaultSource, "subject": "s1",
					"type": "io.mendflow.command.product.create", "datacontenttype": "application/json"} {
					if e[k] != v {
						t.Errorf("%s = %v, want %v", k, e[k], v)
					}
				}
				if d, _ := e["data"].(map[string]any); d["productName"] != "acme" {
					t.Errorf("data = %v", e["data"])
				}
				if e["time"] == nil {
					t.Error("no time")
				}
				if r.header.Get("Authorization") != "" {
					t.Error("Authorization sent without INGEST_AUTH_TOKEN")
				}
			}},
		{"random id, data from a file, bearer, dry run", []string{"-dry-run", "-type", "io.mendflow.command.product.create", "-data", "@" + dataFile}, true,
			func(t *testing.T, r received) {
				wantRequest(t, r, "/events", "dryRun=true", "application/cloudevents+json")
				var e struct {
					ID   string
					Data map[string]string
				}
				if err := json.Unmarshal(r.body, &e); err != nil {
					t.Fatal(err)
				}
				if len(e.ID) != 36 || e.Data["productName"] != "from-file" {
					t.Errorf("id %q, data %v", e.ID, e.Data)
				}
				if got := r.header.Get("Authorization"); got != "Bearer "+testAuthToken {
					t.Errorf("Authorization = %q", got)
				}
			}},
		{"structured file", []string{"-file", structured}, false, func(t *testing.T, r received) {
			wantRequest(t, r, "/events", "", "application/cloudevents+json")
		}},
		{"batch file", []string{"-file", batch}, false, func(t *testing.T, r received) {
			wantRequest(t, r, "/events", "", "application/cloudevents-batch+json")
		}},
		{"github", []string{"-github", "repository", "-id", "d-1", "-file", "../../testdata/github/repository.created.json"}, true,
			func(t *testing.T, r received) {
				wantRequest(t, r, "/webhooks/github", "", "application/json")
				if string(r.body) != string(githubPayload) {
					t.Error("body is not the payload as it is in the file")
				}
				if err := github.ValidateSignature(r.header.Get("X-Hub-Signature-256"), r.body, []byte(testGitHubSecret)); err != nil {
					t.Errorf("signature: %v", err)
				}
				if r.header.Get("X-GitHub-Event") != "repository" || r.header.Get("X-GitHub-Delivery") != "d-1" {
					t.Errorf("headers %v", r.header)
				}
				if r.header.Get("Authorization") != "" {
					t.Error("the bearer token went to the GitHub endpoint")
				}
			}},
		{"gitlab, random uuid", []string{"-gitlab", "-file", gitlabFile}, false, func(t *testing.T, r received) {
			wantRequest(t, r, "/webhooks/gitlab", "", "application/json")
			if r.header.Get("X-Gitlab-Token") != testGitLabToken || len(r.header.Get("X-Gitlab-Event-UUID")) != 36 {
				t.Errorf("headers %v", r.header)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, requests := ingestDouble(t, http.StatusAccepted)
			env := map[string]string{"INGEST_URL": url, "GITHUB_WEBHOOK_SECRET": testGitHubSecret, "GITLAB_WEBHOOK_TOKEN": testGitLabToken}
			if tt.auth {
				env["INGEST_AUTH_TOKEN"] = testAuthToken
			}
			out, err := run(t, envconfig.MapLookuper(env), append([]string{"send"}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out, "202 Accepted\n{\n") || !strings.Contains(out, `"status": "queued"`) {
				t.Errorf("output:\n%s", out)
			}
			for _, secret := range []string{testGitHubSecret, testGitLabToken, testAuthToken} {
				if strings.Contains(out, secret) {
					t.Errorf("output shows a secret:\n%s", out)
				}
			}
			got := requests()
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1", len(got))
			}
			tt.check(t, got[0])
		})
	}
}

func wantRequest(t *testing.T, r received, path, query, contentType string) {
	t.Helper()
	if r.method != http.MethodPost || r.path != path || r.query != query || r.header.Get("Content-Type") != contentType {
		t.Errorf("request %s %s?%s (%s), want POST %s?%s (%s)", r.method, r.path, r.query, r.header.Get("Content-Type"), path, query, contentType)
	}
}

func TestSendFails(t *testing.T) {
	t.Parallel()
	notJSON := writeFile(t, "bad.json", `{"specversion":`)
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		status  int
		wantErr string // "usage": errUsage
		wantOut string
	}{
		{"4xx", []string{"-type", "t"}, nil, http.StatusBadRequest, "ingest answered 400 Bad Request", "400 Bad Request\n{"},
		{"5xx", []string{"-type", "t"}, nil, http.StatusServiceUnavailable, "ingest answered 503", "503 Service Unavailable"},
		{"no secret for github", []string{"-github", "push", "-file", notJSON}, map[string]string{"GITHUB_WEBHOOK_SECRET": ""}, 0, "GITHUB_WEBHOOK_SECRET is empty", ""},
		{"no token for gitlab", []string{"-gitlab", "-file", notJSON}, map[string]string{"GITLAB_WEBHOOK_TOKEN": ""}, 0, "GITLAB_WEBHOOK_TOKEN is empty", ""},
		{"file not JSON", []string{"-file", notJSON}, nil, 0, "not JSON", ""},
		{"data not JSON", []string{"-type", "t", "-data", "{"}, nil, 0, "-data: not JSON", ""},
		{"missing file", []string{"-file", "/nonexistent.json"}, nil, 0, "no such file", ""},
		{"bad INGEST_URL", []string{"-type", "t"}, map[string]string{"INGEST_URL": "localhost:8080"}, 0, "INGEST_URL", ""},
		{"ingest down", []string{"-type", "t"}, map[string]string{"INGEST_URL": "http://127.0.0.1:1"}, 0, "connection refused", ""},
		{"neither file nor type", nil, nil, 0, "usage", ""},
		{"file and type", []string{"-file", notJSON, "-type", "t"}, nil, 0, "usage", ""},
		{"file and data", []string{"-file", notJSON, "-data", "{}"}, nil, 0, "usage", ""},
		{"github without file", []string{"-github", "push"}, nil, 0, "usage", ""},
		{"github and gitlab", []string{"-github", "push", "-gitlab", "-file", notJSON}, nil, 0, "usage", ""},
		{"unknown flag", []string{"-type", "t", "-x"}, nil, 0, "usage", ""},
		{"argument", []string{"-type", "t", "extra"}, nil, 0, "usage", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, _ := ingestDouble(t, tt.status)
			env := map[string]string{"INGEST_URL": url, "GITHUB_WEBHOOK_SECRET": testGitHubSecret, "GITLAB_WEBHOOK_TOKEN": testGitLabToken}
			for k, v := range tt.env {
				env[k] = v
			}
			out, err := run(t, envconfig.MapLookuper(env), append([]string{"send"}, tt.args...)...)
			switch {
			case tt.wantErr == "usage":
				if !errors.Is(err, errUsage) {
					t.Errorf("err = %v, want the usage", err)
				}
			case err == nil || !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("err = %v, want one saying %q", err, tt.wantErr)
			case strings.Contains(err.Error(), "\n"):
				t.Errorf("err is not one line: %q", err)
			}
			if !strings.HasPrefix(out, tt.wantOut) {
				t.Errorf("output %q, want it to start with %q", out, tt.wantOut)
			}
		})
	}
}
