package ctl

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/reconcile"
	"github.com/mendflow/mendflow/internal/reconcile/scmtest"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// TestReconcilePlan runs reconcile plan against the simulator and a
// GitHub organization (the fake): its output, and its exit status, which
// CI gates on.
func TestReconcilePlan(t *testing.T) {
	t.Parallel()
	sim := mendsim.NewServer(mendsim.Config{})
	t.Cleanup(sim.Close)
	gh := scmtest.GitHub("acme", "ghp-token", scmtest.GitHubRepos("acme", "svc", 3, func(int) []string { return nil }), 100)
	t.Cleanup(gh.Close)
	env := map[string]string{
		"MEND_URL": sim.URL, "MEND_USER_KEY": mendsim.DefaultUserKey, "MEND_USER_EMAIL": mendsim.DefaultUserEmail, "MEND_ORG_TOKEN": sim.OrgToken(),
		"GITHUB_TOKEN": "ghp-token", "NATS_URL": "nats://127.0.0.1:1",
	}
	drift := writeFile(t, "drift.yaml", "repositories:\n  - github: {organization: acme, url: "+gh.URL+"}\n")
	// The simulator's demo organization holds demo-product with demo-api
	// and demo-web: a spec of those two is in force.
	inSync := writeFile(t, "in-sync.yaml", "repositories:\n  - static:\n      - {name: demo-api, owner: demo-product}\n      - {name: demo-web, owner: demo-product}\n")
	badSpec := writeFile(t, "bad.yaml", "repositories:\n  - github: {organization: acme}\nprune: {action: erase}\n")

	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		{name: "changes", args: []string{"-f", drift}, wantCode: 2, wantOut: []string{
			"Reconcile plan: 3 repositories, 2 projects in Mend.", "product acme", "+ project svc-00000", "project.create", "Plan: 3 to create, 0 to change, 0 to delete.",
		}},
		{name: "no changes", args: []string{"-f", inSync}, wantCode: 0, wantOut: []string{"No changes: Mend matches the spec."}},
		{name: "bad flags are an error, not drift", args: []string{"-o", "yaml", "-f", drift}, wantCode: 1, wantErr: "usage: mendflowctl reconcile plan -f SPEC [-o text|json]"},
		{name: "no spec", args: nil, wantCode: 1, wantErr: "usage:"},
		{name: "bad spec", args: []string{"-f", badSpec}, wantCode: 1, wantErr: "bad.yaml:3: prune.action: value must be one of 'none', 'tag', 'delete'"},
		{name: "no token", args: []string{"-f", drift}, env: map[string]string{"GITHUB_TOKEN": ""}, wantCode: 1, wantErr: "repositories[0]: github: GITHUB_TOKEN is not set"},
		{name: "no Mend", args: []string{"-f", drift}, env: map[string]string{"MEND_URL": ""}, wantCode: 1, wantErr: "MEND_URL"},
		{name: "wrong user key", args: []string{"-f", drift}, env: map[string]string{"MEND_USER_KEY": "0000aaaa"}, wantCode: 1, wantErr: "reading Mend: listing the products"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{}
			for k, v := range env {
				vars[k] = v
			}
			for k, v := range tt.env {
				vars[k] = v
			}
			out, err := run(t, envconfig.MapLookuper(vars), append([]string{"reconcile", "plan"}, tt.args...)...)
			var stderr strings.Builder
			if code := exitCode(err, &stderr); code != tt.wantCode {
				t.Errorf("exit status %d, want %d (error %v)", code, tt.wantCode, err)
			}
			if tt.wantErr != "" && !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tt.wantErr)
			}
			if strings.Contains(stderr.String()+out, "0000aaaa") || strings.Contains(stderr.String()+out, mendsim.DefaultUserKey) {
				t.Errorf("a user key was printed: %s%s", stderr.String(), out)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		out, err := run(t, envconfig.MapLookuper(env), "reconcile", "plan", "-o", "json", "-f", drift)
		if !errors.Is(err, errDrift) {
			t.Fatalf("err = %v, want the drift", err)
		}
		var plan reconcile.Plan
		if err := json.Unmarshal([]byte(out), &plan); err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		if plan.Version != 1 || plan.Summary.Create != 3 || len(plan.Changes) != 3 || plan.Changes[0].Command != "project.create" {
			t.Errorf("plan = %+v", plan)
		}
	})
}
