package reconcile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseExample(t *testing.T) {
	t.Parallel()
	spec, err := Load("../../testdata/reconcile/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(spec.Sources) != 3 || spec.Sources[0].GitHub.Organization != "acme-corp" || spec.Sources[1].GitLab.Group != "acme/platform" || spec.Sources[2].Static[0].Name != "legacy-billing" {
		t.Errorf("sources = %+v", spec.Sources)
	}
	if got := []string{spec.Mapping.Tags[0].Key, spec.Mapping.Tags[1].Key}; got[0] != "source" || got[1] != "team" {
		t.Errorf("managed tags = %v, want [source team]", got)
	}
	if len(spec.Policies) != 3 || spec.Policies[0].Policies[1].Name != "Approve MIT" || spec.Policies[0].Policies[1].Owner.Email != "admin@example.com" {
		t.Errorf("policies = %+v", spec.Policies)
	}
	if p := spec.Policies[2]; !p.Matches("acme-corp", "payments-api") || p.Matches("acme-corp", "web") || p.Matches("other", "payments-api") || p.Matches("acme-corp", "") {
		t.Error("the project entry matches the wrong projects")
	}
	if spec.Prune.Action != PruneTag || spec.Prune.TagKey != "mendflow-prune" {
		t.Errorf("prune = %+v", spec.Prune)
	}
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	spec, err := Parse("min.yaml", []byte("repositories:\n  - github: {organization: acme}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Mapping.Product.Text != "{{ owner }}" || spec.Mapping.Project.Text != "{{ name }}" {
		t.Errorf("default mapping = %q, %q", spec.Mapping.Product.Text, spec.Mapping.Project.Text)
	}
	if spec.Prune.Action != PruneNone || spec.Prune.MaxDeletions != DefaultMaxDeletions {
		t.Errorf("default prune = %+v", spec.Prune)
	}
	r := Repository{Name: "api", Archived: true}
	if spec.Sources[0].Keep(&r) {
		t.Error("an archived repository is kept by default")
	}
}

// TestParseErrors: every error names the file, the line and the field.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	const src = "repositories:\n  - github: {organization: acme}\n"
	tests := []struct{ name, spec, want string }{
		{"empty", "", "s.yaml:1: (top level): the spec is empty"},
		{"no repositories", "mapping: {project: x}\n", "s.yaml:1: (top level): missing property 'repositories'"},
		{"unknown field", src + "prune:\n  actoin: delete\n", "s.yaml:4: prune: additional properties 'actoin' not allowed"},
		{"source without organization", "repositories:\n  - github: {org: acme}\n", "s.yaml:2: repositories[0].github: missing property 'organization'"},
		{"two kinds of source", "repositories:\n  - github: {organization: acme}\n    gitlab: {group: acme}\n", "s.yaml:2: repositories[0]: give exactly one of github, gitlab and static"},
		{"no kind of source", "repositories:\n  - names: [a]\n", "s.yaml:2: repositories[0]: give exactly one of github, gitlab and static"},
		{"bad archived", src + "    archived: yes\n", "s.yaml:3: repositories[0].archived: value must be one of 'exclude', 'include', 'only'"},
		{"bad template", src + "mapping:\n  project: \"{{ name | shout }}\"\n", `s.yaml:4: mapping.project: {{ name | shout }}: unknown function "shout"`},
		{"bad tag template", src + "mapping:\n  tags:\n    team: \"{{ topics.0\"\n", "s.yaml:5: mapping.tags.team: \"{{ topics.0\": {{ without }}"},
		{"policy without owner", src + "policies:\n  - scope: organization\n    policies:\n      - name: p\n        filter: {type: LIBRARY_STALENESS, monthsBack: 6}\n        action: {type: REJECT}\n",
			"s.yaml:6: policies[0].policies[0]: no owner: give the policy or its entry an owner (an e-mail)"},
		{"policy filter without its field", src + "policies:\n  - scope: organization\n    owner: a@example.com\n    policies:\n      - name: p\n        filter: {type: LICENSE}\n        action: {type: REJECT}\n",
			"s.yaml:8: policies[0].policies[0].filter: missing property 'licenses'"},
		{"policy twice", src + "policies:\n  - scope: organization\n    owner: a@example.com\n    policies:\n      - {name: p, filter: {type: LIBRARY_STALENESS, monthsBack: 6}, action: {type: REJECT}}\n      - {name: p, filter: {type: LIBRARY_STALENESS, monthsBack: 9}, action: {type: REJECT}}\n",
			`s.yaml:8: policies[0].policies[1].name: policy "p" is given twice in this entry`},
		{"organization entry with a pattern", src + "policies:\n  - scope: organization\n    name: x\n    policies: []\n", "s.yaml:5: policies[0].name: an organization entry governs the one organization"},
		{"product entry with a product pattern", src + "policies:\n  - scope: product\n    product: x\n    policies: []\n", "s.yaml:5: policies[0].product: product is for project entries"},
		{"bad owner", src + "policies:\n  - scope: product\n    owner: nobody\n    policies: []\n", "s.yaml:5: policies[0].owner: 'nobody' is not valid email"},
		{"negative maxDeletions", src + "prune:\n  action: delete\n  maxDeletions: -1\n", "s.yaml:5: prune.maxDeletions: minimum: got -1, want 0"},
		{"maxDeletions without delete", src + "prune:\n  action: tag\n  maxDeletions: 3\n", "s.yaml:5: prune.maxDeletions: maxDeletions is given only with action delete"},
		{"prune tag is a mapping tag", src + "mapping:\n  tags: {team: x}\nprune:\n  action: tag\n  tag: {key: team, value: gone}\n", `s.yaml:7: prune.tag.key: tag "team" is also a mapping tag`},
		{"key twice", src + "prune: {}\nprune: {}\n", "s.yaml:4: prune: given twice"},
		{"bad token variable", "repositories:\n  - github: {organization: acme, tokenEnv: \"$TOKEN\"}\n", "s.yaml:2: repositories[0].github.tokenEnv: '$TOKEN' does not match pattern"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("s.yaml", []byte(tc.spec))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error:\n%v\nwant it to contain\n%s", err, tc.want)
			}
			if se := new(SpecError); !errors.As(err, &se) {
				t.Errorf("error %T is not a *SpecError", err)
			}
		})
	}
}

// TestSchemaExamples: the schema editors use accepts every spec under
// testdata/reconcile, and Parse accepts them too.
func TestSchemaExamples(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../../testdata/reconcile/*.yaml")
	more, _ := filepath.Glob("../../testdata/reconcile/*/spec.yaml")
	files = append(files, more...)
	if len(files) < 2 {
		t.Fatalf("found %d example specs", len(files))
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(f, src); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
