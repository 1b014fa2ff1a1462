package ingest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// decodeProblem checks that an answer is problem+json and decodes it
// strictly.
func decodeProblem(t testing.TB, header http.Header, body []byte) problem {
	t.Helper()
	if ct := header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problem
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem %s: %v", body, err)
	}
	return p
}
