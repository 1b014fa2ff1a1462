package mendsim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mendflow/mendflow/internal/mendcontract"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// clock is a clock that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newServer starts a simulator whose every v2.0 and v3.0 answer is checked
// against Mend's OpenAPI documents: an answer they do not allow, or a
// request they refuse that the simulator does not refuse with a status
// they list, fails t.
func newServer(t *testing.T, cfg mendsim.Config) *mendsim.Server {
	t.Helper()
	srv := mendsim.NewServer(cfg, func(h http.Handler) http.Handler {
		return mendcontract.Handler(func(err error) { t.Error(err) }, h)
	})
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url, body string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return nil, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	return resp, out
}

const listProducts = `{"requestType":"getAllProducts","userKey":"` + mendsim.DefaultUserKey + `","orgToken":"` + mendsim.DefaultOrgToken + `"}`

func TestFaultCountEveryAndFor(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv := newServer(t, mendsim.Config{Now: clk.Now})
	t.Cleanup(srv.Close)
	v1 := srv.URL + "/api/v1.4"

	statuses := func(n int) []int {
		var out []int
		for range n {
			resp, body := post(t, v1, listProducts)
			code := resp.StatusCode
			if ec, ok := body["errorCode"].(float64); ok {
				code = int(ec)
			}
			out = append(out, code)
		}
		return out
	}

	// Count: two 502s, then normal answers.
	mustSet(t, srv, mendsim.Fault{Op: "getAllProducts", Status: 502, Count: 2})
	if diff := cmp.Diff([]int{502, 502, 200}, statuses(3)); diff != "" {
		t.Errorf("Count (-want, +got):\n%s", diff)
	}
	// Every: errorCode 3000 on every third call.
	mustSet(t, srv, mendsim.Fault{Op: "getAllProducts", ErrorCode: 3000, Every: 3})
	if diff := cmp.Diff([]int{200, 200, 3000, 200, 200, 3000}, statuses(6)); diff != "" {
		t.Errorf("Every (-want, +got):\n%s", diff)
	}
	// For: 503 for a minute of the simulator's clock; AnyOp covers all.
	srv.ClearFaults()
	mustSet(t, srv, mendsim.Fault{Op: mendsim.AnyOp, Status: 503, For: time.Minute})
	got := statuses(1)
	clk.Add(61 * time.Second)
	got = append(got, statuses(1)...)
	if diff := cmp.Diff([]int{503, 200}, got); diff != "" {
		t.Errorf("For (-want, +got):\n%s", diff)
	}

	faulted := 0
	for _, c := range srv.CallsOf("getAllProducts") {
		if c.Fault {
			faulted++
		}
	}
	if faulted != 5 {
		t.Errorf("call record marks %d calls as faulted, want 5", faulted)
	}
}

func TestFaultDropAndLatency(t *testing.T) {
	t.Parallel()
	srv := newServer(t, mendsim.Config{})
	t.Cleanup(srv.Close)
	mustSet(t, srv, mendsim.Fault{Op: "getAllProducts", Drop: true, Count: 1})
	if resp, _ := post(t, srv.URL+"/api/v1.4", listProducts); resp != nil {
		t.Fatalf("dropped call answered %d", resp.StatusCode)
	}
	mustSet(t, srv, mendsim.Fault{Op: "getAllProducts", Latency: 200 * time.Millisecond, Count: 1})
	start := time.Now()
	resp, body := post(t, srv.URL+"/api/v1.4", listProducts)
	if resp == nil || resp.StatusCode != 200 || body["products"] == nil {
		t.Fatalf("a latency-only fault must let the call through: %v %v", resp, body)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Error("answered before the injected latency")
	}
	calls := srv.CallsOf("getAllProducts")
	if len(calls) != 2 || calls[0].Status != 0 || !calls[0].Fault || calls[1].Status != 200 {
		t.Errorf("call record = %+v, want a dropped call then a 200", calls)
	}
}

