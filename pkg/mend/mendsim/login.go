package mendsim

import (
	"slices"
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
	return s.orgByUUID(v)
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
		return nil, badRequest("email and userKey are required")
	}
	if !s.credentialsOK(in.Email, in.UserKey) {
		return nil, forbidden("invalid credentials")
	}
	email := strings.ToLower(in.Email)
	// "If you omit the organization, it defaults to the last one you
	// signed in to."
	o := s.lastOrg(email)
	if in.OrgToken != "" {
		if o = s.orgByTokenOrUUID(in.OrgToken); o == nil || !slices.Contains(o.members, email) {
			return nil, forbidden("the user is not a member of that organization")
		}
	}
	jwt, err := s.signIn(o, email)
	if err != nil {
		return nil, err
	}
	u := s.st.users[email]
	return sessionInfo{
		CorrelationID: newUUID(), UserUUID: u.uuid, UserName: u.name, Email: u.email,
		RefreshToken: s.newRefresh(email), JWTToken: jwt, OrgName: o.name, OrgUUID: o.uuid,
	}, nil
}

// sessionInfo is the v2.0 login's answer, SessionInfo in the OpenAPI
// document, every field of it.
type sessionInfo struct {
	CorrelationID string `json:"correlationId"`
	UserUUID      string `json:"userUuid"`
	UserName      string `json:"userName"`
	Email         string `json:"email"`
	RefreshToken  string `json:"refreshToken"`
	JWTToken      string `json:"jwtToken"`
	OrgName       string `json:"orgName"`
	OrgUUID       string `json:"orgUuid"`
}

// lastOrg is the organization the user last signed in to: at first, the
// one the simulator starts with.
func (s *Simulator) lastOrg(email string) *org {
	if o := s.st.orgs[s.st.lastOrg[email]]; o != nil {
		return o
	}
	return s.st.orgs[s.cfg.OrgToken]
}

// newRefresh stores and returns a new refresh token of the user email,
// which the v3.0 access-token call takes.
func (s *Simulator) newRefresh(email string) string {
	refresh := newToken()
	s.st.refresh[refresh] = email
	return refresh
}

// signIn issues a JWT of organization o to the user email, and makes o
// the user's last organization.
func (s *Simulator) signIn(o *org, email string) (string, error) {
	jwt, err := s.issueJWT(o, email)
	if err != nil {
		return "", err
	}
	s.st.lastOrg[email] = o.token
	return jwt, nil
}

// loginResponse is the v3.0 login's answer, LoginResponseDTO.
type loginResponse struct {
	UserUUID            string `json:"userUuid"`
	UserName            string `json:"userName"`
	Email               string `json:"email"`
	RefreshToken        string `json:"refreshToken"`
	JWTTTL              int64  `json:"jwtTTL"`
	SystemAccess        bool   `json:"systemAccess"`
	ServiceSystemAccess bool   `json:"serviceSystemAccess"`
	SessionStartTime    int64  `json:"sessionStartTime"`
}

func (s *Simulator) loginV3(c *restCall) (any, error) {
	var in struct {
		Email   string `json:"email"`
		UserKey string `json:"userKey"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.Email == "" || in.UserKey == "" {
		return nil, badRequest("email and userKey are required")
	}
	if !s.credentialsOK(in.Email, in.UserKey) {
		return nil, forbidden("invalid credentials")
	}
	u := s.st.users[strings.ToLower(in.Email)]
	return loginResponse{
		UserUUID: u.uuid, UserName: u.name, Email: u.email,
		RefreshToken: s.newRefresh(u.email), JWTTTL: s.jwtTTLMillis(), SessionStartTime: s.now().UnixMilli(),
	}, nil
}

// accessTokenResponse is the v3.0 access token's answer,
// AccessTokenResponseDTO.
type accessTokenResponse struct {
	UserUUID            string `json:"userUuid"`
	Username            string `json:"username"`
	Email               string `json:"email"`
	JWTToken            string `json:"jwtToken"`
	TokenType           string `json:"tokenType"`
	OrgName             string `json:"orgName"`
	OrgUUID             string `json:"orgUuid"`
	TokenTTL            int64  `json:"tokenTTL"`
	SystemAccess        bool   `json:"systemAccess"`
	ServiceSystemAccess bool   `json:"serviceSystemAccess"`
	SessionStartTime    int64  `json:"sessionStartTime"`
}

// accessToken answers a JWT for the organization whose UUID the query
// parameter orgUuid holds, as the OpenAPI document has it. An
// organization named any other way (in the body, by its API key, or not
// at all) is not seen: the token is for the user's last organization, as
// the login's description says of an organization omitted. The body, if
// any, is the previous access token, which changes nothing here.
func (s *Simulator) accessToken(c *restCall) (any, error) {
	email, ok := s.st.refresh[c.r.Header.Get("wss-refresh-token")]
	if !ok {
		return nil, forbidden("invalid refresh token")
	}
	if len(c.body) > 0 {
		var in struct {
			AccessToken string `json:"accessToken"`
		}
		if err := c.decode(&in); err != nil {
			return nil, err
		}
	}
	o := s.lastOrg(email)
	if id := c.r.URL.Query().Get("orgUuid"); id != "" {
		if named := s.orgByUUID(id); named != nil {
			if !slices.Contains(named.members, email) {
				return nil, forbidden("the user is not a member of that organization")
			}
			o = named
		}
	}
	jwt, err := s.signIn(o, email)
	if err != nil {
		return nil, err
	}
	u := s.st.users[email]
	return accessTokenResponse{
		UserUUID: u.uuid, Username: u.name, Email: u.email, JWTToken: jwt, TokenType: "Bearer",
		OrgName: o.name, OrgUUID: o.uuid, TokenTTL: s.jwtTTLMillis(), SessionStartTime: s.now().UnixMilli(),
	}, nil
}

// orgByUUID finds an organization by its UUID.
func (s *Simulator) orgByUUID(id string) *org {
	for _, o := range s.st.orgs {
		if o.uuid == id {
			return o
		}
	}
	return nil
}
