package main

import (
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
