package ctl

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/natstest"
	"github.com/mendflow/mendflow/internal/poller"
	"github.com/mendflow/mendflow/internal/reconcile"
	"github.com/mendflow/mendflow/internal/reconcile/scmtest"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/internal/worker"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// pipeline is NATS in process, the simulator over HTTP, a GitHub
// organization (the fake) and the environment of mendflowctl, workers and
// pollers run against them.
type pipeline struct {
	t   testing.TB
	js  jetstream.JetStream
	sim *mendsim.Server
	gh  *scmtest.Server
	env map[string]string
}

func newPipeline(t testing.TB, repos int) *pipeline {
	t.Helper()
	ns := natstest.Start(t)
	_, js := ns.Connect()
	if err := bus.EnsureStreams(context.Background(), js, bus.StreamConfig{Replicas: 1, DedupWindow: time.Hour, EventsMaxAge: time.Hour, EventsMaxBytes: -1, DLQMaxBytes: -1}); err != nil {
		t.Fatal(err)
	}
	sim := mendsim.NewServer(mendsim.Config{ProcessDuration: 20 * time.Millisecond})
	t.Cleanup(sim.Close)
	gh := scmtest.GitHub("acme", "ghp-token", scmtest.GitHubRepos("acme", "svc", repos, func(i int) []string {
		return []string{[]string{"team-a", "team-b"}[i%2]}
	}), 100)
	t.Cleanup(gh.Close)
	return &pipeline{t: t, js: js, sim: sim, gh: gh, env: map[string]string{
		"NATS_URL":              ns.URL(),
		"MEND_URL":              sim.URL,
		"MEND_USER_KEY":         mendsim.DefaultUserKey,
		"MEND_USER_EMAIL":       mendsim.DefaultUserEmail,
		"MEND_ORG_TOKEN":        sim.OrgToken(),
		"MEND_RATE_LIMIT":       "0",
		"MEND_RETRY_ATTEMPTS":   "1",
		"GITHUB_TOKEN":          "ghp-token",
		"WORKER_ADDR":           "127.0.0.1:0",
		"WORKER_FETCH_WAIT":     "100ms",
		"WORKER_RETRY_BASE":     "20ms",
		"WORKER_RETRY_MAX":      "100ms",
		"WORKER_MAX_ATTEMPTS":   "2",
		"WORKER_NOT_FOUND_WAIT": "200ms",
		"POLLER_ADDR":           "127.0.0.1:0",
		"POLLER_FIRST_INTERVAL": "20ms",
		"POLLER_MAX_INTERVAL":   "100ms",
		"POLLER_FETCH_WAIT":     "100ms",
	}}
}

