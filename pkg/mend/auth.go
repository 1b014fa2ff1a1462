package mend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
// none, renewing it before it expires, and dropping it on a 401.
type authenticator struct {
	c  *Client
	v3 bool

	mu   sync.Mutex
	orgs map[string]*orgToken
	// kept holds every JWT and refresh token held now, under mu, for the
	// redactor: it cannot wait for an orgToken's lock or refreshMu, which
	// a login holds while its own request, and errors, are under way.
	kept map[string]Secret

	refreshMu sync.Mutex
	refresh   Secret // v3.0 refresh token, shared by all organizations
}

type orgToken struct {
	mu      sync.Mutex // held during a login, so that concurrent calls wait for one
	jwt     Secret
	renewAt time.Time
}

func newAuthenticator(c *Client) *authenticator {
	return &authenticator{c: c, orgs: make(map[string]*orgToken), kept: make(map[string]Secret)}
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
	if t.jwt != "" && time.Now().Before(t.renewAt) {
		return t.jwt, nil
	}
	jwt, ttl, err := a.login(ctx, org)
	if err != nil {
		return "", err
	}
	t.jwt = jwt
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
		t.jwt = ""
		a.keep("jwt "+org, "")
	}
}

func (a *authenticator) renewAt(token Secret, ttl time.Duration) time.Time {
	now := time.Now()
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

type loginResult struct {
	JWTToken     Secret `json:"jwtToken"`
	RefreshToken Secret `json:"refreshToken"`
	OrgUUID      string `json:"orgUuid"`
	OrgName      string `json:"orgName"`
	UserUUID     string `json:"userUuid"`
	// JWTTTL is the token's lifetime in milliseconds, where Mend says it.
	JWTTTL int64 `json:"jwtTTL"`
}

func (a *authenticator) login(ctx context.Context, org string) (Secret, time.Duration, error) {
	if a.c.email == "" {
		return "", 0, errors.New("login: the v2.0 API needs the user's e-mail (MEND_USER_EMAIL)")
	}
	var res loginResult
	var err error
	if a.v3 {
		res, err = a.loginV3(ctx, org)
	} else {
		body := struct {
			Email    string `json:"email"`
			UserKey  string `json:"userKey"`
			OrgToken string `json:"orgToken"`
		}{a.c.email, a.c.userKey.Reveal(), org}
		err = a.post(ctx, "login", "/api/v2.0/login", "retVal", "", body, &res)
	}
	if err != nil {
		return "", 0, err
	}
	if res.JWTToken == "" {
		return "", 0, errors.New("login: the answer holds no JWT")
	}
	return res.JWTToken, time.Duration(res.JWTTTL) * time.Millisecond, nil
}

// loginV3 gets a refresh token once, then an access token per organization.
func (a *authenticator) loginV3(ctx context.Context, org string) (loginResult, error) {
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	var res loginResult
	for attempt := 0; attempt < 2; attempt++ {
		if a.refresh == "" {
			body := struct {
				Email   string `json:"email"`
				UserKey string `json:"userKey"`
			}{a.c.email, a.c.userKey.Reveal()}
			var lr loginResult
			if err := a.post(ctx, "login", "/api/v3.0/login", "response", "", body, &lr); err != nil {
				return res, err
			}
			if lr.RefreshToken == "" {
				return res, errors.New("login: the answer holds no refresh token")
			}
			a.refresh = lr.RefreshToken
			a.keep("refresh", a.refresh)
		}
		body := struct {
			OrgUUID string `json:"orgUuid"`
		}{org}
		err := a.post(ctx, "accessToken", "/api/v3.0/login/accessToken", "response", a.refresh, body, &res)
		if IsStatus(err, http.StatusUnauthorized) {
			// The refresh token has expired: log in afresh once.
			a.refresh = ""
			a.keep("refresh", "")
			continue
		}
		return res, err
	}
	return res, errors.New("login: refresh token refused twice")
}

// post sends a login request; a refresh token, if given, goes in the
// wss-refresh-token header.
func (a *authenticator) post(ctx context.Context, op, path, key string, refresh Secret, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	req := request{op: op, method: http.MethodPost, url: a.c.apiURL + path, body: body}
	if refresh != "" {
		req.header = http.Header{"Wss-Refresh-Token": {refresh.Reveal()}}
		req.secrets = []Secret{refresh}
	}
	_, err = a.c.send(ctx, req, func(resp *Response, data []byte) error {
		return decodeV2(op, key, resp, data, out)
	})
	return err
}
