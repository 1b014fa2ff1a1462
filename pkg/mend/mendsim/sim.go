// Package mendsim is a stateful simulator of the Mend API for tests, demos
// and local runs. It answers the v1.4 request types and the v2.0/v3.0 REST
// endpoints that package mend calls, with the shapes of Mend's pages, and
// fails as Mend does: errorCode bodies, name conflicts, and on v2.0/v3.0
// the refusals Mend's OpenAPI documents list, 400 and 403 (an expired JWT).
// Faults (latency, 429, 5xx, dropped connections, sporadic errorCode 3000)
// can be injected per request type, and every call is recorded.
//
// In a test, start one with NewServer; cmd/mendsim serves one over HTTP.
// Administrative endpoints under /_mendsim/ read the call record, set faults,
// register plugin requests and dump the state; see Handler.
package mendsim

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Config sets the credentials the simulator accepts, the organization it
// starts with, and how its asynchronous work advances.
type Config struct {
	// UserKey, UserEmail and OrgToken are the credentials it accepts and the
	// token of the demo organization it starts with.
	UserKey   string
	UserEmail string
	OrgToken  string
	OrgName   string
	// ExtraOrgTokens are the tokens of further organizations, empty, that
	// the same user administers: a deployment serving several (the
	// budget per organization) can be tried on one simulator.
	ExtraOrgTokens []string

	// JWTLifetime is how long a JWT from the login stays valid.
	JWTLifetime time.Duration

	// ProcessDuration is how long an asynchronous process (applying
	// policies) stays PENDING and then IN_PROGRESS before it ends; it ends
	// sooner if ProcessPolls status polls have seen it (0: no poll limit).
	ProcessDuration time.Duration
	ProcessPolls    int

	// RequestDuration and RequestPolls do the same for plugin requests,
	// which go IN_PROGRESS, UPDATED, then their final state.
	RequestDuration time.Duration
	RequestPolls    int

	// Now is the simulator's clock; time.Now when nil.
	Now func() time.Time
}

// Defaults of Config, also used by cmd/mendsim.
const (
	DefaultUserKey   = "8a1f2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
	DefaultUserEmail = "admin@example.com"
	DefaultOrgToken  = "0d6f8e2a-5c4b-4a3e-9f1d-7b2c6e8a4f10"
	DefaultOrgName   = "Demo Organization"
)

func (c Config) withDefaults() Config {
	if c.UserKey == "" {
		c.UserKey = DefaultUserKey
	}
	if c.UserEmail == "" {
		c.UserEmail = DefaultUserEmail
	}
	if c.OrgToken == "" {
		c.OrgToken = DefaultOrgToken
	}
	if c.OrgName == "" {
		c.OrgName = DefaultOrgName
	}
	if c.JWTLifetime <= 0 {
		c.JWTLifetime = 30 * time.Minute
	}
	if c.ProcessDuration <= 0 {
		c.ProcessDuration = 3 * time.Second
	}
	if c.RequestDuration <= 0 {
		c.RequestDuration = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Simulator is an in-memory Mend. It is an http.Handler; it is safe for
// concurrent use.
type Simulator struct {
	cfg    Config
	jwtKey []byte
	mux    *http.ServeMux
	v1     map[string]v1Handler
	faults faultSet
	calls  callLog
	// afterJWT, when set, runs once a REST call's JWT is verified and before
	// the call takes the mutex: tests use it to come between the two.
	afterJWT func()
	// stopping is closed by Stop: calls waiting out an injected latency
	// give up.
	stopping chan struct{}
	stopOnce sync.Once

	mu sync.Mutex
	st *state
}

// New returns a simulator holding the demo organization.
func New(cfg Config) *Simulator {
	s := &Simulator{cfg: cfg.withDefaults(), jwtKey: []byte(newToken()), stopping: make(chan struct{})}
	s.st = s.seed()
	s.v1 = s.v1Handlers()
	s.mux = s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Reset forgets all state, faults and calls, and seeds the demo
// organization again.
func (s *Simulator) Reset() {
	s.mu.Lock()
	s.st = s.seed()
	s.mu.Unlock()
	s.faults.clear()
	s.calls.reset()
}

func (s *Simulator) now() time.Time { return s.cfg.Now() }

// OrgToken returns the token of the demo organization.
func (s *Simulator) OrgToken() string { return s.cfg.OrgToken }

// UserEmail returns the e-mail address the logins accept.
func (s *Simulator) UserEmail() string { return s.cfg.UserEmail }

// Stop makes the calls that wait out an injected latency give up without
// an answer, and without carrying out what they ask: call it before
// shutting down the server that serves the simulator, which waits for its
// calls. It is safe to call more than once.
func (s *Simulator) Stop() { s.stopOnce.Do(func() { close(s.stopping) }) }

// Server is a simulator listening on a loopback port, like httptest.Server.
type Server struct {
	*Simulator
	// URL is the base URL for both the v1.4 and the v2.0 API, such as
	// http://127.0.0.1:51234.
	URL string
	srv *httptest.Server
}

// NewServer starts a simulator on a loopback port, behind the middleware
// given, if any, the first outermost: a test checks every answer that way.
// Close it when done.
func NewServer(cfg Config, middleware ...func(http.Handler) http.Handler) *Server {
	sim := New(cfg)
	var h http.Handler = sim
	for i := len(middleware) - 1; i >= 0; i-- {
		h = middleware[i](h)
	}
	srv := httptest.NewServer(h)
	return &Server{Simulator: sim, URL: srv.URL, srv: srv}
}

// Close shuts the server down, cutting connections that are still open
// and abandoning the calls that wait out a latency.
func (s *Server) Close() {
	s.Stop()
	s.srv.CloseClientConnections()
	s.srv.Close()
}
