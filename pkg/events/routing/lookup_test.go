package routing

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
)

// TestSparseDecode checks that reading only the rules' paths gives what a
// full decode gives at those paths.
func TestSparseDecode(t *testing.T) {
	t.Parallel()
	paths := []string{
		"repository.owner.login", "repository.name", "changes.owner.from.user", "deployment.environment",
		"deployment.payload", "repository.topics.1", "repository.topics", "hook.events.0", "subject.content",
		"path_with_namespace", "owners.0.email", "project_id", "missing.path", "repository.private",
	}
	files := []string{
		"github/repository.created.json", "github/repository.transferred.json", "github/repository.deleted.json",
		"github/deployment_status.created.json", "github/ping.json", "gitlab/project_transfer.json",
	}
	tree := &pathTree{}
	var refs []ref
	for _, p := range paths {
		r, err := parseRef(p)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, r)
		tree.add(r.path)
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			data := readTestdata(t, file)
			e := event.New()
			e.DataEncoded = data
			sparse := &scope{e: &e, paths: tree}

			var full any
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			if err := dec.Decode(&full); err != nil {
				t.Fatal(err)
			}
			whole := &scope{e: &e, decoded: true, data: full}
			for _, r := range refs {
				want, wantErr := r.lookup(whole)
				got, gotErr := r.lookup(sparse)
				if diff := cmp.Diff(want, got); diff != "" || (wantErr == nil) != (gotErr == nil) {
					t.Errorf("%s: (-full, +sparse):\n%s\nerrors %v, %v", r.text, diff, wantErr, gotErr)
				}
			}
		})
	}
}

func TestSparseDecodeErrors(t *testing.T) {
	t.Parallel()
	tree := &pathTree{}
	tree.add([]string{"a", "b"})
	for _, data := range []string{`{"a":`, `{"a":{"b":[1,}}`, `{"a" 1}`, `[`, `{"x":"\u12"}`} {
		if _, err := tree.decode([]byte(data)); err == nil {
			t.Errorf("decode(%s): no error", data)
		}
	}
}
