package reconcile_test

import (
	"strings"
	"testing"

	"github.com/mendflow/mendflow/internal/reconcile"
)

// TestParseSpecFile: a stored reference names exactly one repository, on
// GitHub or GitLab, and Check says what it lacks.
func TestParseSpecFile(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, src string
		ref       bool   // read as a reference
		check     string // Check's error, when one
		str       string // String, when Check passes
	}{
		{"github", "from:\n  github: {repository: acme/specs, path: mend/spec.yaml, ref: main}\n", true, "", "github:acme/specs/mend/spec.yaml@main"},
		{"gitlab", "from:\n  gitlab: {project: platform/infra/specs, path: /mend/spec.yaml}\n", true, "", "gitlab:platform/infra/specs/mend/spec.yaml"},
		{"gitlab project without group", "from:\n  gitlab: {project: specs, path: spec.yaml}\n", true, "from.gitlab.project", ""},
		{"gitlab without path", "from:\n  gitlab: {project: platform/specs}\n", true, "from.gitlab.path", ""},
		{"github without path", "from:\n  github: {repository: acme/specs}\n", true, "from.github.path", ""},
		{"both", "from:\n  github: {repository: acme/specs, path: a.yaml}\n  gitlab: {project: platform/specs, path: a.yaml}\n", false, "", ""},
		{"neither", "from: {}\n", false, "", ""},
		{"a spec", "repositories: []\n", false, "", ""},
	} {
		f, ok := reconcile.ParseSpecFile([]byte(tt.src))
		if ok != tt.ref {
			t.Errorf("%s: read as a reference %v, want %v", tt.name, ok, tt.ref)
			continue
		}
		if !ok {
			continue
		}
		err := f.Check()
		if (err != nil) != (tt.check != "") || err != nil && !strings.Contains(err.Error(), tt.check) {
			t.Errorf("%s: Check: %v, want %q", tt.name, err, tt.check)
		}
		if err == nil && f.String() != tt.str {
			t.Errorf("%s: String %q, want %q", tt.name, f.String(), tt.str)
		}
		if again, ok := reconcile.ParseSpecFile(f.YAML()); !ok || again.String() != f.String() {
			t.Errorf("%s: its YAML reads back as %v", tt.name, again)
		}
	}
}
