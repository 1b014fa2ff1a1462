package ctl

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/githubsig"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// TestBench runs bench against a pipeline double: an HTTP server that
// accepts each command and at once publishes its result event, failing
// one of them.
func TestBench(t *testing.T) {
	t.Parallel()
	env, js := setup(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e event.Event
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &e); err != nil || r.Header.Get("Content-Type") != contentTypeStructured || e.Type() != events.CommandType(events.CommandProjectCreate) {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		typ := events.TypeProjectCreated
		if strings.HasSuffix(e.ID(), "-7") {
			typ = events.TypeCommandFailed
		}
		w.WriteHeader(http.StatusAccepted)
		publishResult(t, js, typ, e.ID()+":result", e.ID(), "", `{}`)
	}))
	defer srv.Close()
	url, _ := env.Lookup("NATS_URL")
	out, err := run(t, envconfig.MapLookuper(map[string]string{"NATS_URL": url, "INGEST_URL": srv.URL}), "bench", "-n", "50", "-c", "4", "-timeout", "20s")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"accepted  50 of 50", "results   50 (1 io.mendflow.command.failed), 0 missing, 0 doubled", "end to end 50 results", "p50", "p99"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// TestBenchGitHubDeliveries: -kind repository.created sends signed GitHub
// deliveries, each a new repository, whose delivery id correlates the
// results.
func TestBenchGitHubDeliveries(t *testing.T) {
	t.Parallel()
	env, js := setup(t)
	const secret = "bench-secret"
	var mu sync.Mutex
	names := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var d struct {
			Action     string `json:"action"`
			Repository struct {
				ID      int64  `json:"id"`
				Name    string `json:"name"`
				HTMLURL string `json:"html_url"`
				Owner   struct {
					Login string `json:"login"`
				} `json:"owner"`
			} `json:"repository"`
		}
		delivery := r.Header.Get("X-GitHub-Delivery")
		if r.URL.Path != "/webhooks/github" || r.Header.Get("X-GitHub-Event") != "repository" || delivery == "" ||
			r.Header.Get("X-Hub-Signature-256") != githubsig.Sign(b, secret) || json.Unmarshal(b, &d) != nil ||
			d.Action != "created" || d.Repository.ID == 0 || d.Repository.Owner.Login == "" ||
			d.Repository.HTMLURL != "https://github.com/"+d.Repository.Owner.Login+"/"+d.Repository.Name {
			http.Error(w, "bad delivery", http.StatusBadRequest)
			return
		}
		mu.Lock()
		names[d.Repository.Name] = true
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		publishResult(t, js, events.TypeProjectCreated, delivery+":result", delivery, "", `{}`)
	}))
	defer srv.Close()
	url, _ := env.Lookup("NATS_URL")
	out, err := run(t, envconfig.MapLookuper(map[string]string{"NATS_URL": url, "INGEST_URL": srv.URL, "GITHUB_WEBHOOK_SECRET": secret}),
		"bench", "-kind", "repository.created", "-n", "20", "-c", "4", "-over", "100ms", "-timeout", "20s")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"accepted  20 of 20", "results   20 (0 io.mendflow.command.failed), 0 missing, 0 doubled", "ingest answer time: p50"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if len(names) != 20 {
		t.Errorf("%d repositories, want 20 distinct", len(names))
	}
}

// TestBenchReportsWhatMendSaw: with -mendsim, bench clears the
// simulator's call record first and reports the calls it saw, per
// second and per result, and with -storm makes them answer 429 for a
// spell, counting the calls made during the waits it announced.
func TestBenchReportsWhatMendSaw(t *testing.T) {
	t.Parallel()
	env, js := setup(t)
	sim := mendsim.NewServer(mendsim.Config{})
	defer sim.Close()
	list := `{"requestType":"getAllProducts","userKey":"` + mendsim.DefaultUserKey + `","orgToken":"` + mendsim.DefaultOrgToken + `"}`
	if resp, err := http.Post(sim.URL+"/api/v1.4", "application/json", strings.NewReader(list)); err == nil {
		resp.Body.Close() // a call before the run, which the report leaves out
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e event.Event
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &e); err != nil {
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		// The pipeline double asks Mend once per command, twice for the
		// tenth. Sent every 200 ms, the storm comes after the second.
		for range 1 + min(1, strings.Count(e.ID(), "-9")) {
			if resp, err := http.Post(sim.URL+"/api/v1.4", "application/json", strings.NewReader(list)); err == nil {
				resp.Body.Close()
			}
		}
		w.WriteHeader(http.StatusAccepted)
		publishResult(t, js, events.TypeProjectCreated, e.ID()+":result", e.ID(), "", `{}`)
	}))
	defer srv.Close()
	url, _ := env.Lookup("NATS_URL")
	out, err := run(t, envconfig.MapLookuper(map[string]string{"NATS_URL": url, "INGEST_URL": srv.URL}),
		"bench", "-n", "10", "-c", "1", "-over", "2s", "-mendsim", sim.URL, "-storm", "300ms,1h,1h", "-timeout", "20s")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Mend      11 calls in", "per 1-s window max", "Mend      1.10 calls per result",
		"Mend      9 answered 429; 8 calls made during an announced wait", "Mend      0 projects in product bench-"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchRefused(t *testing.T) {
	t.Parallel()
	env, _ := setup(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"title":"Service unavailable"}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	url, _ := env.Lookup("NATS_URL")
	out, err := run(t, envconfig.MapLookuper(map[string]string{"NATS_URL": url, "INGEST_URL": srv.URL}), "bench", "-n", "5", "-c", "2", "-timeout", "1s")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "accepted  0 of 5") || !strings.Contains(out, "refused   5; the first: ingest answered 503 Service Unavailable") {
		t.Errorf("report:\n%s", out)
	}
}

// TestBenchTimeoutWhileSending: what was never sent, or sent after the
// timeout, is not reported as accepted.
func TestBenchTimeoutWhileSending(t *testing.T) {
	t.Parallel()
	env, _ := setup(t)
	var mu sync.Mutex
	got := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		mu.Lock()
		got++
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	url, _ := env.Lookup("NATS_URL")
	out, err := run(t, envconfig.MapLookuper(map[string]string{"NATS_URL": url, "INGEST_URL": srv.URL}), "bench", "-n", "40", "-c", "1", "-timeout", "1s")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	answered := got
	mu.Unlock()
	var accepted, n int
	if _, err := fmt.Sscanf(out[strings.Index(out, "accepted"):], "accepted %d of %d", &accepted, &n); err != nil {
		t.Fatalf("report without accepted: %v\n%s", err, out)
	}
	if accepted > answered || n != 40 {
		t.Errorf("report says %d of %d accepted, but ingest answered %d requests:\n%s", accepted, n, answered, out)
	}
	if !strings.Contains(out, "not sent") {
		t.Errorf("report does not say what the timeout left unsent:\n%s", out)
	}
}
