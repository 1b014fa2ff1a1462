package mendsim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// restRoute is one v2.0 or v3.0 endpoint.
type restRoute struct {
	pattern string // http.ServeMux pattern, method included
	op      string // name in the call record and for faults
	// key holds the answer in the envelope: "retVal" for v2.0, "response"
	// for v3.0.
	key    string
	public bool // no JWT needed (the logins)
	h      restHandler
}

// restHandler answers a REST call. It runs with the simulator's mutex held
// and returns the value of retVal, or a *statusError.
type restHandler func(c *restCall) (any, error)

// restCall is a REST request being handled.
type restCall struct {
	r     *http.Request
	body  []byte
	org   *org   // the organization of the JWT
	email string // the user of the JWT
	// page, when a list handler sets it, becomes additionalData.
	page *pageInfo
}

type pageInfo struct {
	totalItems int
	isLastPage bool
}

// statusError is a REST failure answered with an HTTP status: 400 or 403,
// the only refusals the OpenAPI documents list, with a DWRResponseBase
// body (supportToken), to which the simulator adds the message under the
// envelope's key.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// badRequest refuses a request that is malformed, or that names what does
// not exist (the documents give no 404), or that conflicts with what is
// there (no 409 either).
func badRequest(msg string) error { return &statusError{status: http.StatusBadRequest, msg: msg} }

// forbidden refuses a request whose user may not do it or see what it
// names: wrong credentials, a JWT that is missing, invalid, expired or for
// another organization, an entity of another organization.
func forbidden(msg string) error { return &statusError{status: http.StatusForbidden, msg: msg} }

// decode reads the JSON body into v.
func (c *restCall) decode(v any) error {
	if len(c.body) == 0 {
		return badRequest("request body is required")
	}
	if err := unmarshalExact(c.body, v); err != nil {
		return badRequest("invalid request body: " + err.Error())
	}
	return nil
}

func (s *Simulator) restRoutes() []restRoute {
	var all []restRoute
	all = append(all, s.loginRoutes()...)
	all = append(all, s.entityRoutes()...)
	all = append(all, s.processRoutes()...)
	all = append(all, s.groupRoutes()...)
	return all
}

func (s *Simulator) rest(rt restRoute) http.Handler {
	api := "v2.0"
	if strings.Contains(rt.pattern, " /api/v3.0") {
		api = "v3.0"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := s.begin(w, r, api, rt.op)
		defer x.finish()
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		if err != nil || len(body) > maxRequestBody {
			x.writeRESTError(rt.key, badRequest("request body too large or unreadable"))
			return
		}
		x.body = body
		x.call.Request = withoutSecrets(body)
		if x.fault() {
			return
		}
		c := &restCall{r: r, body: body}
		var claims *jwtClaims
		if !rt.public {
			if claims, err = s.verifyJWT(r); err != nil {
				x.writeRESTError(rt.key, err)
				return
			}
			if s.afterJWT != nil {
				s.afterJWT()
			}
		}
		s.mu.Lock()
		out, err := s.handleREST(rt, c, claims)
		s.mu.Unlock()
		if err != nil {
			x.writeRESTError(rt.key, err)
			return
		}
		env := map[string]any{"supportToken": supportToken(), rt.key: out}
		if c.page != nil {
			env["additionalData"] = map[string]string{
				"totalItems": strconv.Itoa(c.page.totalItems),
				"isLastPage": strconv.FormatBool(c.page.isLastPage),
			}
		}
		x.writeJSON(http.StatusOK, env)
	})
}

func (x *exchange) writeRESTError(key string, err error) {
	status, msg := http.StatusInternalServerError, "unexpected error"
	var se *statusError
	if errors.As(err, &se) {
		status, msg = se.status, se.msg
	}
	x.writeJSON(status, map[string]any{"supportToken": supportToken(), key: map[string]string{"errorMessage": msg}})
}

// withoutSecrets drops the user key from a recorded JSON body, and hides
// the previous JWT that the v3.0 access token carries, keeping its key:
// the record shows that one was sent, not what it was.
func withoutSecrets(body []byte) json.RawMessage {
	if len(body) == 0 {
		return nil
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return nil
	}
	if _, ok := fields["accessToken"]; ok {
		fields["accessToken"] = json.RawMessage(`"[redacted]"`)
	}
	return withoutUserKey(fields)
}

// jwtClaims are the claims of the simulator's JWTs.
type jwtClaims struct {
	Org   string `json:"org"`
	Email string `json:"email"`
	jwt.RegisteredClaims
}

func (s *Simulator) issueJWT(o *org, email string) (string, error) {
	now := s.now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwtClaims{
		Org:   o.token,
		Email: email,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   email,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.JWTLifetime)),
			ID:        newUUID(),
		},
	})
	return tok.SignedString(s.jwtKey)
}

// handleREST runs the route's handler, with the mutex held. The
// organization of the JWT, if the route needs one, is looked up under the
// same lock, so that a Reset cannot come between the lookup and the
// handler.
func (s *Simulator) handleREST(rt restRoute, c *restCall, claims *jwtClaims) (any, error) {
	if claims != nil {
		if err := s.authorize(c, claims); err != nil {
			return nil, err
		}
	}
	return rt.h(c)
}

// verifyJWT checks the request's Bearer JWT and returns its claims. It
// needs no lock.
func (s *Simulator) verifyJWT(r *http.Request) (*jwtClaims, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return nil, forbidden("missing Bearer token")
	}
	var claims jwtClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return s.jwtKey, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(s.now))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, forbidden("JWT token expired")
	case err != nil:
		return nil, forbidden("invalid JWT token")
	}
	return &claims, nil
}

// authorize finds the organization of verified claims and checks that the
// path's organization, if any, is that one: a JWT is valid for one
// organization. It runs with the mutex held.
func (s *Simulator) authorize(c *restCall, claims *jwtClaims) error {
	o := s.st.orgs[claims.Org]
	if o == nil {
		return forbidden("invalid JWT token")
	}
	if p := c.r.PathValue("orgToken"); p != "" && p != o.token && p != o.uuid {
		return forbidden("the JWT is for another organization")
	}
	c.org, c.email = o, claims.Email
	return nil
}
