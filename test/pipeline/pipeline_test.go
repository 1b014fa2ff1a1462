// Package pipeline runs ingest, the worker and the poller as the programs
// they are, against an in-process NATS server and the Mend simulator, and
// checks what an operator sees of an event's way through them: metrics,
// traces and logs.
package pipeline

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/githubsig"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// Secrets of the run; none may appear in any log line.
const (
	authToken     = "ingest-bearer-7d1c9e2f4a"
	githubSecret  = "gh-webhook-secret-3b8a6f"
	gitlabToken   = "gl-hook-token-5e2d7c"
	repoRoot      = "../.."
	traceHeader   = "0af7651916cd43dd8448eb211c80319c"
	traceExt      = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingSpan  = "00f067aa0ba902b7"
	eventsSubject = "mendflow.evt.>"
)

// program is one service running as its own process.
type program struct {
	name    string
	addr    string
	cmd     *exec.Cmd
	logs    *servicetest.Logs
	addrVar string   // the variable of its address
	env     []string // its environment, but for its address
}

// pipeline is NATS, the simulator behind a recording proxy, and the three
// services.
type pipeline struct {
	t        *testing.T
	bin      string // where the services are built
	sim      *mendsim.Server
	nc       *nats.Conn
	programs map[string]*program
	bearers  *syncSet // Authorization bearer tokens (the JWTs) sent to Mend
}

func TestPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the services")
	}
	p := start(t)
	results := p.subscribe(eventsSubject)
	before := p.scrapeAll()

	// Three failures of createProduct: the client retries once within the
	// call, the worker redelivers, and the third attempt succeeds.
	if err := p.sim.SetFault(mendsim.Fault{Op: mend.ReqCreateProduct, Status: http.StatusServiceUnavailable, Count: 3}); err != nil {
		t.Fatal(err)
	}

	// A command posted as a structured event, its trace in the header.
	status, body := p.post("/events", http.Header{
		"Content-Type":  {"application/cloudevents+json"},
		"Authorization": {"Bearer " + authToken},
		"Traceparent":   {"00-" + traceHeader + "-" + incomingSpan + "-01"},
	}, []byte(`{"specversion":"1.0","id":"in-product","source":"/test","type":"io.mendflow.command.product.create",
		"datacontenttype":"application/json","data":{"productName":"traced"}}`))
	if status != http.StatusAccepted {
		t.Fatalf("POST product.create: %d %s", status, body)
	}
	// Alone, so that the faults are all its own: other commands create
	// products too.
	results.await(t, 30*time.Second, map[string]string{"in-product": events.TypeProductCreated})
	// A command posted in binary mode, its trace in the extension: the
	// worker hands it to the poller, whose event ends the chain.
	status, body = p.post("/events", http.Header{
		"Content-Type":   {"application/json"},
		"Authorization":  {"Bearer " + authToken},
		"Ce-Specversion": {"1.0"}, "Ce-Id": {"in-policies"}, "Ce-Source": {"/test"},
		"Ce-Type":        {"io.mendflow.command.policies.apply"},
		"Ce-Traceparent": {"00-" + traceExt + "-" + incomingSpan + "-01"},
	}, fmt.Appendf(nil, `{"scope":"organization","token":%q}`, p.sim.OrgToken()))
	if status != http.StatusAccepted {
		t.Fatalf("POST policies.apply: %d %s", status, body)
	}
	// Webhooks, signed with their secrets.
	gh := readFile(t, "testdata/github/repository.created.json")
	status, body = p.post("/webhooks/github", http.Header{
		"Content-Type": {"application/json"}, "X-Github-Event": {"repository"}, "X-Github-Delivery": {"gh-1"},
		"X-Hub-Signature-256": {githubsig.Sign(gh, githubSecret)},
	}, gh)
	if status != http.StatusAccepted {
		t.Fatalf("POST GitHub webhook: %d %s", status, body)
	}
	status, body = p.post("/webhooks/gitlab", http.Header{
		"Content-Type": {"application/json"}, "X-Gitlab-Event": {"System Hook"}, "X-Gitlab-Token": {gitlabToken},
		"X-Gitlab-Event-Uuid": {"gl-1"},
	}, readFile(t, "testdata/gitlab/project_create.json"))
	if status != http.StatusAccepted {
		t.Fatalf("POST GitLab webhook: %d %s", status, body)
	}
	// A command Mend refuses for good (400): a dead letter. It is a v2.0
	// call, so the worker logs in, and the JWT is one more secret to look for.
	if err := p.sim.SetFault(mendsim.Fault{Op: "createGroup", Status: http.StatusBadRequest, Count: 1}); err != nil {
		t.Fatal(err)
	}
	status, body = p.post("/events", http.Header{
		"Content-Type": {"application/cloudevents+json"}, "Authorization": {"Bearer " + authToken},
	}, []byte(`{"specversion":"1.0","id":"in-doomed","source":"/test","type":"io.mendflow.command.group.create",
		"datacontenttype":"application/json","data":{"name":"doomed","description":"refused"}}`))
	if status != http.StatusAccepted {
		t.Fatalf("POST group.create: %d %s", status, body)
	}

	got := results.await(t, 30*time.Second, map[string]string{
		"in-product":  events.TypeProductCreated,
		"in-policies": events.TypePoliciesApplied,
		"in-doomed":   events.TypeCommandFailed,
		"gh-1":        events.TypeProjectCreated,
		"gl-1":        events.TypeProjectCreated,
	})

	t.Run("trace", func(t *testing.T) {
		for id, trace := range map[string]string{"in-product": traceHeader, "in-policies": traceExt} {
			tp := events.Extension(got[id], events.ExtTraceparent)
			if !strings.HasPrefix(tp, "00-"+trace+"-") || strings.Contains(tp, incomingSpan) {
				t.Errorf("result of %s: traceparent %q, want a span of trace %s", id, tp, trace)
			}
		}
		calls := map[string][]string{} // trace id to the operations that carried it
		for _, c := range p.sim.Calls() {
			if parts := strings.Split(c.Traceparent, "-"); len(parts) == 4 {
				calls[parts[1]] = append(calls[parts[1]], c.Op)
			}
		}
		for trace, ops := range map[string][]string{
			traceHeader: {mend.ReqCreateProduct},
			traceExt:    {"applyOrganizationPolicies", "asyncProcessStatus"},
		} {
			for _, op := range ops {
				if !slices.Contains(calls[trace], op) {
					t.Errorf("no %s call to Mend carried trace %s; calls by trace: %v", op, trace, calls)
				}
			}
		}
	})

	after := p.scrapeAll()
	t.Run("metrics", func(t *testing.T) {
		for _, c := range []struct {
			program, metric string
			labels          map[string]string
			min             float64 // least increase
		}{
			{"ingest", "mendflow_ingest_events_total", map[string]string{"outcome": "queued"}, 5},
			{"ingest", "mendflow_ingest_request_duration_seconds", map[string]string{"path": "/events", "code": "202"}, 3},
			{"ingest", "mendflow_ingest_request_duration_seconds", map[string]string{"path": "/webhooks/github", "code": "202"}, 1},
			{"worker", "mendflow_worker_commands_total", map[string]string{"command": "product.create", "outcome": "success"}, 1},
			{"worker", "mendflow_worker_commands_total", map[string]string{"command": "product.create", "outcome": "retry"}, 1},
			{"worker", "mendflow_worker_retries_total", map[string]string{"command": "product.create", "reason": "transient"}, 1},
			{"worker", "mendflow_worker_dead_letters_total", map[string]string{"command": "group.create"}, 1},
			{"worker", "mendflow_worker_command_duration_seconds", map[string]string{"command": "project.create"}, 2},
			{"worker", "mendflow_mend_request_duration_seconds", map[string]string{"operation": mend.ReqCreateProduct, "class": "5xx"}, 3},
			{"worker", "mendflow_mend_request_duration_seconds", map[string]string{"operation": mend.ReqCreateProduct, "class": "2xx"}, 1},
			{"worker", "mendflow_mend_retries_total", map[string]string{"operation": mend.ReqCreateProduct}, 1},
			{"poller", "mendflow_poller_polls_total", map[string]string{"kind": "process"}, 1},
			{"poller", "mendflow_poller_completions_total", map[string]string{"kind": "process", "outcome": "succeeded"}, 1},
			{"poller", "mendflow_poller_item_duration_seconds", nil, 1},
			{"poller", "mendflow_mend_request_duration_seconds", map[string]string{"operation": "asyncProcessStatus", "class": "2xx"}, 1},
		} {
			d := sum(after[c.program][c.metric], c.labels) - sum(before[c.program][c.metric], c.labels)
			if d < c.min {
				t.Errorf("%s %s%v rose by %v, want at least %v", c.program, c.metric, c.labels, d, c.min)
			}
		}
		for program, consumer := range map[string]string{"worker": "mendflow-worker", "poller": "poller"} {
			for _, name := range []string{"mendflow_consumer_pending_messages", "mendflow_consumer_ack_pending_messages", "mendflow_consumer_redelivered_messages"} {
				if len(series(after[program][name], map[string]string{"consumer": consumer})) == 0 {
					t.Errorf("%s exports no %s for consumer %s", program, name, consumer)
				}
			}
		}
	})

	t.Run("dashboard and alerts", func(t *testing.T) {
		exported := map[string]bool{}
		for _, families := range after {
			for name := range families {
				exported[name] = true
			}
		}
		checkDeployFiles(t, filepath.Join(repoRoot, "deploy"), exported)
	})

	t.Run("bad log variables", func(t *testing.T) {
		for _, name := range []string{"ingest", "worker", "poller"} {
			for variable, value := range map[string]string{"LOG_LEVEL": "loud", "LOG_FORMAT": "xml"} {
				cmd := exec.Command(p.programs[name].cmd.Path)
				cmd.Env = []string{variable + "=" + value}
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				err := cmd.Run()
				line := strings.TrimSuffix(stderr.String(), "\n")
				if cmd.ProcessState.ExitCode() != 1 || strings.Contains(line, "\n") || !strings.HasPrefix(line, name+": "+variable+": ") {
					t.Errorf("%s with %s=%s: %v, stderr %q; want exit 1 and one line naming %s", name, variable, value, err, line, variable)
				}
			}
		}
	})

	p.stopAll()
	t.Run("logs", func(t *testing.T) {
		secrets := map[string]string{
			"user key": mendsim.DefaultUserKey, "ingest auth token": authToken,
			"GitHub webhook secret": githubSecret, "GitLab webhook token": gitlabToken,
		}
		jwts := p.bearers.list()
		if len(jwts) == 0 {
			t.Error("no JWT seen on the way to Mend: the scan would prove nothing")
		}
		for i, jwt := range jwts {
			secrets[fmt.Sprintf("JWT %d", i)] = jwt
		}
		for _, prog := range p.programs {
			logs := prog.logs.String()
			if !strings.Contains(logs, `"correlation_id"`) {
				t.Errorf("%s logged no line about an event", prog.name)
			}
			for what, secret := range secrets {
				if strings.Contains(logs, secret) {
					t.Errorf("%s logged the %s", prog.name, what)
				}
			}
		}
		// One event can be followed through every service by its
		// correlation id and its trace id.
		for _, name := range []string{"ingest", "worker", "poller"} {
			if !logLine(p.programs[name].logs.String(), `"correlation_id":"in-policies"`, `"trace_id":"`+traceExt+`"`) {
				t.Errorf("%s has no line with the correlation id and trace id of in-policies", name)
			}
		}
		if !logLine(p.programs["worker"].logs.String(), `"event_id":"in-product"`, `"command":"product.create"`, `"correlation_id":"in-product"`, `"trace_id":"`+traceHeader+`"`) {
			t.Error("the worker has no line naming the product.create command, its event, its correlation and trace ids")
		}
	})
}

