package kubecheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sections is where the README documents the variables each program reads.
var sections = map[string][]string{
	"ingest":  {"Ingest", "Observability"},
	"worker":  {"Worker", "Reconcile", "Observability"},
	"poller":  {"Poller", "Observability"},
	"mendsim": {"The Mend simulator", "Observability"},
}

// managed is the variables the chart sets itself, from other values than a
// config map: the NATS URL, the address, the secrets, the rules file.
var managed = map[string][]string{
	"ingest":  {"NATS_URL", "INGEST_ADDR", "MEND_ORG_TOKEN", "GITHUB_WEBHOOK_SECRET", "GITLAB_WEBHOOK_TOKEN", "INGEST_AUTH_TOKEN", "OTEL_EXPORTER_OTLP_HEADERS", "RULES_FILE"},
	"worker":  {"NATS_URL", "WORKER_ADDR", "MEND_USER_KEY", "MEND_USER_EMAIL", "MEND_ORG_TOKEN", "OTEL_EXPORTER_OTLP_HEADERS", "GITHUB_TOKEN", "GITLAB_TOKEN"},
	"poller":  {"NATS_URL", "POLLER_ADDR", "MEND_USER_KEY", "MEND_USER_EMAIL", "MEND_ORG_TOKEN", "OTEL_EXPORTER_OTLP_HEADERS"},
	"mendsim": {"MENDSIM_ADDR", "MENDSIM_USER_KEY", "MENDSIM_USER_EMAIL", "MENDSIM_ORG_TOKEN", "OTEL_EXPORTER_OTLP_HEADERS"},
}

