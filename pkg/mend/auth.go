package mend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fallbackJWTLifetime is assumed when a JWT carries no expiry and the login
// named no TTL. The pages say 30 minutes; some Mend pages say 10, so the
// shorter one is the safe guess.
const fallbackJWTLifetime = 10 * time.Minute

// maxRenewAhead is how long before expiry a JWT is renewed at most; shorter
// lifetimes renew after four fifths of their life.
const maxRenewAhead = 2 * time.Minute

// authenticator keeps one JWT per organization, logging in when there is
// none, renewing it before it expires, and dropping it on a 401 or 403.
type authenticator struct {
	c  *Client
	v3 bool
	// now is the clock a JWT's renewal is timed by; tests move it on
	// rather than wait for a JWT to age.
	now func() time.Time

	mu   sync.Mutex
	orgs map[string]*orgToken
	// kept holds every JWT and refresh token held now, under mu, for the
	// redactor: it cannot wait for an orgToken's lock or refreshMu, which
	// a login holds while its own request, and errors, are under way.
	kept map[string]Secret
	// uuids maps an organization's token (its API key) to its UUID, as
	// the v2.0 login answers it, under mu. The v3.0 access token names
	// the organization by UUID.
	uuids map[string]string

	refreshMu sync.Mutex
	refresh   Secret // v3.0 refresh token, shared by all organizations
}

type orgToken struct {
	mu      sync.Mutex // held during a login, so that concurrent calls wait for one
	jwt     Secret
	renewAt time.Time
	// refused is the JWT Mend last refused, which the next v3.0 access
	// token names as the one it replaces.
	refused Secret
}

func newAuthenticator(c *Client) *authenticator {
	return &authenticator{c: c, now: time.Now, orgs: make(map[string]*orgToken), kept: make(map[string]Secret), uuids: make(map[string]string)}
}

// keep notes s as the secret held under name (an organization's JWT, or
// the refresh token); an empty s notes that none is.
func (a *authenticator) keep(name string, s Secret) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s == "" {
		delete(a.kept, name)
		return
	}
	a.kept[name] = s
}

// held returns every JWT and refresh token the client holds.
func (a *authenticator) held() []Secret {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Secret, 0, len(a.kept))
	for _, s := range a.kept {
		out = append(out, s)
	}
	return out
}

func (a *authenticator) entry(org string) *orgToken {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.orgs[org]
	if !ok {
		t = &orgToken{}
		a.orgs[org] = t
	}
	return t
}

// token returns a JWT for org that is not about to expire.
func (a *authenticator) token(ctx context.Context, org string) (Secret, error) {
	if org == "" {
		return "", errors.New("an organization token is required")
	}
	t := a.entry(org)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.jwt != "" && a.now().Before(t.renewAt) {
		return t.jwt, nil
	}
	previous := t.jwt
	if previous == "" {
		previous = t.refused
	}
	jwt, ttl, err := a.login(ctx, org, previous)
	if err != nil {
		return "", err
	}
	t.jwt, t.refused = jwt, ""
	t.renewAt = a.renewAt(jwt, ttl)
	a.keep("jwt "+org, jwt)
	return jwt, nil
}

// invalidate forgets jwt, unless another call already replaced it.
func (a *authenticator) invalidate(org string, jwt Secret) {
	t := a.entry(org)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.jwt == jwt {
		t.jwt, t.refused = "", jwt
		a.keep("jwt "+org, "")
	}
}

func (a *authenticator) renewAt(token Secret, ttl time.Duration) time.Time {
	now := a.now()
	expires := now.Add(fallbackJWTLifetime)
	if ttl > 0 {
		expires = now.Add(ttl)
	}
	// The token's own exp claim is the best source. It is read, not
	// verified: verifying is Mend's business.
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token.Reveal(), &claims); err == nil && claims.ExpiresAt != nil {
		expires = claims.ExpiresAt.Time
	}
	ahead := min(expires.Sub(now)/5, maxRenewAhead)
	return expires.Add(-ahead)
}

// sessionInfo is what the client reads of the v2.0 login's answer
// (SessionInfo in the OpenAPI document).
type sessionInfo struct {
	JWTToken Secret `json:"jwtToken"`
	OrgUUID  string `json:"orgUuid"`
}

// loginResponse is what the client reads of the v3.0 login's answer
// (LoginResponseDTO).
type loginResponse struct {
	RefreshToken Secret `json:"refreshToken"`
}

// accessTokenResponse is what the client reads of the v3.0 access token's
// answer (AccessTokenResponseDTO).
type accessTokenResponse struct {
	JWTToken Secret `json:"jwtToken"`
	OrgUUID  string `json:"orgUuid"`
	// TokenTTL is the token's lifetime in milliseconds.
	TokenTTL int64 `json:"tokenTTL"`
}