// start builds the services, starts NATS, the simulator and its proxy, and
// runs the services until the test ends.
func start(t *testing.T) *pipeline {
	t.Helper()
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(filepath.Separator), "./cmd/ingest", "./cmd/worker", "./cmd/poller")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ns := natstest.Start(t)
	nc, _ := ns.Connect()
	p := &pipeline{t: t, bin: bin, nc: nc, programs: map[string]*program{}, bearers: &syncSet{}}
	p.sim = mendsim.NewServer(mendsim.Config{ProcessDuration: 100 * time.Millisecond})
	t.Cleanup(p.sim.Close)
	target, _ := url.Parse(p.sim.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	mendURL := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			p.bearers.add(tok)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(mendURL.Close)

	common := []string{
		"NATS_URL=" + ns.URL(), "MEND_URL=" + mendURL.URL, "MEND_USER_KEY=" + mendsim.DefaultUserKey,
		"MEND_USER_EMAIL=" + mendsim.DefaultUserEmail, "MEND_ORG_TOKEN=" + p.sim.OrgToken(),
		"MEND_RATE_LIMIT=0", "LOG_LEVEL=debug", "LOG_FORMAT=json", "PATH=" + os.Getenv("PATH"),
	}
	p.run(bin, "ingest", "INGEST_ADDR", append(common, "INGEST_AUTH_TOKEN="+authToken,
		"GITHUB_WEBHOOK_SECRET="+githubSecret, "GITLAB_WEBHOOK_TOKEN="+gitlabToken))
	p.run(bin, "worker", "WORKER_ADDR", append(common, "MEND_RETRY_ATTEMPTS=2", "WORKER_RETRY_BASE=50ms",
		"WORKER_RETRY_MAX=200ms", "WORKER_FETCH_WAIT=100ms", "WORKER_ACK_WAIT=5s", "WORKER_NOT_FOUND_WAIT=2s"))
	p.run(bin, "poller", "POLLER_ADDR", append(common, "POLLER_FIRST_INTERVAL=50ms", "POLLER_MAX_INTERVAL=100ms"))
	for _, prog := range p.programs {
		p.waitReady(prog)
	}
	return p
}

