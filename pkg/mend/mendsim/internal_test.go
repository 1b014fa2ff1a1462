package mendsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mendflow/mendflow/internal/mendcontract"
)

// serve sends one request straight to the simulator's handler and decodes
// the JSON answer.
func serve(t *testing.T, s *Simulator, method, path, body string, header map[string]string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: undecodable answer %q", method, path, rec.Body.String())
	}
	return rec.Code, out
}

const credentials = `{"email":"` + DefaultUserEmail + `","userKey":"` + DefaultUserKey + `"}`

// TestAccessTokenStoresNoRefreshToken: the access-token call answers no
// refresh token, so it must not store one.
func TestAccessTokenStoresNoRefreshToken(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	code, out := serve(t, s, http.MethodPost, "/api/v3.0/login", credentials, nil)
	refresh, _ := out["response"].(map[string]any)["refreshToken"].(string)
	if code != http.StatusOK || refresh == "" {
		t.Fatalf("v3.0 login: %d %v", code, out)
	}
	for range 3 {
		code, out := serve(t, s, http.MethodPost, "/api/v3.0/login/accessToken", "", map[string]string{"wss-refresh-token": refresh})
		if code != http.StatusOK || out["response"].(map[string]any)["jwtToken"] == nil {
			t.Fatalf("access token: %d %v", code, out)
		}
	}
	s.mu.Lock()
	n := len(s.st.refresh)
	s.mu.Unlock()
	if n != 1 {
		t.Errorf("%d refresh tokens stored after a login and three access tokens, want 1", n)
	}
}

// TestResetBetweenJWTAndHandler: a Reset after a REST call's JWT is checked
// and before its handler runs must not leave the call working on the
// organization of the state the Reset threw away.
func TestResetBetweenJWTAndHandler(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	code, out := serve(t, s, http.MethodPost, "/api/v2.0/login", credentials, nil)
	jwt, _ := out["retVal"].(map[string]any)["jwtToken"].(string)
	if code != http.StatusOK || jwt == "" {
		t.Fatalf("v2.0 login: %d %v", code, out)
	}
	bearer := map[string]string{"Authorization": "Bearer " + jwt}
	groups := "/api/v2.0/orgs/" + DefaultOrgToken + "/groups"

	s.afterJWT = func() { s.afterJWT = nil; s.Reset() }
	code, out = serve(t, s, http.MethodPost, groups, `{"name":"made across a reset"}`, bearer)
	if code != http.StatusOK {
		t.Fatalf("creating a group across a reset: %d %v", code, out)
	}
	_, out = serve(t, s, http.MethodGet, groups+"?search=name:equals:made%20across%20a%20reset", "", bearer)
	if got, _ := out["retVal"].([]any); len(got) != 1 {
		t.Errorf("the group created across a reset is not in the organization: %v", out)
	}
}

// TestRoutesAreInTheDocuments: every v2.0 and v3.0 endpoint the simulator
// serves is an operation of Mend's OpenAPI documents, path and method.
func TestRoutesAreInTheDocuments(t *testing.T) {
	t.Parallel()
	c, err := mendcontract.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range New(Config{}).restRoutes() {
		method, path, _ := strings.Cut(r.pattern, " ")
		if !c.HasOperation(method, path) {
			t.Errorf("%s (%s) is no operation of the OpenAPI documents", r.pattern, r.op)
		}
	}
}
