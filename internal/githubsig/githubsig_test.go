package githubsig_test

import (
	"testing"

	"github.com/google/go-github/v93/github"

	"github.com/mendflow/mendflow/internal/githubsig"
)

// TestSignAsGitHubChecks: go-github, which ingest checks deliveries with,
// takes the signature of the body under its secret, and no other.
func TestSignAsGitHubChecks(t *testing.T) {
	t.Parallel()
	body := []byte(`{"action":"created"}`)
	sig := githubsig.Sign(body, "s3cr3t")
	if err := github.ValidateSignature(sig, body, []byte("s3cr3t")); err != nil {
		t.Errorf("ValidateSignature(%s) = %v", sig, err)
	}
	if github.ValidateSignature(sig, body, []byte("other")) == nil {
		t.Error("the signature passes under another secret")
	}
	if github.ValidateSignature(sig, []byte(`{"action":"deleted"}`), []byte("s3cr3t")) == nil {
		t.Error("the signature passes for another body")
	}
}