func (p *pipeline) waitReady(prog *program) {
	p.t.Helper()
	servicetest.Eventually(p.t, 20*time.Second, func() bool { status, _ := p.get(prog, "/readyz"); return status == http.StatusOK }, prog.name+" to be ready")
}

// kill ends a service with SIGKILL, as a node failing does: it hands back
// nothing and says nothing.
func (p *pipeline) kill(name string) {
	p.t.Helper()
	prog := p.programs[name]
	if err := prog.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	_ = prog.cmd.Wait() // killed: its exit status says so
}

// restart starts a service stopped, as it was, and waits for it.
func (p *pipeline) restart(name string) {
	p.t.Helper()
	prog := p.programs[name]
	p.run(p.bin, name, prog.addrVar, prog.env)
	p.waitReady(p.programs[name])
}

// run starts a service on a port of the system's choosing (addrVar is
// 127.0.0.1:0) and learns the port from the line the service logs once it
// listens: no port is freed for it to take, which another process could
// take first.
func (p *pipeline) run(bin, name, addrVar string, env []string) {
	p.t.Helper()
	prog := &program{name: name, logs: &servicetest.Logs{}, addrVar: addrVar, env: env}
	prog.cmd = exec.Command(filepath.Join(bin, name))
	prog.cmd.Env = append(slices.Clip(env), addrVar+"=127.0.0.1:0")
	prog.cmd.Stderr = prog.logs
	prog.cmd.Stdout = prog.logs
	if err := prog.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.programs[name] = prog
	p.t.Cleanup(func() {
		if prog.cmd.ProcessState == nil {
			_ = prog.cmd.Process.Kill()
			_ = prog.cmd.Wait()
		}
		if p.t.Failed() {
			p.t.Logf("%s logs:\n%s", name, prog.logs.String())
		}
	})
	servicetest.Eventually(p.t, 20*time.Second, func() bool {
		for l := range strings.Lines(prog.logs.String()) {
			if prog.addr = servicetest.ListenAddr(l); prog.addr != "" {
				return true
			}
		}
		return false
	}, name+" to listen")
}