// start runs a worker and a poller until the test ends.
func (p *pipeline) start() {
	p.t.Helper()
	tel := app.Telemetry{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, run := range []func(context.Context, envconfig.Lookuper, app.Telemetry) error{worker.Run, poller.Run} {
		addr, _, _ := servicetest.Start(p.t, func(ctx context.Context, listening func(string)) error {
			tel := tel
			tel.OnListen = listening
			return run(ctx, envconfig.MapLookuper(p.env), tel)
		})
		servicetest.WaitReady(p.t, addr, 10*time.Second)
	}
}

// spec writes a spec of the GitHub organization whose product acme holds
// one policy.
func (p *pipeline) spec() string {
	p.t.Helper()
	return writeSpec(p.t, `
repositories:
  - github: {organization: acme, url: `+p.gh.URL+`}
mapping:
  tags:
    team: "{{ topics.0 }}"
policies:
  - scope: product
    name: acme
    owner: admin@example.com
    policies:
      - {name: critical, filter: {type: VULNERABILITY_SEVERITY, vulnerabilitySeverity: {scoreFrom: 9, scoreTo: 10}}, action: {type: REJECT}}
`)
}

// apply runs mendflowctl reconcile apply with args in ctx.
func (p *pipeline) apply(ctx context.Context, cfg applyConfig, args ...string) (string, error) {
	p.t.Helper()
	var out strings.Builder
	s := &settings{NATSURL: p.env["NATS_URL"], env: envconfig.MapLookuper(p.env), stderr: io.Discard}
	if args[0] == "-plan" {
		pl, err := readPlan(args[1])
		if err != nil {
			return "", err
		}
		err = applyPlan(ctx, s, pl, &out, cfg)
		return out.String(), err
	}
	pl, err := planSpec(ctx, s, args[1])
	if err != nil {
		return "", err
	}
	if len(pl.Changes) == 0 {
		return "No changes", nil
	}
	err = applyPlan(ctx, s, pl, &out, cfg)
	return out.String(), err
}

// calls counts the simulator's successful calls of op.
func (p *pipeline) calls(op string) int {
	n := 0
	for _, c := range p.sim.CallsOf(op) {
		if c.OK() {
			n++
		}
	}
	return n
}

var quick = applyConfig{every: time.Hour}

// TestReconcileApply applies a plan through the pipeline: the projects
// are created, then the policy of their new product added and applied
// (the changes that follow them). Applying the same plan again changes
// nothing, and a new plan is empty.
func TestReconcileApply(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, 4)
	p.start()
	spec := p.spec()
	planJSON, err := run(t, envconfig.MapLookuper(p.env), "reconcile", "plan", "-o", "json", "-f", spec)
	if !errors.Is(err, errDrift) {
		t.Fatalf("plan: %v", err)
	}
	saved := writeFile(t, "plan.json", planJSON)

	var stdout, stderr strings.Builder
	err = runMain(context.Background(), []string{"reconcile", "apply", "-f", spec, "-timeout", "30s"}, envconfig.MapLookuper(p.env), &stdout, &stderr)
	out := stdout.String()
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if !strings.Contains(stderr.String(), "apply: 6 of 6 ended (6 done, 0 failed, 0 skipped), 0 queued, 0 waiting") {
		t.Errorf("progress on stderr: %q", stderr.String())
	}
	// 4 projects, the policy, its application.
	if !strings.Contains(out, "Applied 6 of 6 changes") || !strings.Contains(out, "6 done, 0 failed, 0 skipped") {
		t.Errorf("apply printed:\n%s", out)
	}
	if n := p.calls("createProject"); n != 4 {
		t.Errorf("%d projects created, want 4", n)
	}
	if n := p.calls(mend.ReqAddProductPolicy); n != 1 {
		t.Errorf("%d policies added, want 1", n)
	}

	// The same plan again: every command is a duplicate, its result found.
	out, err = run(t, envconfig.MapLookuper(p.env), "reconcile", "apply", "-plan", saved, "-timeout", "30s")
	if err != nil {
		t.Fatalf("apply of the same plan: %v\n%s", err, out)
	}
	if !strings.Contains(out, "6 done, 0 failed, 0 skipped (4 queued before, not queued again)") {
		t.Errorf("apply of the same plan printed:\n%s", out)
	}
	if p.calls("createProject") != 4 || p.calls(mend.ReqAddProductPolicy) != 1 {
		t.Errorf("the same plan applied again changed Mend: %d createProject, %d addPolicy", p.calls("createProject"), p.calls(mend.ReqAddProductPolicy))
	}

	// A new plan: none, as plan says (exit 0) and apply finds.
	if out, err := run(t, envconfig.MapLookuper(p.env), "reconcile", "plan", "-f", spec); err != nil || !strings.Contains(out, "No changes: Mend matches the spec.") {
		t.Errorf("plan after apply: %v\n%s", err, out)
	}
	out, err = run(t, envconfig.MapLookuper(p.env), "reconcile", "apply", "-f", spec)
	if err != nil || !strings.Contains(out, "No changes: Mend matches the spec.") || strings.Contains(out, "Applying") {
		t.Errorf("apply after apply: %v\n%s", err, out)
	}
}