// TestFaultLatencyRange: latency to latencyMax spreads the answers over
// the range, and is read from the admin endpoint's JSON.
func TestFaultLatencyRange(t *testing.T) {
	t.Parallel()
	srv := newServer(t, mendsim.Config{})
	t.Cleanup(srv.Close)
	resp, _ := post(t, srv.URL+"/_mendsim/faults", `{"op":"getAllProducts","latency":"20ms","latencyMax":"60ms"}`)
	if resp.StatusCode != 200 || len(srv.Faults()) != 1 || srv.Faults()[0].LatencyMax != 60*time.Millisecond {
		t.Fatalf("setting a fault: %d, faults %+v", resp.StatusCode, srv.Faults())
	}
	var took []time.Duration
	for range 12 {
		start := time.Now()
		if resp, _ := post(t, srv.URL+"/api/v1.4", listProducts); resp == nil || resp.StatusCode != 200 {
			t.Fatalf("call: %v", resp)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	if took[0] < 20*time.Millisecond || took[len(took)-1]-took[0] < 5*time.Millisecond {
		t.Errorf("answer times %v: want at least 20ms each, spread over the range", took)
	}
	if err := srv.SetFault(mendsim.Fault{Op: "getAllProducts", Latency: time.Second, LatencyMax: time.Millisecond}); err == nil {
		t.Error("a latencyMax below the latency was accepted")
	}
}

func TestAdminEndpoints(t *testing.T) {
	t.Parallel()
	srv := newServer(t, mendsim.Config{})
	t.Cleanup(srv.Close)

	// A bad fault is refused with the reason, and nothing is set.
	resp, body := post(t, srv.URL+"/_mendsim/faults", `{"op":"createProject","status":200}`)
	if resp.StatusCode != 400 || !strings.Contains(body["error"].(string), "not an error status") {
		t.Fatalf("bad fault: %d %v", resp.StatusCode, body)
	}
	resp, _ = post(t, srv.URL+"/_mendsim/faults", `[{"op":"getAllProducts","status":429,"retryAfter":"3s","count":1}]`)
	if resp.StatusCode != 200 || len(srv.Faults()) != 1 || srv.Faults()[0].RetryAfter != 3*time.Second {
		t.Fatalf("setting a fault: %d, faults %+v", resp.StatusCode, srv.Faults())
	}
	resp, _ = post(t, srv.URL+"/api/v1.4", listProducts)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("faulted call: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	post(t, srv.URL+"/api/v1.4", listProducts)

	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var calls []mendsim.Call
	get("/_mendsim/calls?op=getAllProducts", &calls)
	if len(calls) != 2 || calls[0].Status != 429 || calls[1].Status != 200 {
		t.Fatalf("GET /_mendsim/calls = %+v", calls)
	}
	if bytes.Contains(calls[0].Request, []byte("userKey")) {
		t.Errorf("the call record keeps the user key: %s", calls[0].Request)
	}
	get("/_mendsim/calls?since="+itoa(calls[0].Seq), &calls)
	if len(calls) != 1 {
		t.Errorf("since=%d gave %d calls, want 1", calls[0].Seq, len(calls))
	}
	var snap mendsim.Snapshot
	get("/_mendsim/state", &snap)
	if len(snap.Organizations) != 1 || snap.Organizations[0].Token != mendsim.DefaultOrgToken || len(snap.Organizations[0].Products) == 0 {
		t.Errorf("GET /_mendsim/state = %+v, want the demo organization", snap)
	}

	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/_mendsim/calls", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 204 {
		t.Fatalf("DELETE /_mendsim/calls: %v %v", resp, err)
	}
	if n := len(srv.Calls()); n != 0 {
		t.Errorf("%d calls after DELETE", n)
	}
}

func TestUnknownRequestTypeAndBadKey(t *testing.T) {
	t.Parallel()
	srv := newServer(t, mendsim.Config{})
	t.Cleanup(srv.Close)
	tests := []struct {
		name     string
		body     string
		wantCode float64
	}{
		// Not 3000, which clients retry: a request type Mend does not have
		// fails the same way every time.
		{"unknown request type", `{"requestType":"getEverything","userKey":"` + mendsim.DefaultUserKey + `"}`, 2021},
		{"a field of the wrong type", `{"requestType":"createProduct","userKey":"` + mendsim.DefaultUserKey + `","orgToken":"` + mendsim.DefaultOrgToken + `","productName":7}`, 2021},
		{"missing user key", `{"requestType":"getAllProducts","orgToken":"` + mendsim.DefaultOrgToken + `"}`, 3010},
		{"wrong user key", `{"requestType":"getAllProducts","userKey":"nope","orgToken":"` + mendsim.DefaultOrgToken + `"}`, 5001},
		{"unknown organization", `{"requestType":"getAllProducts","userKey":"` + mendsim.DefaultUserKey + `","orgToken":"nope"}`, 5001},
		{"missing field", `{"requestType":"createProduct","userKey":"` + mendsim.DefaultUserKey + `","orgToken":"` + mendsim.DefaultOrgToken + `"}`, 3010},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, body := post(t, srv.URL+"/api/v1.4", tt.body)
			msg, _ := body["errorMessage"].(string)
			if resp.StatusCode != 200 || body["errorCode"] != tt.wantCode || msg == "" {
				t.Errorf("got %d %v, want HTTP 200 with errorCode %v and a message", resp.StatusCode, body, tt.wantCode)
			}
		})
	}
}

