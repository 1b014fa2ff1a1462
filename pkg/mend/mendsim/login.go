package mendsim

import (
	"net/http"
	"strings"
)

// jwtTTLMillis is the lifetime of the JWTs, in milliseconds, as the logins
// announce it in jwtTTL.
func (s *Simulator) jwtTTLMillis() int64 { return s.cfg.JWTLifetime.Milliseconds() }

func (s *Simulator) loginRoutes() []restRoute {
	return []restRoute{
		{pattern: "POST /api/v2.0/login", op: "login", key: "retVal", public: true, h: s.loginV2},
		{pattern: "POST /api/v3.0/login", op: "loginV3", key: "response", public: true, h: s.loginV3},
		{pattern: "POST /api/v3.0/login/accessToken", op: "accessToken", key: "response", public: true, h: s.accessToken},
	}
}

func (s *Simulator) credentialsOK(email, userKey string) bool {
	return strings.EqualFold(email, s.cfg.UserEmail) && userKey == s.cfg.UserKey
}

// orgByTokenOrUUID finds an organization by its API key or its UUID, both
// of which the v2.0 API accepts.
func (s *Simulator) orgByTokenOrUUID(v string) *org {
	if o := s.st.orgs[v]; o != nil {
		return o
	}
	for _, o := range s.st.orgs {
		if o.uuid == v {
			return o
		}
	}
	return nil
}

func (s *Simulator) loginV2(c *restCall) (any, error) {
	var in struct {
		Email    string `json:"email"`
		UserKey  string `json:"userKey"`
		OrgToken string `json:"orgToken"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.Email == "" || in.UserKey == "" {
		return nil, httpError(http.StatusBadRequest, "email and userKey are required")
	}
	if !s.credentialsOK(in.Email, in.UserKey) {
		return nil, httpError(http.StatusUnauthorized, "invalid credentials")
	}
	o := s.st.orgs[s.cfg.OrgToken]
	if in.OrgToken != "" {
		if o = s.orgByTokenOrUUID(in.OrgToken); o == nil {
			return nil, httpError(http.StatusUnauthorized, "the user is not a member of that organization")
		}
	}
	out, err := s.session(o, in.Email)
	if err != nil {
		return nil, err
	}
	out["refreshToken"] = s.newRefresh(in.Email)
	return out, nil
}

// newRefresh stores and returns a new refresh token of the user email,
// which the v3.0 access-token call takes.
func (s *Simulator) newRefresh(email string) string {
	refresh := newToken()
	s.st.refresh[refresh] = email
	return refresh
}

// session answers a JWT for organization o: the v2.0 login and the v3.0
// access-token call.
func (s *Simulator) session(o *org, email string) (map[string]any, error) {
	jwt, err := s.issueJWT(o, email)
	if err != nil {
		return nil, err
	}
	u := s.st.users[strings.ToLower(email)]
	out := map[string]any{
		"jwtToken":         jwt,
		"jwtTTL":           s.jwtTTLMillis(),
		"orgName":          o.name,
		"orgUuid":          o.uuid,
		"sessionStartTime": s.now().UnixMilli(),
	}
	if u != nil {
		out["userUuid"], out["userName"] = u.uuid, u.name
	}
	return out, nil
}

func (s *Simulator) loginV3(c *restCall) (any, error) {
	var in struct {
		Email   string `json:"email"`
		UserKey string `json:"userKey"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if !s.credentialsOK(in.Email, in.UserKey) {
		return nil, httpError(http.StatusUnauthorized, "invalid credentials")
	}
	return map[string]any{
		"userEmail":    in.Email,
		"refreshToken": s.newRefresh(in.Email),
		"jwtTTL":       s.jwtTTLMillis(),
	}, nil
}

func (s *Simulator) accessToken(c *restCall) (any, error) {
	email, ok := s.st.refresh[c.r.Header.Get("wss-refresh-token")]
	if !ok {
		return nil, httpError(http.StatusUnauthorized, "invalid refresh token")
	}
	o := s.st.orgs[s.cfg.OrgToken]
	if len(c.body) > 0 {
		var in struct {
			OrgUUID string `json:"orgUuid"`
		}
		if err := c.decode(&in); err != nil {
			return nil, err
		}
		if in.OrgUUID != "" {
			if o = s.orgByTokenOrUUID(in.OrgUUID); o == nil {
				return nil, httpError(http.StatusForbidden, "the user is not a member of that organization")
			}
		}
	}
	return s.session(o, email)
}
