package events

import (
	"encoding/json"
	"os"
	"testing"
)

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