// TestFieldNamesMatchExactly: Mend reads the pages' field names as written,
// so a field in another case is not that field, however encoding/json would
// read it: a required one is missing, an optional one keeps its default.
func TestFieldNamesMatchExactly(t *testing.T) {
	t.Parallel()
	srv := newServer(t, mendsim.Config{})
	t.Cleanup(srv.Close)
	v1 := func(body string) map[string]any {
		t.Helper()
		_, out := post(t, srv.URL+"/api/v1.4", `{"userKey":"`+mendsim.DefaultUserKey+`",`+body[1:])
		return out
	}
	_, products := post(t, srv.URL+"/api/v1.4", listProducts)
	product := products["products"].([]any)[0].(map[string]any)["productToken"].(string)
	policies := func(aggregate string) int {
		t.Helper()
		out := v1(`{"requestType":"getProductPolicies","productToken":"` + product + `",` + aggregate + `}`)
		list, ok := out["policies"].([]any)
		if !ok {
			t.Fatalf("getProductPolicies with %s: %v", aggregate, out)
		}
		return len(list)
	}
	// The demo product has one policy, its organization one more.
	if n := policies(`"aggregatePolicies":true`); n != 2 {
		t.Errorf("aggregatePolicies true: %d policies, want 2", n)
	}
	if n := policies(`"AggregatePolicies":true`); n != 1 {
		t.Errorf("AggregatePolicies true: %d policies, want 1 (the field is unknown, aggregatePolicies stays false)", n)
	}

	out := v1(`{"requestType":"addOrganizationPolicy","orgToken":"` + mendsim.DefaultOrgToken + `","policy":{` +
		`"Name":"p","owner":{"email":"` + mendsim.DefaultUserEmail + `"},"filter":{"type":"LIBRARY_STALENESS","monthsBack":6},"action":{"type":"REJECT"}}}`)
	if out["errorCode"] != float64(mend.CodeMissingFields) || !strings.Contains(out["errorMessage"].(string), "policy.name") {
		t.Errorf("a policy with Name for name: %v, want errorCode %d for policy.name", out, mend.CodeMissingFields)
	}

	// v2.0 bodies alike.
	_, login := post(t, srv.URL+"/api/v2.0/login", `{"email":"`+mendsim.DefaultUserEmail+`","userKey":"`+mendsim.DefaultUserKey+`"}`)
	jwt := login["retVal"].(map[string]any)["jwtToken"].(string)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v2.0/orgs/"+mendsim.DefaultOrgToken+"/groups",
		strings.NewReader(`{"Name":"release managers"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+jwt)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("createGroup with Name for name: HTTP %d, want 400", resp.StatusCode)
	}
}

func mustSet(t *testing.T, srv *mendsim.Server, f mendsim.Fault) {
	t.Helper()
	if err := srv.SetFault(f); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestEveryRequestTypeIsAnswered keeps the simulator in step with the
// client: each request type the client sends is known to the simulator,
// which, asked without its fields, answers 3010 (missing fields) with their
// names.
func TestEveryRequestTypeIsAnswered(t *testing.T) {
	t.Parallel()
	srv := newServer(t, mendsim.Config{})
	t.Cleanup(srv.Close)
	if n := len(mend.RequestTypes()); n != 59 {
		t.Errorf("the client knows %d request types; the pages have 59", n)
	}
	for _, rt := range mend.RequestTypes() {
		resp, body := post(t, srv.URL+"/api/v1.4", `{"requestType":"`+rt+`","userKey":"`+mendsim.DefaultUserKey+`"}`)
		msg, _ := body["errorMessage"].(string)
		if resp.StatusCode != 200 || strings.Contains(msg, "Unknown request type") {
			t.Errorf("%s: %d %v, want the simulator to know it", rt, resp.StatusCode, body)
			continue
		}
		if body["errorCode"] != float64(mend.CodeMissingFields) || !strings.HasPrefix(msg, "Missing fields: ") {
			t.Errorf("%s without its fields: %v, want errorCode %d naming the missing fields", rt, body, mend.CodeMissingFields)
		}
	}
}

// TestErrorCodeFaultSkipsRESTCalls: an errorCode fault answers v1.4 calls
// only, so v2.0 and v3.0 calls neither use it up (Count) nor count towards
// Every.
func TestErrorCodeFaultSkipsRESTCalls(t *testing.T) {
	t.Parallel()
	srv := newServer(t, mendsim.Config{})
	t.Cleanup(srv.Close)
	login := func() {
		t.Helper()
		resp, _ := post(t, srv.URL+"/api/v2.0/login", `{"email":"`+mendsim.DefaultUserEmail+`","userKey":"`+mendsim.DefaultUserKey+`"}`)
		if resp == nil || resp.StatusCode != 200 {
			t.Fatalf("v2.0 login under an errorCode fault: %v", resp)
		}
	}
	v1 := func() int {
		t.Helper()
		resp, body := post(t, srv.URL+"/api/v1.4", listProducts)
		if resp == nil {
			t.Fatal("v1.4 call not answered")
		}
		if ec, ok := body["errorCode"].(float64); ok {
			return int(ec)
		}
		return resp.StatusCode
	}

	mustSet(t, srv, mendsim.Fault{Op: mendsim.AnyOp, ErrorCode: 3000, Count: 1})
	login()
	if got := v1(); got != 3000 {
		t.Errorf("Count 1: the v1.4 call after a v2.0 login answered %d, want 3000", got)
	}
	if got := v1(); got != 200 {
		t.Errorf("Count 1: the second v1.4 call answered %d, want 200", got)
	}

	mustSet(t, srv, mendsim.Fault{Op: mendsim.AnyOp, ErrorCode: 3000, Every: 2})
	var got []int
	for range 2 {
		got = append(got, v1())
		login()
	}
	if diff := cmp.Diff([]int{200, 3000}, got); diff != "" {
		t.Errorf("Every 2 with v2.0 logins in between (-want, +got):\n%s", diff)
	}

	// With a latency too, a v2.0 call gets the latency and no errorCode.
	mustSet(t, srv, mendsim.Fault{Op: "login", ErrorCode: 3000, Latency: time.Millisecond, Count: 1})
	login()
	if f := srv.Faults(); len(f) != 1 || f[0].Op != mendsim.AnyOp {
		t.Errorf("faults after a v2.0 login delayed by a fault with Count 1: %+v, want the AnyOp one only", f)
	}
}

// TestPolicyCreationTimeIsUTC: policies date their creation in UTC, as the
// simulator writes every date.
func TestPolicyCreationTimeIsUTC(t *testing.T) {
	t.Parallel()
	// 23:30 five hours west of Greenwich is 04:30 the next day in UTC.
	west := time.FixedZone("UTC-5", -5*60*60)
	srv := newServer(t, mendsim.Config{Now: func() time.Time { return time.Date(2026, 1, 1, 23, 30, 0, 0, west) }})
	t.Cleanup(srv.Close)
	_, body := post(t, srv.URL+"/api/v1.4", `{"requestType":"getOrganizationPolicies","userKey":"`+mendsim.DefaultUserKey+`","orgToken":"`+mendsim.DefaultOrgToken+`"}`)
	policies, _ := body["policies"].([]any)
	if len(policies) == 0 {
		t.Fatalf("getOrganizationPolicies: %v, want the demo organization's policy", body)
	}
	if got := policies[0].(map[string]any)["creationTime"]; got != "2026-01-02" {
		t.Errorf("creationTime = %v, want 2026-01-02 (UTC)", got)
	}
}

// TestDeletingAProjectDropsItsPendingTasks: a pending task of a deleted
// project is gone with it, and closing it answers "not closed".
func TestDeletingAProjectDropsItsPendingTasks(t *testing.T) {
	t.Parallel()
	srv := newServer(t, mendsim.Config{})
	t.Cleanup(srv.Close)
	v1 := func(fields string) map[string]any {
		t.Helper()
		_, body := post(t, srv.URL+"/api/v1.4", `{"userKey":"`+mendsim.DefaultUserKey+`","orgToken":"`+mendsim.DefaultOrgToken+`",`+fields+`}`)
		if body["errorCode"] != nil {
			t.Fatalf("%s: %v", fields, body)
		}
		return body
	}
	tasks := v1(`"requestType":"getDomainPendingTasks"`)["pendingTaskInfos"].([]any)
	if len(tasks) == 0 {
		t.Fatal("the demo organization has no pending tasks")
	}
	task := tasks[0].(map[string]any)
	var product, project string
	for _, p := range srv.Snapshot().Organizations[0].Products {
		for _, j := range p.Projects {
			if j.Name == task["projectName"] {
				product, project = p.Token, j.Token
			}
		}
	}
	v1(`"requestType":"deleteProject","productToken":"` + product + `","projectToken":"` + project + `"`)

	if left := v1(`"requestType":"getDomainPendingTasks"`)["pendingTaskInfos"].([]any); len(left) != 0 {
		t.Errorf("pending tasks after deleting their project: %v", left)
	}
	got := v1(`"requestType":"closePendingTask","taskUUID":"` + task["uuid"].(string) + `"`)["message"]
	if got != mend.MsgPendingTaskNotClosed {
		t.Errorf("closing a task of a deleted project answered %q, want %q", got, mend.MsgPendingTaskNotClosed)
	}
}

// TestEchoFault: an echo fault quotes the request in its answer, headers
// and body, the credentials among them.
func TestEchoFault(t *testing.T) {
	t.Parallel()
	srv := newServer(t, mendsim.Config{})
	t.Cleanup(srv.Close)
	if err := srv.SetFault(mendsim.Fault{Op: "getAllProducts", Echo: true}); err == nil {
		t.Error("an echo fault without status or errorCode was accepted")
	}
	message := func(body map[string]any) string {
		if rv, ok := body["retVal"].(map[string]any); ok {
			body = rv
		}
		msg, _ := body["errorMessage"].(string)
		return msg
	}

	mustSet(t, srv, mendsim.Fault{Op: "getAllProducts", Status: 502, Echo: true, Count: 1})
	resp, body := post(t, srv.URL+"/api/v1.4", listProducts)
	if resp.StatusCode != 502 || !strings.Contains(message(body), `"userKey":"`+mendsim.DefaultUserKey+`"`) {
		t.Errorf("status echo: %d %v, want 502 quoting the body", resp.StatusCode, body)
	}
	mustSet(t, srv, mendsim.Fault{Op: "getAllProducts", ErrorCode: mend.CodeNotAllowed, Echo: true, Count: 1})
	resp, body = post(t, srv.URL+"/api/v1.4", listProducts)
	if body["errorCode"] != float64(mend.CodeNotAllowed) || !strings.Contains(message(body), mendsim.DefaultUserKey) {
		t.Errorf("errorCode echo: %d %v, want errorCode %d quoting the body", resp.StatusCode, body, mend.CodeNotAllowed)
	}

	mustSet(t, srv, mendsim.Fault{Op: "listGroups", Status: 500, Echo: true})
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v2.0/orgs/"+mendsim.DefaultOrgToken+"/groups", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer some.jwt.here")
	req.Header.Set("Wss-Refresh-Token", "some-refresh-token")
	hresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer hresp.Body.Close()
	data, _ := io.ReadAll(hresp.Body)
	var rest map[string]any
	_ = json.Unmarshal(data, &rest)
	if msg := message(rest); hresp.StatusCode != 500 || !strings.Contains(msg, "Bearer some.jwt.here") || !strings.Contains(msg, "some-refresh-token") {
		t.Errorf("REST echo: %d %s, want 500 quoting the headers", hresp.StatusCode, data)
	}
}

// TestStatusFaultKeepsTheV3Envelope: a v3.0 answer keeps its data under
// "response", not "retVal", errors included, as the simulator's own v3.0
// errors do; an injected status must answer in the same envelope.
func TestStatusFaultKeepsTheV3Envelope(t *testing.T) {
	t.Parallel()
	srv := newServer(t, mendsim.Config{})
	t.Cleanup(srv.Close)
	login := `{"email":"` + mendsim.DefaultUserEmail + `","userKey":"` + mendsim.DefaultUserKey + `"}`

	for _, tt := range []struct{ op, path, key string }{
		{"loginV3", "/api/v3.0/login", "response"},
		{"login", "/api/v2.0/login", "retVal"},
	} {
		mustSet(t, srv, mendsim.Fault{Op: tt.op, Status: http.StatusServiceUnavailable, Count: 1})
		resp, body := post(t, srv.URL+tt.path, login)
		if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s: answer %v, want 503", tt.op, resp)
		}
		inner, ok := body[tt.key].(map[string]any)
		if !ok || inner["errorMessage"] == nil {
			t.Errorf("%s: 503 answer %v holds no %q.errorMessage", tt.op, body, tt.key)
		}
	}
}

// rest sends a REST request, with jwt as its Bearer token unless empty,
// and decodes the answer.
func rest(t *testing.T, method, url, jwt, body string, header map[string]string) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if jwt != "" {
		req.Header.Set("Authorization", "Bearer "+jwt)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

// TestRESTRefusalsAreDocumented: the simulator refuses what Mend refuses
// with the statuses the OpenAPI documents list, 400 and 403, and their
// body; the checked server fails the test on any other.
func TestRESTRefusalsAreDocumented(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv := newServer(t, mendsim.Config{Now: clk.Now})
	_, login := post(t, srv.URL+"/api/v2.0/login", `{"email":"`+mendsim.DefaultUserEmail+`","userKey":"`+mendsim.DefaultUserKey+`","orgToken":"`+mendsim.DefaultOrgToken+`"}`)
	jwt := login["retVal"].(map[string]any)["jwtToken"].(string)
	other, _ := srv.AddOrganization("Other")
	_, otherLogin := post(t, srv.URL+"/api/v2.0/login", `{"email":"`+mendsim.DefaultUserEmail+`","userKey":"`+mendsim.DefaultUserKey+`","orgToken":"`+other+`"}`)
	otherJWT := otherLogin["retVal"].(map[string]any)["jwtToken"].(string)
	product := srv.Snapshot().Organizations[0].Products[0]
	project := product.Projects[0].Token
	api := srv.URL + "/api/v2.0"
	tests := []struct {
		name, method, url, jwt, body string
		header                       map[string]string
		want                         int
	}{
		{"login without e-mail", http.MethodPost, api + "/login", "", `{"userKey":"k"}`, nil, 400},
		{"login with a wrong key", http.MethodPost, api + "/login", "", `{"email":"` + mendsim.DefaultUserEmail + `","userKey":"nope"}`, nil, 403},
		{"access token without a refresh token", http.MethodPost, srv.URL + "/api/v3.0/login/accessToken", "", "", nil, 403},
		{"access token with an unknown refresh token", http.MethodPost, srv.URL + "/api/v3.0/login/accessToken", "", "", map[string]string{"wss-refresh-token": "nope"}, 403},
		{"no JWT", http.MethodGet, api + "/projects/" + project, "", "", nil, 403},
		{"a JWT of another organization", http.MethodGet, api + "/orgs/" + mendsim.DefaultOrgToken + "/groups", otherJWT, "", nil, 403},
		{"a project of another organization", http.MethodGet, api + "/projects/" + project, otherJWT, "", nil, 403},
		{"an unknown project", http.MethodGet, api + "/projects/nope", jwt, "", nil, 400},
		{"an unknown product", http.MethodPut, api + "/products/nope", jwt, `{"name":"x"}`, nil, 400},
		{"a rename without a name", http.MethodPut, api + "/projects/" + project, jwt, `{}`, nil, 400},
		{"a rename to a name taken", http.MethodPut, api + "/projects/" + project, jwt, `{"name":"demo-web"}`, nil, 400},
		{"a move to an unknown product", http.MethodPut, api + "/projects/" + project + "/reassign/nope", jwt, "", nil, 400},
		{"a page size over 10000", http.MethodGet, api + "/orgs/" + mendsim.DefaultOrgToken + "/projects?pageSize=10001", jwt, "", nil, 400},
		{"an unknown process", http.MethodGet, api + "/orgs/" + mendsim.DefaultOrgToken + "/asyncProcessStatus/nope", jwt, "", nil, 400},
		{"a group name taken", http.MethodPost, api + "/orgs/" + mendsim.DefaultOrgToken + "/groups", jwt, `{"name":"admins"}`, nil, 400},
		{"an unknown group", http.MethodGet, api + "/orgs/" + mendsim.DefaultOrgToken + "/groups/nope", jwt, "", nil, 400},
		{"a project's role", http.MethodPost, api + "/orgs/" + mendsim.DefaultOrgToken + "/groups/nope/roles", jwt,
			`{"contextToken":"` + project + `","contextType":"projects","role":"ADMIN"}`, nil, 400},
	}
	for _, tt := range tests {
		status, body := rest(t, tt.method, tt.url, tt.jwt, tt.body, tt.header)
		if status != tt.want || body["supportToken"] == nil {
			t.Errorf("%s: %d %v, want %d with a supportToken", tt.name, status, body, tt.want)
		}
	}
	// An expired JWT, too.
	clk.Add(31 * time.Minute)
	if status, _ := rest(t, http.MethodGet, api+"/projects/"+project, jwt, "", nil); status != http.StatusForbidden {
		t.Errorf("an expired JWT: %d, want 403", status)
	}
}

// TestAccessTokenForTheOrganizationAsked: the v3.0 access token is for the
// organization whose UUID the query names; an organization named another
// way (in the body, or by its API key) is not seen, and the token is for
// the user's last organization.
func TestAccessTokenForTheOrganizationAsked(t *testing.T) {
	t.Parallel()
	srv := newServer(t, mendsim.Config{})
	other, otherUUID := srv.AddOrganization("Other")
	_, v3 := post(t, srv.URL+"/api/v3.0/login", `{"email":"`+mendsim.DefaultUserEmail+`","userKey":"`+mendsim.DefaultUserKey+`"}`)
	refresh := map[string]string{"wss-refresh-token": v3["response"].(map[string]any)["refreshToken"].(string)}
	token := srv.URL + "/api/v3.0/login/accessToken"
	tests := []struct {
		name, query, body string
		want              string // the orgUuid answered
	}{
		{"the query names the other organization", "?orgUuid=" + otherUUID, `{"accessToken":"previous"}`, otherUUID},
		{"none named: the last one, the other", "", "", otherUUID},
		{"the query names the demo organization", "?orgUuid=" + srv.OrgUUID(), "", srv.OrgUUID()},
		{"the other in the body: the last one, the demo", "", `{"orgUuid":"` + otherUUID + `"}`, srv.OrgUUID()},
		{"the other by its API key: the last one, the demo", "?orgUuid=" + other, "", srv.OrgUUID()},
	}
	for _, tt := range tests {
		status, out := rest(t, http.MethodPost, token+tt.query, "", tt.body, refresh)
		resp, _ := out["response"].(map[string]any)
		if status != http.StatusOK || resp["orgUuid"] != tt.want || resp["tokenTTL"] == nil || resp["jwtToken"] == nil {
			t.Errorf("%s: %d %v, want a token of %s with its tokenTTL", tt.name, status, out, tt.want)
		}
	}
}
