package redact_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mendflow/mendflow/internal/redact"
)

func TestURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://mendflow:hunter2@nats-0:4222", "nats://nats-0:4222"},
		{"nats://s3cr3t-token@nats-0:4222", "nats://nats-0:4222"},
		{"https://svc:hunter2@saas.mend.io/api/v1.4?access_token=hunter2#hunter2", "https://saas.mend.io/api/v1.4"},
		{"http://ingest:8080/events?", "http://ingest:8080/events"},
		{"nats://mendflow:hunter2%zz@nats-0:4222", redact.Unparsable},
		{"nats://mendflow:hunter2@nats-0:42x2", redact.Unparsable},
		// A '/' in a token or password ends the authority early: what
		// follows would be shown as the path.
		{"nats://s3cr3t/token@nats-0:4222", redact.Unparsable},
		{"nats://mendflow:hunter2/x@nats-0:4222", redact.Unparsable},
		{"nats://mendflow:p@ss/hunter2@nats-0:4222", redact.Unparsable},
	}
	for _, tt := range tests {
		if got := redact.URL(tt.raw); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
	const list = "nats://a:hunter2@n1:4222, nats://hunter2@n2:4222,nats://n3:4222"
	if got, want := redact.URLs(list), "nats://n1:4222,nats://n2:4222,nats://n3:4222"; got != want {
		t.Errorf("URLs(%q) = %q, want %q", list, got, want)
	}
}

func TestError(t *testing.T) {
	t.Parallel()
	parseErr := func(raw string) error {
		_, err := url.Parse(raw)
		return err
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	tests := []struct {
		name    string
		err     error
		want    string
		wantIs  error
		wantOp  bool // errors.As finds the *net.OpError
		secrets []string
	}{
		{name: "not a URL error", err: context.DeadlineExceeded, want: "context deadline exceeded", wantIs: context.DeadlineExceeded},
		{name: "a request's failure", err: &url.Error{Op: "Post", URL: "https://svc:hunter2@mend/api?token=hunter2", Err: refused},
			want: "dial tcp: connection refused", wantOp: true},
		{name: "a timeout", err: &url.Error{Op: "Get", URL: "http://u:hunter2@h", Err: context.DeadlineExceeded},
			want: "context deadline exceeded", wantIs: context.DeadlineExceeded},
		{name: "a bad port", err: parseErr("nats://u:hunter2@127.0.0.1:42x2"), want: `invalid port after host`},
		// A '/', '?' or '#' in a password ends the authority before the
		// '@': the parser takes the password for a port, or a host, and
		// quotes it.
		{name: "a '/' in the password", err: parseErr("nats://u:hun/ter2@h:4222"), want: `invalid port after host`, secrets: []string{"hun"}},
		{name: "a '?' in the password", err: parseErr("nats://u:hun?ter2@h"), want: `invalid port after host`, secrets: []string{"hun"}},
		{name: "a '#' in the password", err: parseErr("nats://u:hun#ter2@h"), want: `invalid port after host`, secrets: []string{"hun"}},
		{name: "a space in the password", err: parseErr("nats://u:h n/ter2@h"), want: `invalid port after host`, secrets: []string{"h n"}},
		{name: "a bad host", err: parseErr("nats://u:hunter2@h st"), want: `invalid character in host name`},
		{name: "a bad escape in the password", err: parseErr("nats://u:hunter2%zz@h"), want: "invalid URL escape: a % not followed by two hexadecimal digits (escape it as %25)"},
		{name: "wrapped", err: errors.Join(errors.New("connecting"), &url.Error{Op: "parse", URL: "nats://u:hunter2%zz@h", Err: url.EscapeError("%zz")}),
			want: "invalid URL escape: a % not followed by two hexadecimal digits (escape it as %25)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := redact.Error(tt.err)
			if got.Error() != tt.want {
				t.Errorf("Error(%v) = %q, want %q", tt.err, got, tt.want)
			}
			for _, s := range append(tt.secrets, "hunter2", "zz") {
				if strings.Contains(got.Error(), s) {
					t.Errorf("Error(%v) = %q holds the password (%q)", tt.err, got, s)
				}
			}
			if tt.wantIs != nil && !errors.Is(got, tt.wantIs) {
				t.Errorf("Error(%v) = %v, not %v", tt.err, got, tt.wantIs)
			}
			if _, ok := errors.AsType[*net.OpError](got); ok != tt.wantOp {
				t.Errorf("Error(%v) = %v holds a *net.OpError: %v, want %v", tt.err, got, ok, tt.wantOp)
			}
		})
	}
	// A client's error, as http.Client returns it.
	_, err := (&http.Client{}).Get("http://u:hunter2@127.0.0.1:1/?token=hunter2")
	if got := redact.Error(err); got == nil || strings.Contains(got.Error(), "hunter2") {
		t.Errorf("Error(%v) = %v", err, got)
	}
}
