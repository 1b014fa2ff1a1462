package simulator

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

func TestRunServesAndStops(t *testing.T) {
	t.Parallel()
	env := envconfig.MapLookuper(map[string]string{
		"MENDSIM_ADDR":      "127.0.0.1:0",
		"MENDSIM_USER_KEY":  "custom-key",
		"MENDSIM_ORG_TOKEN": "custom-org",
		"MENDSIM_FAULTS":    `[{"op":"getAllProducts","status":503,"retryAfter":"2s","count":1}]`,
	})
	addr, cancel, done := servicetest.Start(t, func(ctx context.Context, listening func(string)) error {
		return Run(ctx, env, app.Telemetry{Logger: slog.New(slog.DiscardHandler), OnListen: listening})
	})
	base := "http://" + addr

	post := func(body string) (int, http.Header, string) {
		t.Helper()
		resp, err := http.Post(base+"/api/v1.4", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	// The fault from MENDSIM_FAULTS answers first, then the configured
	// credentials and organization are the ones accepted.
	req := `{"requestType":"getAllProducts","userKey":"custom-key","orgToken":"custom-org"}`
	if status, h, _ := post(req); status != 503 || h.Get("Retry-After") != "2" {
		t.Fatalf("first call: %d Retry-After %q, want the injected 503 with Retry-After 2", status, h.Get("Retry-After"))
	}
	if status, _, body := post(req); status != 200 || !strings.Contains(body, `"demo-product"`) {
		t.Fatalf("second call: %d %s, want the demo product", status, body)
	}
	if _, _, body := post(`{"requestType":"getAllProducts","userKey":"` + mendsim.DefaultUserKey + `","orgToken":"custom-org"}`); !strings.Contains(body, `"errorCode":5001`) {
		t.Fatalf("default key accepted although MENDSIM_USER_KEY is set: %s", body)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		if path == "/metrics" && !strings.Contains(string(b), `mendsim_calls_total{error_code="0",op="getAllProducts",status="503"} 1`) {
			t.Errorf("metrics do not count the faulted call:\n%s", b)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func TestRunBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{"bad duration", map[string]string{"MENDSIM_JWT_LIFETIME": "soon"}, "MENDSIM_JWT_LIFETIME"},
		// A negative or zero duration, or a negative poll count, would be
		// taken for the default or for no limit.
		{"negative JWT lifetime", map[string]string{"MENDSIM_JWT_LIFETIME": "-1m"}, "MENDSIM_JWT_LIFETIME"},
		{"zero JWT lifetime", map[string]string{"MENDSIM_JWT_LIFETIME": "0s"}, "MENDSIM_JWT_LIFETIME"},
		{"negative process duration", map[string]string{"MENDSIM_PROCESS_DURATION": "-3s"}, "MENDSIM_PROCESS_DURATION"},
		{"zero request duration", map[string]string{"MENDSIM_REQUEST_DURATION": "0"}, "MENDSIM_REQUEST_DURATION"},
		{"negative process polls", map[string]string{"MENDSIM_PROCESS_POLLS": "-1"}, "MENDSIM_PROCESS_POLLS"},
		{"negative request polls", map[string]string{"MENDSIM_REQUEST_POLLS": "-2"}, "MENDSIM_REQUEST_POLLS"},
		{"bad faults JSON", map[string]string{"MENDSIM_FAULTS": "[{"}, "MENDSIM_FAULTS"},
		{"fault that does nothing", map[string]string{"MENDSIM_FAULTS": `[{"op":"createProject"}]`}, "MENDSIM_FAULTS"},
		{"bad address", map[string]string{"MENDSIM_ADDR": "nowhere:-1"}, "MENDSIM_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"MENDSIM_ADDR": "127.0.0.1:0"}
			for k, v := range tt.env {
				env[k] = v
			}
			// A setting let through would serve until the context ends.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := Run(ctx, envconfig.MapLookuper(env), app.Telemetry{Logger: slog.New(slog.DiscardHandler)})
			if err == nil || !strings.Contains(err.Error(), tt.wantVar+":") {
				t.Fatalf("Run = %v, want at once an error naming %s", err, tt.wantVar)
			}
		})
	}
}
