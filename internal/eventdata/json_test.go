package eventdata

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// Nesting: encoding/json takes 10 000 levels and no more; so does
// ValidJSON, without recursing into a body of nothing but brackets.
func TestValidJSONDepth(t *testing.T) {
	nested := func(depth int, open, inner, close string) []byte {
		return []byte(strings.Repeat(open, depth) + inner + strings.Repeat(close, depth))
	}
	for _, tc := range []struct {
		name string
		body []byte
		want bool
	}{
		{"arrays at the limit", nested(maxJSONDepth, "[", "", "]"), true},
		{"arrays over the limit", nested(maxJSONDepth+1, "[", "", "]"), false},
		{"objects at the limit", nested(maxJSONDepth, `{"a":`, "1", "}"), true},
		{"objects over the limit", nested(maxJSONDepth+1, `{"a":`, "1", "}"), false},
		{"brackets in strings", []byte(`["` + strings.Repeat("[{", maxJSONDepth) + `\"[{"]`), true},
		{"only opening brackets", bytes.Repeat([]byte("["), 1<<20), false},
	} {
		if got := ValidJSON(tc.body); got != tc.want || json.Valid(tc.body) != tc.want {
			t.Errorf("%s: ValidJSON = %v, encoding/json says %v; want %v", tc.name, got, json.Valid(tc.body), tc.want)
		}
	}
}

// FuzzValidJSON holds ValidJSON to encoding/json's verdict, both ways.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,2,"x"]`, `{"a":"\u00e9"}`, "\"\xff\"", `1e5`, `-0.5`, `{"a":[{}]}`,
		` true `, `nul`, `"\ud800"`, `{"a":1,}`, `01`, `1.`, `[1 2]`, `{"a" 1}`, `"\x"`, "\"\t\"", ``} {
		f.Add([]byte(s))
	}
	for _, name := range []string{"cdevents/repository.created.json", "github/repository.created.json"} {
		b, err := os.ReadFile("../../testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := json.Valid(b)
		if got := ValidJSON(b); got != want {
			t.Fatalf("ValidJSON(%q) = %v, encoding/json says %v", b, got, want)
		}
		if !want && JSONError(b) == nil {
			t.Fatalf("JSONError(%q) = nil for invalid JSON", b)
		}
	})
}
