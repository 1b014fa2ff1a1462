package trail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/ctl"
	"github.com/mendflow/mendflow/internal/githubsig"
	"github.com/mendflow/mendflow/internal/ingest"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/poller"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/internal/trail"
	"github.com/mendflow/mendflow/internal/worker"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

const (
	authToken    = "trace-bearer-5f2c8e"
	githubSecret = "trace-gh-secret-9a7d"
	gitlabToken  = "trace-gl-token-3c1b"
)

// pipeline is NATS, the simulator and the three services, run in-process.
type pipeline struct {
	t      *testing.T
	sim    *mendsim.Server
	js     jetstream.JetStream
	env    map[string]string
	ingest string // ingest's address
}

// start runs the pipeline against a simulator whose policy processes last
// processDuration, with the environment extra added.
func start(t *testing.T, processDuration time.Duration, extra map[string]string) *pipeline {
	t.Helper()
	ns := natstest.Start(t)
	sim := mendsim.NewServer(mendsim.Config{ProcessDuration: processDuration})
	t.Cleanup(sim.Close)
	_, js := ns.Connect()
	p := &pipeline{t: t, sim: sim, js: js, env: map[string]string{
		"NATS_URL":              ns.URL(),
		"MEND_URL":              sim.URL,
		"MEND_USER_KEY":         mendsim.DefaultUserKey,
		"MEND_USER_EMAIL":       mendsim.DefaultUserEmail,
		"MEND_ORG_TOKEN":        sim.OrgToken(),
		"MEND_RATE_LIMIT":       "0",
		"MEND_RETRY_ATTEMPTS":   "1", // retries are the worker's here
		"INGEST_ADDR":           "127.0.0.1:0",
		"INGEST_AUTH_TOKEN":     authToken,
		"GITHUB_WEBHOOK_SECRET": githubSecret,
		"GITLAB_WEBHOOK_TOKEN":  gitlabToken,
		"WORKER_ADDR":           "127.0.0.1:0",
		"WORKER_ACK_WAIT":       "2s",
		"WORKER_FETCH_WAIT":     "100ms",
		"WORKER_RETRY_BASE":     "20ms",
		"WORKER_RETRY_MAX":      "100ms",
		"POLLER_ADDR":           "127.0.0.1:0",
		"POLLER_FETCH_WAIT":     "100ms",
		"POLLER_FIRST_INTERVAL": "20ms",
		"POLLER_MAX_INTERVAL":   "100ms",
	}}
	maps.Copy(p.env, extra)
	logger := slog.New(slog.DiscardHandler)
	for _, run := range []app.RealMain{ingest.Run, worker.Run, poller.Run} {
		addr, stop, done := servicetest.Start(t, func(ctx context.Context, listening func(string)) error {
			return run(ctx, envconfig.MapLookuper(p.env), app.Telemetry{Logger: logger, OnListen: listening})
		})
		t.Cleanup(func() { stop(); <-done })
		servicetest.WaitReady(t, addr, 10*time.Second)
		if p.ingest == "" {
			p.ingest = addr
		}
	}
	return p
}

// fault asks the simulator over HTTP to answer badly, as an operator would.
func (p *pipeline) fault(body string) {
	p.t.Helper()
	resp, err := http.Post(p.sim.URL+"/_mendsim/faults", "application/json", strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		p.t.Fatalf("fault %s: %d", body, resp.StatusCode)
	}
}

// post sends a request to ingest and returns its status and body.
func (p *pipeline) do(method, path string, header http.Header, body []byte) (int, string) {
	p.t.Helper()
	return servicetest.Do(p.t, method, "http://"+p.ingest+path, header, body)
}

// command posts a command to ingest as a structured CloudEvent with the id id.
func (p *pipeline) command(id, name, data string) {
	p.t.Helper()
	status, body := p.do(http.MethodPost, "/events", http.Header{
		"Content-Type": {"application/cloudevents+json"}, "Authorization": {"Bearer " + authToken},
	}, []byte(`{"specversion":"1.0","id":"`+id+`","source":"/test","type":"io.mendflow.command.`+name+`","data":`+data+`}`))
	if status != http.StatusAccepted {
		p.t.Fatalf("POST %s: %d %s", name, status, body)
	}
}

