// Package githubsig signs a body as GitHub signs a webhook delivery, for
// whatever sends one to ingest: mendflowctl send, pkg/mendflowtest and
// the tests. go-github checks signatures (ValidateSignature) but exports
// nothing that makes one.
package githubsig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Sign is the X-Hub-Signature-256 header GitHub sends with body: the
// HMAC-SHA256 of the body under the webhook secret, in hex after
// "sha256=".
func Sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