// stopAll sends SIGTERM to every service and expects each to exit 0.
func (p *pipeline) stopAll() {
	p.t.Helper()
	for _, prog := range p.programs {
		if err := prog.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			p.t.Fatal(err)
		}
	}
	for _, prog := range p.programs {
		done := make(chan error, 1)
		go func() { done <- prog.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				p.t.Errorf("%s after SIGTERM: %v", prog.name, err)
			}
		case <-time.After(30 * time.Second):
			p.t.Errorf("%s did not stop", prog.name)
		}
	}
}

func (p *pipeline) post(path string, header http.Header, body []byte) (int, []byte) {
	p.t.Helper()
	status, answer := servicetest.Do(p.t, http.MethodPost, "http://"+p.programs["ingest"].addr+path, header, body)
	return status, []byte(answer)
}

func (p *pipeline) get(prog *program, path string) (int, []byte) {
	resp, err := http.Get("http://" + prog.addr + path)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// scrapeAll reads every service's /metrics.
func (p *pipeline) scrapeAll() map[string]map[string]*dto.MetricFamily {
	p.t.Helper()
	out := map[string]map[string]*dto.MetricFamily{}
	for name, prog := range p.programs {
		status, body := p.get(prog, "/metrics")
		if status != http.StatusOK {
			p.t.Fatalf("%s /metrics: %d", name, status)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			p.t.Fatalf("%s /metrics: %v", name, err)
		}
		out[name] = families
	}
	return out
}

// series are the series of a family whose labels include want.
func series(f *dto.MetricFamily, want map[string]string) []*dto.Metric {
	var out []*dto.Metric
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// sum adds up the series of a family whose labels include want: counter
// and gauge values, histogram sample counts.
func sum(f *dto.MetricFamily, want map[string]string) float64 {
	var total float64
	for _, m := range series(f, want) {
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

// results collects the result events published on NATS, by correlation id.
type results struct {
	mu  sync.Mutex
	got map[string][]event.Event
}

func (p *pipeline) subscribe(subject string) *results {
	p.t.Helper()
	r := &results{got: map[string][]event.Event{}}
	_, err := p.nc.Subscribe(subject, func(m *nats.Msg) {
		e, err := bus.FromMsg(m)
		if err != nil {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		corr := events.Extension(e, events.ExtCorrelationID)
		r.got[corr] = append(r.got[corr], e)
	})
	if err != nil {
		p.t.Fatal(err)
	}
	return r
}

// await waits for a result of each correlation id, of the type given.
func (r *results) await(t *testing.T, timeout time.Duration, want map[string]string) map[string]event.Event {
	t.Helper()
	out := map[string]event.Event{}
	servicetest.Eventually(t, timeout, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for corr, typ := range want {
			for _, e := range r.got[corr] {
				if e.Type() == typ {
					out[corr] = e
				}
			}
		}
		return len(out) == len(want)
	}, fmt.Sprintf("results %v", want))
	return out
}

// logLine reports whether some line of logs holds all of parts.
func logLine(logs string, parts ...string) bool {
next:
	for line := range strings.Lines(logs) {
		for _, part := range parts {
			if !strings.Contains(line, part) {
				continue next
			}
		}
		return true
	}
	return false
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type syncSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func (s *syncSet) add(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]bool{}
	}
	s.m[v] = true
}

func (s *syncSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for v := range s.m {
		out = append(out, v)
	}
	return out
}
