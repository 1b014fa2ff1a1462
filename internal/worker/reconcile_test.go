package worker

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mendflow/mendflow/internal/reconcile"
	"github.com/mendflow/mendflow/internal/reconcile/scmtest"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// reconcileSpec is a spec of a GitHub organization (the fake) of n
// repositories, each with a team tag.
func reconcileSpec(t *testing.T, n int) string {
	t.Helper()
	gh := scmtest.GitHub("acme", "ghp-token", scmtest.GitHubRepos("acme", "svc", n, func(i int) []string {
		return []string{[]string{"team-a", "team-b"}[i%2]}
	}), 100)
	t.Cleanup(gh.Close)
	return "repositories:\n  - github: {organization: acme, url: " + gh.URL + "}\nmapping:\n  tags:\n    team: \"{{ topics.0 }}\"\n"
}

// TestReconcileCommand: a reconcile of a stored spec plans, queues one
// command per change, and reports once every one has ended, across a
// restart of the worker carrying it out; Mend is changed once per change.
func TestReconcileCommand(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"GITHUB_TOKEN": "ghp-token", "WORKER_RECONCILE_POLL": "50ms"})
	specs, err := reconcile.OpenSpecs(context.Background(), h.js, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := specs.Put(context.Background(), "acme", "acme.yaml", []byte(reconcileSpec(t, 6))); err != nil {
		t.Fatal(err)
	}
	// Mend answers slowly enough for the reconcile to be stopped halfway.
	if err := h.sim.SetFault(mendsim.Fault{Op: "createProject", Latency: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	first := h.startWorker(map[string]string{"WORKER_CONCURRENCY": "2"})
	cmd := h.send(events.CommandReconcile, map[string]any{"spec": "acme"})
	var planned events.ReconcilePlanned
	decode(t, h.waitAnswer(cmd.ID(), 10*time.Second), events.TypeReconcilePlanned, &planned)
	if planned.Create != 6 || planned.ByCommand[events.CommandProjectCreate] != 6 || len(planned.Changes) != 6 || planned.Spec != "acme" {
		t.Errorf("planned: %+v", planned)
	}
	servicetest.Eventually(t, 10*time.Second, func() bool { return h.okCalls("createProject") >= 2 }, "two projects created")
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	h.startWorker(nil)
	// An event creates one of the spec's projects while the reconcile
	// runs: the project is created once, by whichever comes first.
	h.send(events.CommandProjectCreate, map[string]any{"productName": "acme", "projectName": "svc-00005", "createProduct": true})

	var got []string
	servicetest.Eventually(t, 20*time.Second, func() bool {
		got = got[:0]
		for _, e := range h.answers(cmd.ID()) {
			got = append(got, e.Type())
		}
		return len(got) == 2
	}, "the reconcile's applied event")
	answers := h.answers(cmd.ID())
	var applied events.ReconcileApplied
	decode(t, answers[1], events.TypeReconcileApplied, &applied)
	if applied.Changes != 6 || applied.Done != 6 || applied.Failed != 0 {
		t.Errorf("applied: %+v", applied)
	}
	if n := h.okCalls("createProject"); n != 6 {
		t.Errorf("%d projects created, want 6", n)
	}
	// Each change's command answers the reconcile, and was carried out
	// once: one result each, in the reconcile's chain.
	results := 0
	for _, e := range h.events(events.StreamEvents) {
		if e.Type() == events.TypeProjectCreated && events.Extension(e, events.ExtCorrelationID) == "corr-"+cmd.ID() {
			results++
		}
	}
	if results != 6 {
		t.Errorf("%d project.created events in the reconcile's chain, want 6", results)
	}

	// Again: the plan is empty, and the reconcile ends at once.
	again := h.send(events.CommandReconcile, map[string]any{"spec": "acme"})
	servicetest.Eventually(t, 10*time.Second, func() bool { return len(h.answers(again.ID())) == 2 }, "the second reconcile's events")
	decode(t, h.answers(again.ID())[0], events.TypeReconcilePlanned, &planned)
	if planned.Create+planned.Change+planned.Delete != 0 {
		t.Errorf("second plan: %+v", planned)
	}
}

// TestReconcileCommandRefused: a spec name nothing is stored under, and an
// inline spec that is not valid, give up at once as invalid.
func TestReconcileCommandRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.startWorker(nil)
	for _, spec := range []any{"missing", map[string]any{"repositories": []any{map[string]any{"github": map[string]any{}}}}} {
		cmd := h.send(events.CommandReconcile, map[string]any{"spec": spec, "dryRun": true})
		var failed events.CommandFailed
		decode(t, h.waitAnswer(cmd.ID(), 10*time.Second), events.TypeCommandFailed, &failed)
		if failed.Reason != events.FailInvalid || failed.Attempts != 1 {
			t.Errorf("spec %v: failed %+v", spec, failed)
		}
	}
}

// TestReconcileCommandDryRun plans an inline spec and queues nothing.
func TestReconcileCommandDryRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"GITHUB_TOKEN": "ghp-token"})
	h.startWorker(nil)
	var spec map[string]any
	if err := json.Unmarshal([]byte(`{"repositories":[{"static":[{"name":"api","owner":"acme"}]}]}`), &spec); err != nil {
		t.Fatal(err)
	}
	cmd := h.send(events.CommandReconcile, map[string]any{"spec": spec, "dryRun": true})
	var planned events.ReconcilePlanned
	decode(t, h.waitAnswer(cmd.ID(), 10*time.Second), events.TypeReconcilePlanned, &planned)
	if !planned.DryRun || planned.Create != 1 || planned.Spec != "" {
		t.Errorf("planned: %+v", planned)
	}
	servicetest.Eventually(t, 5*time.Second, func() bool { return h.commandsLeft() == 0 }, "the reconcile to end")
	if n := h.okCalls("createProject"); n != 0 {
		t.Errorf("a dry run created %d projects", n)
	}
}