// github sends a signed GitHub webhook with the delivery id delivery.
func (p *pipeline) github(event, delivery, file string) {
	p.t.Helper()
	payload, err := os.ReadFile(file)
	if err != nil {
		p.t.Fatal(err)
	}
	status, body := p.do(http.MethodPost, "/webhooks/github", http.Header{
		"Content-Type": {"application/json"}, "X-Github-Event": {event}, "X-Github-Delivery": {delivery},
		"X-Hub-Signature-256": {githubsig.Sign(payload, githubSecret)},
	}, payload)
	if status != http.StatusAccepted {
		p.t.Fatalf("POST GitHub %s: %d %s", event, status, body)
	}
}

// gitlab sends a GitLab system hook with the event UUID uuid.
func (p *pipeline) gitlab(uuid, file string) {
	p.t.Helper()
	payload, err := os.ReadFile(file)
	if err != nil {
		p.t.Fatal(err)
	}
	status, body := p.do(http.MethodPost, "/webhooks/gitlab", http.Header{
		"Content-Type": {"application/json"}, "X-Gitlab-Event": {"System Hook"}, "X-Gitlab-Token": {gitlabToken},
		"X-Gitlab-Event-Uuid": {uuid},
	}, payload)
	if status != http.StatusAccepted {
		p.t.Fatalf("POST GitLab hook: %d %s", status, body)
	}
}

// ctl runs mendflowctl with args and returns what it printed; it fails
// the test unless the exit status is want.
func (p *pipeline) ctl(ctx context.Context, want int, args ...string) string {
	p.t.Helper()
	var out, errOut bytes.Buffer
	if code := ctl.Main(ctx, args, envconfig.MapLookuper(map[string]string{"NATS_URL": p.env["NATS_URL"]}), &out, &errOut); code != want {
		p.t.Fatalf("mendflowctl %s: exit %d, want %d: %s%s", strings.Join(args, " "), code, want, out.String(), errOut.String())
	}
	return out.String()
}

