package mend_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mendflow/mendflow/internal/mendcontract"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// fastRetry keeps retry tests quick while still exercising the backoff.
var fastRetry = mend.RetryPolicy{
	MaxAttempts:     4,
	InitialInterval: time.Millisecond,
	MaxInterval:     5 * time.Millisecond,
	Multiplier:      2,
	Jitter:          0.5,
	MaxElapsed:      5 * time.Second,
	MaxRetryAfter:   2 * time.Second,
}

// setup starts a simulator over real HTTP and a client of it. Every v2.0
// and v3.0 exchange between them is checked against Mend's OpenAPI
// documents: the client's requests and the simulator's answers.
func setup(t *testing.T, opts ...mend.Option) (*mend.Client, *mendsim.Server) {
	t.Helper()
	return setupWith(t, mendsim.Config{}, opts...)
}

func setupWith(t *testing.T, cfg mendsim.Config, opts ...mend.Option) (*mend.Client, *mendsim.Server) {
	t.Helper()
	sim := mendsim.NewServer(cfg)
	t.Cleanup(sim.Close)
	key := cfg.UserKey
	if key == "" {
		key = mendsim.DefaultUserKey
	}
	base := []mend.Option{mend.WithHTTPClient(contractClient(t)), mend.WithUserEmail(mendsim.DefaultUserEmail), mend.WithRetry(fastRetry)}
	c, err := mend.NewClient(sim.URL, mend.Secret(key), append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c, sim
}

// contractClient is an HTTP client whose every v2.0 and v3.0 exchange is
// checked against Mend's OpenAPI documents, a failure failing t.
func contractClient(t *testing.T) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: mendcontract.Transport(func(err error) { t.Error(err) }, tr)}
}

// uncheckedClient is a client of sim whose exchanges are not checked
// against the OpenAPI documents: for the requests a test sends, on
// purpose, that the documents refuse, to see the simulator refuse them.
func uncheckedClient(t *testing.T, sim *mendsim.Server, opts ...mend.Option) *mend.Client {
	t.Helper()
	base := []mend.Option{mend.WithUserEmail(mendsim.DefaultUserEmail), mend.WithRetry(fastRetry)}
	c, err := mend.NewClient(sim.URL, mendsim.DefaultUserKey, append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// orgToken is the demo organization's token.
const orgToken = mendsim.DefaultOrgToken

// decodeGolden decodes testdata/mend/<name> into v, failing on any field
// that v does not declare, so that the structs keep up with the pages.
func decodeGolden(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "mend", name))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// lastCall returns the simulator's last recorded call of op.
func lastCall(t *testing.T, sim *mendsim.Server, op string) mendsim.Call {
	t.Helper()
	calls := sim.CallsOf(op)
	if len(calls) == 0 {
		t.Fatalf("no %s call recorded", op)
	}
	return calls[len(calls)-1]
}

// sentBody returns the JSON body of the simulator's last call of op, as
// the simulator recorded it (without the user key), or nil for none.
func sentBody(t *testing.T, sim *mendsim.Server, op string) any {
	t.Helper()
	raw := lastCall(t, sim, op).Request
	if raw == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s body: %v", op, err)
	}
	return v
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