// TestReconcileApplyKilledAndRerun: an apply stopped after queuing part of
// its plan, with no worker running, then run again with the workers up,
// changes Mend once per change.
func TestReconcileApplyKilledAndRerun(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, 6)
	planJSON, err := run(t, envconfig.MapLookuper(p.env), "reconcile", "plan", "-o", "json", "-f", p.spec())
	if !errors.Is(err, errDrift) {
		t.Fatalf("plan: %v", err)
	}
	saved := writeFile(t, "plan.json", planJSON)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error, 1)
	go func() {
		_, err := p.apply(ctx, applyConfig{every: time.Hour, batch: 1}, "-plan", saved)
		stopped <- err
	}()
	// Killed once 3 of its 6 projects are queued.
	servicetest.Eventually(t, 10*time.Second, func() bool { return p.commandsStored() >= 3 }, "3 commands stored")
	cancel()
	if err := <-stopped; err == nil || !strings.Contains(err.Error(), "apply again to go on") {
		t.Fatalf("apply stopped with %v", err)
	}
	before := p.commandsStored()
	if before >= 8 {
		t.Fatalf("the apply queued all %d commands before it was stopped: the test proves nothing", before)
	}

	p.start()
	out, err := p.apply(context.Background(), quick, "-plan", saved)
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	if !strings.Contains(out, "8 done, 0 failed") {
		t.Errorf("rerun printed:\n%s", out)
	}
	if n := p.calls("createProject"); n != 6 {
		t.Errorf("%d projects created, want 6", n)
	}
	if n := p.calls(mend.ReqAddProductPolicy); n != 1 {
		t.Errorf("%d policies added, want 1", n)
	}
	// Each change's command was stored once.
	if n := p.commandsStored(); n != 8 {
		t.Errorf("%d commands stored, want 8", n)
	}
	if out, err := p.apply(context.Background(), quick, "-f", p.spec()); err != nil || out != "No changes" {
		t.Errorf("plan after the rerun: %v %s", err, out)
	}
}

// TestReconcileApplyFailure: a change whose command fails is reported, the
// changes following it are skipped, and apply exits 1.
func TestReconcileApplyFailure(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, 2)
	p.start()
	if err := p.sim.SetFault(mendsim.Fault{Op: mend.ReqAddProductPolicy, Status: 400}); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, envconfig.MapLookuper(p.env), "reconcile", "apply", "-f", p.spec(), "-timeout", "30s")
	var stderr strings.Builder
	if code := exitCode(err, &stderr); code != 1 {
		t.Errorf("exit status %d, want 1 (%v)", code, err)
	}
	t.Logf("apply printed:\n%s", out)
	for _, want := range []string{
		"Applied 4 of 4 changes", "2 done, 1 failed, 1 skipped", "Not applied:",
		`+ policy "critical" at product acme (product acme)  policy.add`, "failed: permanent:",
		"policies.apply", "skipped: follows",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr.String(), "1 of 4 changes failed and 1 were skipped") {
		t.Errorf("stderr: %s", stderr.String())
	}
}

