package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

var update = flag.Bool("update", false, "rewrite the golden plans of testdata/reconcile")

// fixture is a golden case's Mend state as JSON: State's policies are
// keyed by scope, which JSON cannot key by.
type fixture struct {
	Products []struct {
		Name     string `json:"name"`
		Token    string `json:"token"`
		Projects []struct {
			Name  string    `json:"name"`
			Token string    `json:"token"`
			Tags  mend.Tags `json:"tags"`
		} `json:"projects"`
	} `json:"products"`
	Policies []struct {
		Product  string        `json:"product"`
		Project  string        `json:"project"`
		Policies []mend.Policy `json:"policies"`
	} `json:"policies"`
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadState(t *testing.T, path string) *State {
	t.Helper()
	var f fixture
	readJSON(t, path, &f)
	st := &State{Policies: map[ScopeKey][]mend.Policy{}}
	for _, p := range f.Products {
		prod := Product{Name: p.Name, Token: p.Token}
		for _, j := range p.Projects {
			prod.Projects = append(prod.Projects, Project{Name: j.Name, Token: j.Token, Tags: j.Tags})
		}
		st.Products = append(st.Products, prod)
	}
	for _, p := range f.Policies {
		st.Policies[ScopeKey{p.Product, p.Project}] = p.Policies
	}
	return st
}

// TestPlanGolden plans each case of testdata/reconcile/*/: its spec, the
// repositories its sources list (repositories.json) and Mend's state
// (mend.json), against the plan printed (plan.txt) and as JSON
// (plan.json). go test -run TestPlanGolden -update rewrites them.
func TestPlanGolden(t *testing.T) {
	t.Parallel()
	specs, _ := filepath.Glob("../../testdata/reconcile/*/spec.yaml")
	if len(specs) == 0 {
		t.Fatal("no cases")
	}
	for _, dir := range specs {
		dir := filepath.Dir(dir)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			spec, err := Load(filepath.Join(dir, "spec.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var repos []Repository
			readJSON(t, filepath.Join(dir, "repositories.json"), &repos)
			d, err := spec.Map(repos)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := NewPlan(spec, d, loadState(t, filepath.Join(dir, "mend.json")))
			if err != nil {
				t.Fatal(err)
			}
			var text, js bytes.Buffer
			if err := plan.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if err := plan.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			for name, got := range map[string][]byte{"plan.txt": text.Bytes(), "plan.json": js.Bytes()} {
				path := filepath.Join(dir, name)
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(string(want), string(got)); diff != "" {
					t.Errorf("%s (-want, +got):\n%s", name, diff)
				}
			}

			// The JSON reads back to the same plan, every change's data
			// checked as its command's.
			var back Plan
			if err := json.Unmarshal(js.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(plan, &back); diff != "" {
				t.Errorf("plan read back (-want, +got):\n%s", diff)
			}
			// Each change's id is its own, and a change follows only
			// changes before it.
			seen := map[string]bool{}
			for _, c := range plan.Changes {
				if seen[c.ID] {
					t.Errorf("id %s is given twice", c.ID)
				}
				for _, a := range c.After {
					if !seen[a] {
						t.Errorf("change %s follows %s, which is not before it", c.ID, a)
					}
				}
				seen[c.ID] = true
				if err := c.Data.Validate(); err != nil {
					t.Errorf("change %s: %v", c.ID, err)
				}
			}
		})
	}
}

// TestPlanDeterministic: planning again gives the same changes with the
// same ids, whatever order Mend and the sources listed things in.
func TestPlanDeterministic(t *testing.T) {
	t.Parallel()
	dir := "../../testdata/reconcile/drift"
	spec, err := Load(filepath.Join(dir, "spec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var repos []Repository
	readJSON(t, filepath.Join(dir, "repositories.json"), &repos)
	d1, _ := spec.Map(repos)
	slices.Reverse(repos)
	d2, _ := spec.Map(repos)
	st := loadState(t, filepath.Join(dir, "mend.json"))
	p1, err := NewPlan(spec, d1, st)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(st.Products)
	p2, err := NewPlan(spec, d2, st)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p1, p2); diff != "" || len(p1.Changes) == 0 {
		t.Errorf("second plan (-first, +second):\n%s", diff)
	}
}

// TestPruneLimit: a plan that would delete more projects than
// prune.maxDeletions is refused whole; at the limit it is planned.
func TestPruneLimit(t *testing.T) {
	t.Parallel()
	st := &State{Products: []Product{{Name: "acme", Token: "t-acme"}}}
	for _, n := range []string{"a", "b", "c", "kept"} {
		st.Products[0].Projects = append(st.Products[0].Projects, Project{Name: n, Token: "t-" + n})
	}
	repos := []Repository{{Source: "static", Name: "kept", Owner: "acme", FullName: "acme/kept"}}
	for _, tc := range []struct {
		max     int
		refused bool
	}{{2, true}, {3, false}} {
		spec, err := Parse("s.yaml", []byte("repositories:\n  - static: [{name: kept, owner: acme}]\nprune:\n  action: delete\n  maxDeletions: "+string(rune('0'+tc.max))+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		d, _ := spec.Map(repos)
		plan, err := NewPlan(spec, d, st)
		var limit *PruneLimitError
		switch {
		case tc.refused && (!errors.As(err, &limit) || limit.Deletions != 3 || limit.Max != 2 || plan != nil):
			t.Errorf("max %d: plan %v, error %v; want it refused for 3 deletions", tc.max, plan, err)
		case !tc.refused && (err != nil || plan.Summary.Delete != 3):
			t.Errorf("max %d: plan %+v, error %v; want 3 deletions", tc.max, plan, err)
		}
	}
}

// TestPolicyOrder: the policies of a scope end in the spec's order. A
// reorder is planned when they are out of it, or when additions land
// where Mend puts them and that is not their place.
func TestPolicyOrder(t *testing.T) {
	t.Parallel()
	pol := func(id int, name string) mend.Policy {
		return mend.Policy{ID: id, Name: name, Owner: mend.PolicyOwner{Email: "a@example.com"}, Filter: mend.PolicyFilter{Type: "LIBRARY_STALENESS", MonthsBack: 6}, Action: mend.PolicyAction{Type: "REJECT"}}
	}
	const spec = "repositories:\n  - static: [{name: api, owner: acme}]\npolicies:\n  - scope: organization\n    owner: a@example.com\n    policies:\n" +
		"      - {name: a, filter: {type: LIBRARY_STALENESS, monthsBack: 6}, action: {type: REJECT}}\n" +
		"      - {name: b, filter: {type: LIBRARY_STALENESS, monthsBack: 6}, action: {type: REJECT}}\n" +
		"      - {name: c, filter: {type: LIBRARY_STALENESS, monthsBack: 6}, action: {type: REJECT}}\n"
	tests := []struct {
		name string
		have []mend.Policy // highest priority first
		want []string      // the commands planned
	}{
		{"in order", []mend.Policy{pol(1, "a"), pol(2, "b"), pol(3, "c")}, nil},
		{"out of order", []mend.Policy{pol(1, "c"), pol(2, "a"), pol(3, "b")}, []string{events.CommandPolicyReorder, events.CommandPoliciesApply}},
		{"the top one added", []mend.Policy{pol(2, "b"), pol(3, "c")}, []string{events.CommandPolicyAdd, events.CommandPoliciesApply}},
		{"one added below the top", []mend.Policy{pol(1, "a"), pol(3, "c")}, []string{events.CommandPolicyAdd, events.CommandPolicyReorder, events.CommandPoliciesApply}},
		{"two added", []mend.Policy{pol(3, "c")}, []string{events.CommandPolicyAdd, events.CommandPolicyAdd, events.CommandPolicyReorder, events.CommandPoliciesApply}},
		{"one more, removed", []mend.Policy{pol(1, "a"), pol(9, "x"), pol(2, "b"), pol(3, "c")}, []string{events.CommandPolicyRemove, events.CommandPoliciesApply}},
	}
	s, err := Parse("s.yaml", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := s.Map([]Repository{{Source: "static", Name: "api", Owner: "acme", FullName: "acme/api"}})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := &State{Products: []Product{{Name: "acme", Token: "t", Projects: []Project{{Name: "api", Token: "p"}}}}, Policies: map[ScopeKey][]mend.Policy{{}: tc.have}}
			plan, err := NewPlan(s, d, st)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range plan.Changes {
				got = append(got, c.Command)
				if r, ok := c.Data.(*events.PolicyReorder); ok && !slices.Equal(r.PolicyNames, []string{"a", "b", "c"}) {
					t.Errorf("reorder to %v, want [a b c]", r.PolicyNames)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("commands (-want, +got):\n%s", diff)
			}
		})
	}
}
