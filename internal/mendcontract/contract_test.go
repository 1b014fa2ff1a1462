package mendcontract

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// reports collects what a check reports.
type reports struct {
	mu   sync.Mutex
	errs []string
}

func (r *reports) add(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err.Error())
}

func (r *reports) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.errs
	r.errs = nil
	return out
}

// answering is a server of the API answering status and body to all.
func answering(status int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

func TestHandlerAndTransport(t *testing.T) {
	t.Parallel()
	const project = "/api/v2.0/projects/p1"
	tests := []struct {
		name     string
		method   string
		path     string
		body     string
		bearer   bool
		status   int
		answer   string
		reported string // what the server's report names; "" for none
		refused  bool   // the request is one the documents refuse
	}{
		{name: "a documented answer", method: http.MethodGet, path: project, bearer: true,
			status: 200, answer: `{"supportToken":"s","retVal":{"uuid":"p1","name":"n","productName":"x","productUuid":"y"}}`},
		{name: "a field of the wrong type", method: http.MethodGet, path: project, bearer: true,
			status: 200, answer: `{"retVal":{"uuid":7}}`, reported: `field "/retVal/uuid"`},
		{name: "an undocumented status", method: http.MethodGet, path: project, bearer: true,
			status: 404, answer: `{}`, reported: "answer 404"},
		{name: "a gateway's status", method: http.MethodGet, path: project, bearer: true, status: 503, answer: `oops`},
		{name: "a refused request, refused", method: http.MethodGet, path: project,
			status: 403, answer: `{"supportToken":"s"}`, refused: true},
		{name: "a refused request, answered", method: http.MethodGet, path: project,
			status: 200, answer: `{"retVal":{}}`, reported: "not a documented refusal", refused: true},
		{name: "a rename without its name, refused", method: http.MethodPut, path: project, body: `{}`, bearer: true,
			status: 400, answer: `{"supportToken":"s"}`, refused: true},
		{name: "a path of no document", method: http.MethodGet, path: "/api/v2.0/nowhere", bearer: true,
			status: 400, answer: `{}`, reported: "no operation", refused: true},
		{name: "a login needs no Bearer", method: http.MethodPost, path: "/api/v2.0/login", body: `{"email":"e","userKey":"k"}`,
			status: 200, answer: `{"retVal":{"jwtToken":"j","orgUuid":"o"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var server, client reports
			srv := httptest.NewServer(Handler(server.add, answering(tt.status, tt.answer)))
			t.Cleanup(srv.Close)
			hc := &http.Client{Transport: Transport(client.add, http.DefaultTransport)}
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tt.bearer {
				req.Header.Set("Authorization", "Bearer j")
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := server.take()
			if tt.reported == "" && len(got) != 0 || tt.reported != "" && (len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), tt.reported)) {
				t.Errorf("the server's check reported %q, want %q", got, tt.reported)
			}
			// The client's check sees the same answer; it reports a
			// request the documents refuse, which the server's check
			// lets be refused.
			cl := client.take()
			if tt.refused != (len(cl) > 0 && strings.Contains(cl[0], "contract: request")) {
				t.Errorf("the client's check reported %q", cl)
			}
		})
	}
}