// writeSpec writes a spec file in the test's directory.
func writeSpec(t testing.TB, spec string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(name, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// commandsStored is how many commands MENDFLOW_COMMANDS ever stored.
func (p *pipeline) commandsStored() int {
	s, err := p.js.Stream(context.Background(), events.StreamCommands)
	if err != nil {
		p.t.Fatal(err)
	}
	return int(s.CachedInfo().State.LastSeq)
}

// TestReconcileSpecs: put checks the spec as plan does, then get, list and
// delete see what it stored.
func TestReconcileSpecs(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	env := envconfig.MapLookuper(map[string]string{"NATS_URL": ns.URL()})
	good := writeFile(t, "good.yaml", "repositories:\n  - static:\n      - {name: api, owner: acme}\n")
	bad := writeFile(t, "bad.yaml", "repositories:\n  - github: {organization: acme}\nprune: {action: erase}\n")

	if out, err := run(t, env, "reconcile", "list"); err != nil || !strings.Contains(out, "No spec stored.") {
		t.Errorf("list before any put: %v %q", err, out)
	}
	if _, err := run(t, env, "reconcile", "put", "prod", "-f", bad); err == nil || !strings.Contains(err.Error(), "bad.yaml:3: prune.action") {
		t.Errorf("put of a bad spec: %v", err)
	}
	if _, err := run(t, env, "reconcile", "put", "no/slash", "-f", good); err == nil || !strings.Contains(err.Error(), "not a spec name") {
		t.Errorf("put under a bad name: %v", err)
	}
	if out, err := run(t, env, "reconcile", "put", "prod", "-f", good); err != nil || !strings.Contains(out, "Stored spec prod (revision 1).") {
		t.Fatalf("put: %v %q", err, out)
	}
	if out, err := run(t, env, "reconcile", "get", "prod"); err != nil || !strings.Contains(out, "{name: api, owner: acme}") {
		t.Errorf("get: %v %q", err, out)
	}
	if out, err := run(t, env, "reconcile", "list"); err != nil || !strings.Contains(out, "prod  1 ") {
		t.Errorf("list: %v %q", err, out)
	}
	if out, err := run(t, env, "reconcile", "delete", "prod"); err != nil || !strings.Contains(out, "Deleted spec prod.") {
		t.Errorf("delete: %v %q", err, out)
	}
	if _, err := run(t, env, "reconcile", "get", "prod"); !errors.Is(err, reconcile.ErrNoSpec) {
		t.Errorf("get after delete: %v", err)
	}
	if _, err := run(t, env, "reconcile", "delete", "prod"); !errors.Is(err, reconcile.ErrNoSpec) {
		t.Errorf("delete after delete: %v", err)
	}
	for _, args := range [][]string{
		{"reconcile", "put", "prod"}, {"reconcile", "get"}, {"reconcile", "list", "x"},
		{"reconcile", "apply"}, {"reconcile", "apply", "-f", good, "-plan", good},
	} {
		if _, err := run(t, env, args...); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want the usage", args, err)
		}
	}
}

// TestReconcilePutFromARepository: put -github and put -gitlab store a
// reference to a spec kept in a repository once the file there reads as a
// valid spec.
func TestReconcilePutFromARepository(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	gh := scmtest.GitHub("acme", "ghp-token", nil, 100)
	t.Cleanup(gh.Close)
	gl := scmtest.GitLab("platform", "glpat-token", nil, 100)
	t.Cleanup(gl.Close)
	env := envconfig.MapLookuper(map[string]string{"NATS_URL": ns.URL(), "GITHUB_TOKEN": "ghp-token", "GITLAB_TOKEN": "glpat-token"})
	for _, tt := range []struct {
		scm, repo, flag string
		srv             *scmtest.Server
		notFound        string
		ref             string // what get prints of the reference
	}{
		{"github", "acme/mend-specs", "-github", gh, "404", "repository: acme/mend-specs"},
		{"gitlab", "platform/infra/mend-specs", "-gitlab", gl, "404", "project: platform/infra/mend-specs"},
	} {
		t.Run(tt.scm, func(t *testing.T) {
			tt.srv.SetFile(tt.repo, "mend/spec.yaml", "main", []byte("repositories:\n  - static: [{name: api, owner: acme}]\n"))
			tt.srv.SetFile(tt.repo, "mend/bad.yaml", "main", []byte("repositories: []\nprune: {action: erase}\n"))
			name := "prod-" + tt.scm
			put := func(path string) (string, error) {
				return run(t, env, "reconcile", "put", name, tt.flag, tt.repo, "-path", path, "-ref", "main", "-url", tt.srv.URL)
			}
			if _, err := put("mend/bad.yaml"); err == nil || !strings.Contains(err.Error(), tt.scm+":"+tt.repo+"/mend/bad.yaml@main:2: prune.action") {
				t.Errorf("put of a bad spec: %v", err)
			}
			if _, err := put("mend/none.yaml"); err == nil || !strings.Contains(err.Error(), tt.notFound) {
				t.Errorf("put of a missing file: %v", err)
			}
			if out, err := put("mend/spec.yaml"); err != nil || !strings.Contains(out, "Stored spec "+name+" (revision ") {
				t.Fatalf("put: %v %q", err, out)
			}
			out, err := run(t, env, "reconcile", "get", name)
			if err != nil || !strings.Contains(out, tt.ref) || !strings.Contains(out, "path: mend/spec.yaml") {
				t.Errorf("get: %v %q", err, out)
			}
		})
	}
	for _, args := range [][]string{
		{"-path", "x.yaml", "-f", "x.yaml"},
		{"-github", "acme/mend-specs", "-gitlab", "platform/mend-specs", "-path", "x.yaml"},
	} {
		if _, err := run(t, env, append([]string{"reconcile", "put", "prod"}, args...)...); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want the usage", args, err)
		}
	}
}