func decode(t *testing.T, e interface {
	Type() string
	Data() []byte
}, typ string, into any) {
	t.Helper()
	if e.Type() != typ {
		t.Fatalf("event %s %s, want %s", e.Type(), e.Data(), typ)
	}
	if err := json.Unmarshal(e.Data(), into); err != nil {
		t.Fatal(err)
	}
}

// TestReconcileSchedule: two workers with a schedule queue one reconcile
// per spec and slot between them.
func TestReconcileSchedule(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"GITHUB_TOKEN": "ghp-token", "WORKER_RECONCILE_SCHEDULE": "1h", "WORKER_RECONCILE_SPECS": "acme,other"})
	specs, err := reconcile.OpenSpecs(context.Background(), h.js, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"acme", "other"} {
		if _, err := specs.Put(context.Background(), name, name+".yaml", []byte("repositories:\n  - static: [{name: api, owner: "+name+"}]\n")); err != nil {
			t.Fatal(err)
		}
	}
	h.startWorker(nil)
	h.startWorker(nil)
	servicetest.Eventually(t, 10*time.Second, func() bool { return strings.Count(h.logs.String(), `msg="reconcile scheduled"`) == 4 }, "both workers to schedule both specs")
	slot := time.Now().UTC().Truncate(time.Hour).Format(time.RFC3339)
	for _, name := range []string{"acme", "other"} {
		id := "reconcile:" + name + "@" + slot
		var planned events.ReconcilePlanned
		decode(t, h.waitAnswer(id, 10*time.Second), events.TypeReconcilePlanned, &planned)
		if planned.Spec != name || planned.Create != 1 {
			t.Errorf("%s: planned %+v", id, planned)
		}
	}
	if n := strings.Count(h.logs.String(), "duplicate=true"); n != 2 {
		t.Errorf("%d of the 4 scheduled reconciles were duplicates, want 2:\n%s", n, h.logs.String())
	}
	servicetest.Eventually(t, 10*time.Second, func() bool { return h.okCalls("createProject") == 2 }, "each spec's project created")
}

