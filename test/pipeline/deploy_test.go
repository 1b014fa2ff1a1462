package pipeline

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestDeployFilesShape checks the dashboard and the alerting rules without
// running the services; TestPipeline also checks that every metric they
// name is exported.
func TestDeployFilesShape(t *testing.T) {
	t.Parallel()
	checkDeployFiles(t, filepath.Join(repoRoot, "deploy"), nil)
}

// dashboard is the part of a Grafana dashboard the checks read.
type dashboard struct {
	Title  string  `json:"title"`
	UID    string  `json:"uid"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID      int     `json:"id"`
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"` // a collapsed row's
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// ruleFile is a Prometheus rules file.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

var metricName = regexp.MustCompile(`\bmendflow_[a-zA-Z0-9_]+`)

// checkDeployFiles checks the shape of the dashboard and the rules in dir
// and, when exported is not nil, that every mendflow_ metric they name is
// among the exported metric families (a histogram's _bucket, _count and
// _sum series by its family's name).
func checkDeployFiles(t *testing.T, dir string, exported map[string]bool) {
	t.Helper()
	var exprs []string

	b, err := os.ReadFile(filepath.Join(dir, "grafana", "mendflow-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) == 0 {
		t.Errorf("dashboard %q (uid %q) with %d panels", d.Title, d.UID, len(d.Panels))
	}
	ids := map[int]bool{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if ids[p.ID] || p.Title == "" {
				t.Errorf("panel %d %q: ids must be unique and titles set", p.ID, p.Title)
			}
			ids[p.ID] = true
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				if tg.Expr == "" || tg.RefID == "" {
					t.Errorf("panel %q: a target without expr or refId", p.Title)
				}
				exprs = append(exprs, tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)

	b, err = os.ReadFile(filepath.Join(dir, "prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatalf("alerts: %v", err)
	}
	if len(rf.Groups) == 0 {
		t.Error("alerts: no groups")
	}
	alerts := map[string]bool{}
	for _, g := range rf.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("alerts: group %q without a name or rules", g.Name)
		}
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" || alerts[r.Alert] {
				t.Errorf("alerts: rule %q: alert must be set and unique, expr set", r.Alert)
			}
			alerts[r.Alert] = true
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("alerts: %s: severity %q, want warning or critical", r.Alert, s)
			}
			if r.Annotations["summary"] == "" {
				t.Errorf("alerts: %s has no summary", r.Alert)
			}
			// A 413 (reason too_large) is the sender's, not ingest's.
			if r.Alert == "MendflowIngestUnavailable" && !strings.Contains(r.Expr, `reason!="too_large"`) {
				t.Errorf("alerts: %s counts the too_large refusals: %s", r.Alert, r.Expr)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	for _, want := range []string{"mendflow_worker_dead_letters_total", "mendflow_consumer_pending_messages",
		"mendflow_mend_request_duration_seconds_count", "mendflow_poller_oldest_item_age_seconds"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("alerts: no rule reads %s", want)
		}
	}

	if exported == nil {
		return
	}
	for _, e := range exprs {
		for _, name := range metricName.FindAllString(e, -1) {
			family := name
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				if base, ok := strings.CutSuffix(name, suffix); ok && !exported[name] {
					family = base
				}
			}
			if !exported[family] {
				t.Errorf("%s, read by %q, is exported by no service", name, e)
			}
		}
	}
}