// await builds the trace of id until done says it is what the test waits
// for, and returns it.
func (p *pipeline) await(id string, done func(*trail.Trace) bool) *trail.Trace {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last *trail.Trace
	for {
		t, err := trail.Build(p.t.Context(), p.js, id)
		if err == nil {
			last = t
			if done(t) {
				return t
			}
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(last, "", "  ")
			p.t.Fatalf("trace of %s not as awaited within 15s (error %v); last:\n%s", id, err, b)
		}
		select { // the trace is read again, as -follow does
		case <-p.t.Context().Done():
			return nil
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// contains fails the test unless out holds each of wants, in that order.
func contains(t *testing.T, out string, wants ...string) {
	t.Helper()
	rest := out
	for _, w := range wants {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("output lacks %q (in order):\n%s", w, out)
		}
		rest = rest[i+len(w):]
	}
}

func ended(t *trail.Trace) bool { return t.Ended }

func TestTraceSucceeded(t *testing.T) {
	t.Parallel()
	p := start(t, time.Hour, nil)
	p.github("repository", "gh-delivery-1", "../../testdata/github/repository.created.json")
	tr := p.await("gh-delivery-1", ended)

	if len(tr.Commands) != 1 {
		t.Fatalf("commands: %+v", tr.Commands)
	}
	c := tr.Commands[0]
	if c.Name != "project.create" || c.State != trail.StateSucceeded || c.CausationID != "gh-delivery-1" || len(c.Attempts) != 1 {
		t.Fatalf("command: %+v", c)
	}
	a := c.Attempts[0]
	var ops []string
	for _, m := range a.Mend {
		ops = append(ops, m.Operation)
		if m.Status != http.StatusOK || m.DurationMS <= 0 {
			t.Errorf("Mend call %+v", m)
		}
	}
	if a.Outcome != "success" || !strings.Contains(strings.Join(ops, " "), "createProject") {
		t.Fatalf("attempt: %+v", a)
	}
	if len(c.Results) != 1 || c.Results[0].Type != "io.mendflow.project.created" || !strings.Contains(string(c.Results[0].Data), `"projectName":"payments-api"`) {
		t.Fatalf("results: %+v", c.Results)
	}

	if tr.Event.Type != "com.github.repository.created" || tr.Event.Source != "https://github.com/acme-corp/payments-api" || tr.Event.Received == nil {
		t.Errorf("incoming event: %+v", tr.Event)
	}
	out := p.ctl(t.Context(), 0, "trace", "gh-delivery-1")
	contains(t, out,
		"event gh-delivery-1  com.github.repository.created  from https://github.com/acme-corp/payments-api  received ",
		"command project.create  seq 1  succeeded",
		"attempt 1", "success",
		"mend createProject  200",
		"result io.mendflow.project.created", "productName=acme-corp",
		"chain ended")

	// -json is the shape Build returns, and so is ingest's answer.
	var fromCtl, fromIngest trail.Trace
	if err := json.Unmarshal([]byte(p.ctl(t.Context(), 0, "trace", "-json", "gh-delivery-1")), &fromCtl); err != nil {
		t.Fatal(err)
	}
	status, body := p.do(http.MethodGet, "/events/gh-delivery-1/trace", http.Header{"Authorization": {"Bearer " + authToken}}, nil)
	if status != http.StatusOK {
		t.Fatalf("GET trace: %d %s", status, body)
	}
	if err := json.Unmarshal([]byte(body), &fromIngest); err != nil {
		t.Fatal(err)
	}
	for _, got := range []trail.Trace{fromCtl, fromIngest} {
		if got.Version != trail.Version || !got.Ended || len(got.Commands) != 1 || got.Commands[0].Results[0].ID != c.Results[0].ID ||
			len(got.Commands[0].Attempts[0].Mend) != len(a.Mend) {
			t.Errorf("JSON trace: %+v", got)
		}
	}

	// A GitLab hook is found by its event UUID.
	p.gitlab("7c9e6679-7425-40de-944b-e07fc1f90ae7", "../../testdata/gitlab/project_create.json")
	p.await("7c9e6679-7425-40de-944b-e07fc1f90ae7", ended)
	contains(t, p.ctl(t.Context(), 0, "trace", "7c9e6679-7425-40de-944b-e07fc1f90ae7"),
		"event 7c9e6679-7425-40de-944b-e07fc1f90ae7  com.gitlab.project_create  from ",
		"command project.create  seq 2  succeeded",
		"result io.mendflow.project.created", "productName=platform/backend",
		"chain ended")
}

func TestTraceRetriedAfter503(t *testing.T) {
	t.Parallel()
	p := start(t, time.Hour, nil)
	p.fault(`{"op":"createProject","status":503,"count":1}`)
	p.command("in-retried", "project.create", `{"productName":"retried","projectName":"svc","createProduct":true}`)
	tr := p.await("in-retried", ended)

	c := tr.Commands[0]
	if c.State != trail.StateSucceeded || len(c.Attempts) != 2 {
		t.Fatalf("command: %+v", c)
	}
	first, second := c.Attempts[0], c.Attempts[1]
	if first.Outcome != "retry" || first.Reason != "transient" || !strings.Contains(first.Error, "503") || first.Next == nil {
		t.Errorf("first attempt: %+v", first)
	}
	last := first.Mend[len(first.Mend)-1]
	if last.Operation != "createProject" || last.Status != http.StatusServiceUnavailable || !strings.Contains(last.Error, "503") {
		t.Errorf("first attempt's last Mend call: %+v", last)
	}
	if second.Outcome != "success" || second.Error != "" {
		t.Errorf("second attempt: %+v", second)
	}
	contains(t, p.ctl(t.Context(), 0, "trace", "in-retried"),
		"event in-retried  io.mendflow.command.project.create  from /test  received ",
		"command project.create  seq 1  succeeded",
		"attempt 1", "retry (transient)", "next",
		"error: mend createProject", "503",
		"mend createProject  503",
		"attempt 2", "success",
		"mend createProject  200",
		"result io.mendflow.project.created",
		"chain ended")
}

func TestTraceDeadLettered(t *testing.T) {
	t.Parallel()
	// Ingest without a token: its trace endpoint is open, as POST /events.
	p := start(t, time.Hour, map[string]string{"WORKER_MAX_ATTEMPTS": "2", "INGEST_AUTH_TOKEN": ""})
	// Mend quotes the request in its answer, user key and all: no record
	// may keep it.
	p.fault(`{"op":"createProject","status":503,"count":5,"echo":true}`)
	p.github("repository", "in-doomed", "../../testdata/github/repository.created.json")
	tr := p.await("in-doomed", ended)

	c := tr.Commands[0]
	if c.State != trail.StateFailed || len(c.Attempts) != 2 || c.Attempts[1].Outcome != "failed" || c.Attempts[1].Reason != "attempts spent" {
		t.Fatalf("command: %+v", c)
	}
	dl := c.DeadLetter
	if dl == nil || dl.Subject != "mendflow.dlq.project.create" || dl.Reason != "attempts spent" || dl.Attempts != 2 || !strings.Contains(dl.Error, "503") {
		t.Fatalf("dead letter: %+v", dl)
	}
	if len(c.Results) != 1 || c.Results[0].Type != "io.mendflow.command.failed" {
		t.Fatalf("results: %+v", c.Results)
	}
	contains(t, p.ctl(t.Context(), 0, "trace", "in-doomed"),
		"command project.create  seq 1  failed",
		"attempt 1", "retry (transient)",
		"attempt 2", "failed (attempts spent)",
		"mend createProject  503",
		"result io.mendflow.command.failed",
		"dead letter mendflow.dlq.project.create  seq 1  attempts spent after 2 attempts: ",
		"chain ended")
	status, body := p.do(http.MethodGet, "/events/in-doomed/trace", http.Header{}, nil)
	if status != http.StatusOK || !strings.Contains(body, `"deadLetter":{"subject":"mendflow.dlq.project.create"`) {
		t.Fatalf("GET trace without a token: %d %s", status, body)
	}
	if strings.Contains(body, mendsim.DefaultUserKey) || !strings.Contains(body, `userKey\":\"[redacted]`) {
		t.Errorf("the trace shows the user key, or not the request Mend quoted: %s", body)
	}

	// The command's own id, as dlq list shows it, finds the chain too.
	if c.ID == "" || c.ID == "in-doomed" {
		t.Fatalf("the delivery's command has no id of its own: %q", c.ID)
	}
	contains(t, p.ctl(t.Context(), 0, "dlq", "list"), c.ID)
	contains(t, p.ctl(t.Context(), 0, "trace", c.ID),
		"event in-doomed  com.github.repository.created",
		"command project.create  seq 1  failed",
		"dead letter mendflow.dlq.project.create",
		"chain ended")
	byCommand, err := trail.Build(t.Context(), p.js, c.ID)
	if err != nil || byCommand.ID != c.ID || byCommand.CorrelationID != "in-doomed" {
		t.Errorf("trace by the command's id: %v %+v", err, byCommand)
	}
}

func TestTracePolicyStillPolled(t *testing.T) {
	t.Parallel()
	p := start(t, time.Hour, nil) // the process never ends within the test
	p.command("in-policies", "policies.apply", `{"scope":"organization","token":"`+p.sim.OrgToken()+`"}`)
	tr := p.await("in-policies", func(t *trail.Trace) bool {
		return len(t.Commands) == 1 && len(t.Commands[0].Items) == 1 && t.Commands[0].Items[0].LastPoll != nil &&
			len(t.Commands[0].Items[0].LastPoll.Mend) > 0
	})
	c := tr.Commands[0]
	if tr.Ended || c.State != trail.StateSucceeded || len(c.Results) != 0 {
		t.Fatalf("trace: %+v", tr)
	}
	it := c.Items[0]
	if it.Kind != "process" || it.State != trail.StateOpen || it.LastPoll.Outcome != "retry" || it.LastPoll.Next == nil ||
		it.LastPoll.Mend[len(it.LastPoll.Mend)-1].Operation != "asyncProcessStatus" || !strings.Contains(string(it.Follows), `"processUuid"`) {
		b, _ := json.Marshal(it)
		t.Fatalf("item: %s", b)
	}
	contains(t, p.ctl(t.Context(), 0, "trace", "in-policies"),
		"command policies.apply  seq 1  succeeded",
		"attempt 1", "success",
		"poller item process  seq 1  open  next poll ",
		"follows ", "processUuid=",
		"poll ", "retry (not ended)",
		"mend asyncProcessStatus  200",
		"chain open")
}

// TestTraceFollow follows a chain from before it starts to its end: the
// policies applied, the poller's completion.
func TestTraceFollow(t *testing.T) {
	t.Parallel()
	p := start(t, 300*time.Millisecond, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var out servicetest.Logs // written by trace while the test reads
	code := make(chan int, 1)
	go func() {
		code <- ctl.Main(ctx, []string{"trace", "in-followed", "-follow", "-interval", "20ms"},
			envconfig.MapLookuper(map[string]string{"NATS_URL": p.env["NATS_URL"]}), &out, &out)
	}()
	for !strings.Contains(out.String(), "waiting") {
		select {
		case <-ctx.Done():
			t.Fatalf("trace -follow did not wait: %s", out.String())
		case <-time.After(10 * time.Millisecond): // polling its output
		}
	}
	p.command("in-followed", "policies.apply", `{"scope":"organization","token":"`+p.sim.OrgToken()+`"}`)
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("trace -follow: exit %d: %s", c, out.String())
		}
	case <-ctx.Done():
		t.Fatalf("trace -follow did not end with the chain:\n%s", out.String())
	}
	got := out.String()
	if ctx.Err() != nil {
		t.Fatalf("trace -follow ended by its deadline, not the chain's end:\n%s", got)
	}
	contains(t, got,
		"nothing is known of in-followed yet; waiting",
		"command policies.apply seq 1: attempt 1", "success",
		"poller item process seq 1  handed to the poller",
		"poller item process seq 1: completion io.mendflow.policies.applied",
		"poller item process seq 1: ended",
		"chain ended")
}

func TestTraceEndpoint(t *testing.T) {
	t.Parallel()
	p := start(t, time.Hour, nil)
	p.command("in-endpoint", "product.create", `{"productName":"endpoint"}`)
	p.await("in-endpoint", ended)

	for _, tc := range []struct {
		name   string
		path   string
		header http.Header
		status int
		want   string
	}{
		{"no token", "/events/in-endpoint/trace", http.Header{}, http.StatusUnauthorized, "Bearer"},
		{"wrong token", "/events/in-endpoint/trace", http.Header{"Authorization": {"Bearer nope"}}, http.StatusUnauthorized, "wrong"},
		{"token", "/events/in-endpoint/trace", http.Header{"Authorization": {"Bearer " + authToken}}, http.StatusOK, `"name":"product.create"`},
		{"unknown id", "/events/in-nothing/trace", http.Header{"Authorization": {"Bearer " + authToken}}, http.StatusNotFound, "in-nothing"},
		{"id escaped", "/events/in%2Dendpoint/trace", http.Header{"Authorization": {"Bearer " + authToken}}, http.StatusOK, `"id":"in-endpoint"`},
		{"not a trace", "/events/in-endpoint/other", http.Header{"Authorization": {"Bearer " + authToken}}, http.StatusNotFound, "no endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := p.do(http.MethodGet, tc.path, tc.header, nil)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("GET %s: %d %s, want %d with %q", tc.path, status, body, tc.status, tc.want)
			}
			if status != http.StatusOK && !strings.Contains(body, `"status":`) {
				t.Errorf("not problem+json: %s", body)
			}
		})
	}
	// Unknown to mendflowctl too: one line, exit 1; no id: the usage, exit 2.
	p.ctl(t.Context(), 1, "trace", "in-nothing")
	p.ctl(t.Context(), 2, "trace")
	// A chain that ended: -follow prints it once and returns.
	if out := p.ctl(t.Context(), 0, "trace", "-json", "-follow", "in-endpoint"); strings.Count(out, "\n") != 1 || !strings.Contains(out, `"ended":true`) {
		t.Errorf("trace -json -follow of an ended chain: %s", out)
	}
}