// TestReconcileScheduleSettings: a schedule needs specs, and is not too
// frequent.
func TestReconcileScheduleSettings(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s    reconcileSettings
		want string
	}{
		{reconcileSettings{Poll: time.Second, Keep: time.Hour, Schedule: time.Hour}, "WORKER_RECONCILE_SPECS: required"},
		{reconcileSettings{Poll: time.Second, Keep: time.Hour, Schedule: time.Second, Specs: []string{"a"}}, "WORKER_RECONCILE_SCHEDULE: must be at least 1m0s"},
		{reconcileSettings{Poll: time.Second, Keep: time.Hour, Schedule: time.Hour, Specs: []string{"a b"}}, `WORKER_RECONCILE_SPECS: "a b" is not a spec name`},
		{reconcileSettings{Poll: time.Second, Keep: time.Hour, Schedule: time.Hour, Specs: []string{"a"}}, ""},
		{reconcileSettings{Poll: time.Second, Keep: time.Hour}, ""},
	} {
		err := tt.s.Validate()
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: %v, want %q", tt.s, err, tt.want)
		}
	}
}

// TestReconcileCommandGitOps: a stored reference to a spec kept in a
// repository, on GitHub or GitLab, is read anew by each reconcile, so that
// a push is what the next reconcile acts on.
func TestReconcileCommandGitOps(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"GITHUB_TOKEN": "ghp-token", "GITLAB_TOKEN": "glpat-token"})
	gh := scmtest.GitHub("acme", "ghp-token", nil, 100)
	t.Cleanup(gh.Close)
	gl := scmtest.GitLab("platform", "glpat-token", nil, 100)
	t.Cleanup(gl.Close)
	specs, err := reconcile.OpenSpecs(context.Background(), h.js, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	var ghRef, glRef reconcile.SpecFile
	ghRef.From.GitHub = &reconcile.GitHubFile{Repository: "acme/mend-specs", Path: "mend/spec.yaml", Ref: "main", URL: gh.URL}
	glRef.From.GitLab = &reconcile.GitLabFile{Project: "platform/mend-specs", Path: "mend/spec.yaml", Ref: "main", URL: gl.URL}
	h.startWorker(nil)
	for _, tt := range []struct {
		spec, repo string
		srv        *scmtest.Server
		ref        reconcile.SpecFile
	}{
		{"prod-github", "acme/mend-specs", gh, ghRef},
		{"prod-gitlab", "platform/mend-specs", gl, glRef},
	} {
		tt.srv.SetFile(tt.repo, "mend/spec.yaml", "main", []byte("repositories:\n  - static: [{name: api, owner: acme}]\n"))
		if _, err := specs.Put(context.Background(), tt.spec, tt.ref.String(), tt.ref.YAML()); err != nil {
			t.Fatal(err)
		}
		var planned events.ReconcilePlanned
		first := h.send(events.CommandReconcile, map[string]any{"spec": tt.spec, "dryRun": true})
		decode(t, h.waitAnswer(first.ID(), 10*time.Second), events.TypeReconcilePlanned, &planned)
		if planned.Create != 1 || planned.Changes[0].Target != "project api" {
			t.Errorf("%s: first plan: %+v", tt.spec, planned)
		}

		// A push: the file has a second repository, and the next reconcile sees it.
		tt.srv.SetFile(tt.repo, "mend/spec.yaml", "main", []byte("repositories:\n  - static: [{name: api, owner: acme}, {name: web, owner: acme}]\n"))
		second := h.send(events.CommandReconcile, map[string]any{"spec": tt.spec, "dryRun": true})
		decode(t, h.waitAnswer(second.ID(), 10*time.Second), events.TypeReconcilePlanned, &planned)
		if planned.Create != 2 {
			t.Errorf("%s: plan after the push: %+v", tt.spec, planned)
		}

		// A file that is no valid spec gives the reconcile up at once.
		tt.srv.SetFile(tt.repo, "mend/spec.yaml", "main", []byte("repositories: []\nprune: {action: erase}\n"))
		bad := h.send(events.CommandReconcile, map[string]any{"spec": tt.spec})
		var failed events.CommandFailed
		decode(t, h.waitAnswer(bad.ID(), 10*time.Second), events.TypeCommandFailed, &failed)
		if failed.Reason != events.FailInvalid || !strings.Contains(failed.Error, tt.ref.String()+":2: prune.action") {
			t.Errorf("%s: failed: %+v", tt.spec, failed)
		}
	}
}