// readmeVariables is the variables the README's tables name in their first
// column, by section (the title of a "## " heading).
func readmeVariables(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]*[A-Z0-9])`")
	out := map[string][]string{}
	var section string
	for _, line := range strings.Split(string(data), "\n") {
		if title, ok := strings.CutPrefix(line, "## "); ok {
			section = title
			continue
		}
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 3 {
			continue
		}
		for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
			out[section] = append(out[section], m[1])
		}
	}
	return out
}

// schema is the part of values.schema.json that says which variables a
// config map takes.
type schema struct {
	Properties map[string]*schema `json:"properties"`
	AllOf      []*schema          `json:"allOf"`
	Ref        string             `json:"$ref"`
	Defs       map[string]*schema `json:"$defs"`
	Default    any                `json:"default"`
	Examples   []any              `json:"examples"`
}

func readSchema(t *testing.T) *schema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s schema
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// variables is the variables a config map of the schema takes (its
// properties and those of the definitions it is made of), each with the
// schema of its value.
func (s *schema) variables(t *testing.T, top *schema) map[string]*schema {
	t.Helper()
	out := map[string]*schema{}
	for name, p := range s.Properties {
		out[name] = p
	}
	for _, part := range s.AllOf {
		if part.Ref != "" {
			def, ok := top.Defs[strings.TrimPrefix(part.Ref, "#/$defs/")]
			if !ok {
				t.Fatalf("values.schema.json: no definition %s", part.Ref)
			}
			part = def
		}
		for name, p := range part.variables(t, top) {
			out[name] = p
		}
	}
	return out
}

// sample is a value a variable's schema accepts: the services' default, or
// an example.
func (s *schema) sample(t *testing.T, name string) string {
	t.Helper()
	switch {
	case s.Default != nil:
		return fmt.Sprint(s.Default)
	case len(s.Examples) > 0:
		return fmt.Sprint(s.Examples[0])
	}
	t.Fatalf("values.schema.json: %s has neither a default nor an example", name)
	return ""
}

// configOf is the config map of a values path (e.g. worker.config).
func configOf(t *testing.T, top *schema, path ...string) map[string]*schema {
	t.Helper()
	s := top
	for _, p := range path {
		if s = s.Properties[p]; s == nil {
			t.Fatalf("values.schema.json: no %s", strings.Join(path, "."))
		}
	}
	return s.variables(t, top)
}

// TestChartVariables checks that every variable the README documents for a
// service can be set through the chart, and reaches the service's container
// as given.
func TestChartVariables(t *testing.T) {
	t.Parallel()
	top := readSchema(t)
	readme := readmeVariables(t)
	documentedAnywhere := map[string]bool{}
	for _, names := range readme {
		for _, n := range names {
			documentedAnywhere[n] = true
		}
	}

	// Every variable of every service's config map, set to a sample, and
	// every secret given a key. The simulator is rendered on its own: while
	// it is on, the worker and the poller call it whatever MEND_URL says.
	keys := map[string]any{}
	for _, v := range []string{"MEND_USER_KEY", "MEND_USER_EMAIL", "MEND_ORG_TOKEN", "GITHUB_WEBHOOK_SECRET", "GITLAB_WEBHOOK_TOKEN", "INGEST_AUTH_TOKEN", "NATS_URL", "OTEL_EXPORTER_OTLP_HEADERS", "GITHUB_TOKEN", "GITLAB_TOKEN"} {
		keys[v] = strings.ToLower(strings.ReplaceAll(v, "_", "-"))
	}
	for svc, secs := range sections {
		samples := map[string]any{}
		for name, s := range configOf(t, top, svc, "config") {
			samples[name] = s.sample(t, name)
			if !documentedAnywhere[name] {
				t.Errorf("values.schema.json: %s.config takes %s, which the README documents nowhere", svc, name)
			}
		}
		values := map[string]any{
			"secret": map[string]any{"keys": keys},
			svc:      map[string]any{"config": samples},
		}
		switch svc {
		case "ingest":
			values[svc].(map[string]any)["rules"] = "rules: []\n"
		case "mendsim":
			values[svc].(map[string]any)["enabled"] = true
		}
		out, err := renderChart(values, kubeVersions[0])
		if err != nil {
			t.Fatalf("helm template with every variable of %s: %v", svc, err)
		}
		m := decodeManifest(t, "chart with every variable of "+svc, []byte(out))
		c := container(t, m, svc)
		settable := map[string]bool{}
		for _, v := range managed[svc] {
			settable[v] = true
			if !m.env(c, v).set {
				t.Errorf("%s: the chart should set %s, and does not", svc, v)
			}
		}
		for name, want := range samples {
			settable[name] = true
			if got := m.env(c, name); !got.set || got.value != want {
				t.Errorf("%s: %s set to %q in %s.config reaches the container as %+v", svc, name, want, svc, got)
			}
		}
		for _, sec := range secs {
			if len(readme[sec]) == 0 {
				t.Fatalf("README: no variables in section %q", sec)
			}
			for _, name := range readme[sec] {
				if !settable[name] {
					t.Errorf("README documents %s for %s (section %q), and the chart cannot set it: add it to values.schema.json", name, svc, sec)
				}
			}
		}
	}

	// The variables of config reach ingest, worker and poller; those of mend
	// the worker and the poller.
	shared, mend := map[string]any{}, map[string]any{}
	for name, s := range configOf(t, top, "config") {
		shared[name] = s.sample(t, name)
	}
	for name, s := range configOf(t, top, "mend") {
		mend[name] = s.sample(t, name)
	}
	out, err := renderChart(map[string]any{"config": shared, "mend": mend}, kubeVersions[0])
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	m := decodeManifest(t, "chart with config and mend", []byte(out))
	for _, svc := range services {
		c := container(t, m, svc)
		for name, want := range shared {
			if got := m.env(c, name); got.value != want {
				t.Errorf("%s: %s set to %q in config reaches the container as %+v", svc, name, want, got)
			}
		}
		for name, want := range mend {
			got := m.env(c, name)
			if svc == "ingest" && got.set {
				t.Errorf("ingest is given %s, which only the worker and the poller read", name)
			}
			if svc != "ingest" && got.value != want {
				t.Errorf("%s: %s set to %q in mend reaches the container as %+v", svc, name, want, got)
			}
		}
	}
}

// TestSchemaDefaults checks that the defaults values.schema.json documents
// are the services' own.
func TestSchemaDefaults(t *testing.T) {
	t.Parallel()
	top := readSchema(t)
	defaults, err := goDefaults()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for def, s := range top.Defs {
		if !strings.HasSuffix(def, "Vars") {
			continue
		}
		for name, p := range s.Properties {
			checked++
			goDef, declared := defaults[name]
			switch {
			case p.Default == nil && declared:
				t.Errorf("values.schema.json: %s has no default; the services' is %q", name, goDef)
			case p.Default != nil && !declared:
				t.Errorf("values.schema.json: %s has the default %v; the services declare none", name, p.Default)
			case p.Default != nil && fmt.Sprint(p.Default) != goDef:
				t.Errorf("values.schema.json: %s has the default %v; the services' is %q", name, p.Default, goDef)
			}
		}
	}
	if checked == 0 {
		t.Fatal("values.schema.json: no definitions of variables (…Vars) found")
	}
	if len(defaults) == 0 {
		t.Fatal("no defaults found in the Go source")
	}
}