// login gets a JWT for org, and its lifetime where Mend says it; previous
// is the JWT it replaces, if any.
func (a *authenticator) login(ctx context.Context, org string, previous Secret) (Secret, time.Duration, error) {
	if a.c.email == "" {
		return "", 0, errors.New("login: the v2.0 API needs the user's e-mail (MEND_USER_EMAIL)")
	}
	if a.v3 {
		return a.loginV3(ctx, org, previous)
	}
	s, err := a.loginV2(ctx, org)
	return s.JWTToken, 0, err
}

// loginV2 logs in to org with the v2.0 login, and notes the organization's
// UUID it answers.
func (a *authenticator) loginV2(ctx context.Context, org string) (sessionInfo, error) {
	body := struct {
		Email    string `json:"email"`
		UserKey  string `json:"userKey"`
		OrgToken string `json:"orgToken"`
	}{a.c.email, a.c.userKey.Reveal(), org}
	var res sessionInfo
	if err := a.post(ctx, opLogin, "/api/v2.0/login", "retVal", "", nil, body, &res); err != nil {
		return res, err
	}
	if res.JWTToken == "" {
		return res, errors.New("login: the answer holds no JWT")
	}
	if res.OrgUUID != "" {
		a.mu.Lock()
		a.uuids[org] = res.OrgUUID
		a.mu.Unlock()
	}
	return res, nil
}

// orgUUID returns the UUID of the organization whose token is org. Only
// the v2.0 login maps one to the other, so it logs in that way the first
// time.
func (a *authenticator) orgUUID(ctx context.Context, org string) (string, error) {
	a.mu.Lock()
	uuid, ok := a.uuids[org]
	a.mu.Unlock()
	if ok {
		return uuid, nil
	}
	s, err := a.loginV2(ctx, org)
	if err != nil {
		return "", fmt.Errorf("finding the organization's UUID: %w", err)
	}
	// The JWT goes unused, but it is one the client has had: the redactor
	// keeps it out of errors all the same.
	a.keep("v2.0 jwt "+org, s.JWTToken)
	if s.OrgUUID == "" {
		return "", errors.New("login: the v2.0 login named no orgUuid, which the v3.0 access token needs")
	}
	return s.OrgUUID, nil
}

// loginV3 gets a refresh token once, then an access token per
// organization: POST /api/v3.0/login/accessToken with the organization's
// UUID as the query parameter orgUuid and the token it replaces as
// {"accessToken": ...}, as the OpenAPI document has it. Mend answers a
// token for the user's last organization to an organization named
// otherwise, so the answer's orgUuid is checked.
func (a *authenticator) loginV3(ctx context.Context, org string, previous Secret) (Secret, time.Duration, error) {
	uuid, err := a.orgUUID(ctx, org)
	if err != nil {
		return "", 0, err
	}
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	for range 2 {
		if a.refresh == "" {
			body := struct {
				Email   string `json:"email"`
				UserKey string `json:"userKey"`
			}{a.c.email, a.c.userKey.Reveal()}
			var lr loginResponse
			if err := a.post(ctx, opLoginV3, "/api/v3.0/login", "response", "", nil, body, &lr); err != nil {
				return "", 0, err
			}
			if lr.RefreshToken == "" {
				return "", 0, errors.New("login: the answer holds no refresh token")
			}
			a.refresh = lr.RefreshToken
			a.keep("refresh", a.refresh)
		}
		body := struct {
			AccessToken string `json:"accessToken,omitempty"`
		}{previous.Reveal()}
		var res accessTokenResponse
		err := a.post(ctx, opAccessToken, "/api/v3.0/login/accessToken?"+url.Values{"orgUuid": {uuid}}.Encode(),
			"response", a.refresh, []Secret{previous}, body, &res)
		if IsStatus(err, http.StatusUnauthorized) || IsStatus(err, http.StatusForbidden) {
			// The refresh token has expired: log in afresh once.
			a.refresh = ""
			a.keep("refresh", "")
			continue
		}
		switch {
		case err != nil:
			return "", 0, err
		case res.JWTToken == "":
			return "", 0, errors.New("login: the answer holds no JWT")
		case res.OrgUUID != uuid:
			return "", 0, fmt.Errorf("login: asked a token for organization %s, Mend answered one for %s", uuid, res.OrgUUID)
		}
		return res.JWTToken, time.Duration(res.TokenTTL) * time.Millisecond, nil
	}
	return "", 0, errors.New("login: refresh token refused twice")
}

// post sends a login request; a refresh token, if given, goes in the
// wss-refresh-token header. sent are the other secrets the body carries.
func (a *authenticator) post(ctx context.Context, op, path, key string, refresh Secret, sent []Secret, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req := request{op: op, method: http.MethodPost, url: a.c.apiURL + path, body: body, secrets: sent}
	if refresh != "" {
		req.header = http.Header{"Wss-Refresh-Token": {refresh.Reveal()}}
		req.secrets = append(req.secrets, refresh)
	}
	_, err = a.c.send(ctx, req, func(resp *Response, data []byte) error {
		return a.c.decodeV2(op, key, resp, data, out)
	})
	return err
}
