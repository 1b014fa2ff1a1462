package routing

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
)

// TestLookup checks that reading a path without decoding the data gives
// what a full decode with encoding/json gives at that path, for real
// payloads and for keys gjson would otherwise read as path syntax.
func TestLookup(t *testing.T) {
	t.Parallel()
	paths := []string{
		"repository.owner.login", "repository.name", "changes.owner.from.user", "deployment.environment",
		"deployment.payload", "repository.topics.1", "repository.topics", "hook.events.0", "subject.content",
		"path_with_namespace", "owners.0.email", "project_id", "missing.path", "repository.private",
		"a*b", "q?", "@this", "#", "x\\y", "n.-1", "n.2", "n.01", "0", "weird.!key", "weird.=", "weird.%",
	}
	cases := map[string][]byte{
		"odd keys": []byte(`{"a*b":"star","q?":1.50,"@this":{"k":[1,{"z":null}]},"#":[true,false],"x\\y":"bs",` +
			`"n":[10,20,30],"0":"zero","weird":{"!key":"bang","=":"eq","%":"pct"}}`),
		"array at top": []byte(`[{"repository":{"name":"x"}}]`),
		"scalar":       []byte(`"text"`),
	}
	for _, file := range []string{
		"github/repository.created.json", "github/repository.transferred.json", "github/repository.deleted.json",
		"github/deployment_status.created.json", "github/ping.json", "gitlab/project_transfer.json",
	} {
		cases[file] = readTestdata(t, file)
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var full any
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			if err := dec.Decode(&full); err != nil {
				t.Fatal(err)
			}
			e := event.New()
			e.DataEncoded = data
			s := &scope{e: &e}
			for _, p := range paths {
				r, err := parseRef(p)
				if err != nil {
					t.Fatal(err)
				}
				want, wantOK := walk(full, bytes.Split([]byte(p), []byte(".")))
				got, err := r.lookup(s)
				if (err == nil) != wantOK {
					t.Errorf("%s: error %v, want present %v", p, err, wantOK)
					continue
				}
				if raw, ok := got.(rawJSON); ok { // compare objects and arrays decoded
					dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
					dec.UseNumber()
					if err := dec.Decode(&got); err != nil {
						t.Fatalf("%s: %v", p, err)
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: (-decoded, +looked up):\n%s", p, diff)
				}
			}
		})
	}
}

// walk follows a path through fully decoded JSON: a key that is a number
// indexes an array. A null is absent.
func walk(v any, path [][]byte) (any, bool) {
	for _, key := range path {
		switch node := v.(type) {
		case map[string]any:
			v = node[string(key)]
		case []any:
			i, err := strconv.Atoi(string(key))
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, v != nil
}

func TestLookupInvalidData(t *testing.T) {
	t.Parallel()
	r, err := parseRef("a.b")
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range []string{`{"a":`, `{"a":{"b":[1,}}`, `{"a" 1}`, `[`, `{"x":"\u12"}`} {
		e := event.New()
		e.DataEncoded = []byte(data)
		if _, err := r.lookup(&scope{e: &e}); err == nil || err == errMissing {
			t.Errorf("lookup in %s: %v, want an error saying the data is not JSON", data, err)
		}
	}
}
