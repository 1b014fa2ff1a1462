package ctl

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"
)

// A NATS_URL whose password the URL parser refuses (an unescaped %) must
// not come back in the error that mendflowctl prints.
func TestNATSURLPasswordNotPrinted(t *testing.T) {
	t.Parallel()
	const secret = "s3cr%et-pw"
	env := envconfig.MapLookuper(map[string]string{"NATS_URL": "nats://operator:" + secret + "@127.0.0.1:4222"})
	for _, args := range [][]string{
		{"status"},
		{"dlq", "list"},
		{"events", "tail", "-timeout", "1s"},
		{"bench", "-n", "1", "-timeout", "1s"},
	} {
		out, err := run(t, env, args...)
		if err == nil {
			t.Errorf("%q: no error", args)
			continue
		}
		if strings.Contains(err.Error(), "s3cr") || strings.Contains(err.Error(), "%et") || strings.Contains(out, "s3cr") {
			t.Errorf("%q: the password is printed: error %q, output %q", args, err, out)
		}
		if !strings.Contains(err.Error(), "NATS_URL") {
			t.Errorf("%q: error %q does not name NATS_URL", args, err)
		}
	}
}

// Any failure but bad flags prints one line and exits 1, however many
// lines the error has: rules test joins the refusal of each event.
func TestFailurePrintsOneLine(t *testing.T) {
	t.Parallel()
	batch := writeFile(t, "batch.json", `[
		{"specversion":"1.0","id":"e-1","source":"/s","type":"io.mendflow.command.product.create","datacontenttype":"application/json","data":{"productname":"a"}},
		{"specversion":"1.0","id":"e-2","source":"/s","type":"io.mendflow.command.product.create","datacontenttype":"application/json","data":{"productname":"b"}}]`)
	_, err := run(t, envconfig.MapLookuper(nil), "rules", "test", "-event", batch)
	if err == nil {
		t.Fatal("rules test of two invalid events succeeded")
	}
	if !strings.Contains(err.Error(), "\n") {
		t.Fatalf("the error %q is one line already: the test proves nothing", err)
	}
	var stderr bytes.Buffer
	if code := exitCode(err, &stderr); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	got := stderr.String()
	if strings.Count(got, "\n") != 1 || !strings.Contains(got, "event e-1") || !strings.Contains(got, "event e-2") {
		t.Errorf("stderr = %q, want one line naming both events", got)
	}
	stderr.Reset()
	if code := exitCode(errUsage, &stderr); code != 2 || !strings.HasPrefix(stderr.String(), "usage:") {
		t.Errorf("bad flags: exit code %d, stderr %q; want 2 and the usage", code, stderr.String())
	}
}
