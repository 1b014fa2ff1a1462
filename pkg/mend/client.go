package mend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mendflow/mendflow/internal/redact"
)

const (
	defaultTimeout     = 60 * time.Second
	defaultLongTimeout = 15 * time.Minute
	defaultUserAgent   = "mendflow"
	defaultMaxBodySize = 256 << 20 // inventories of large projects run to tens of MiB
	errorExcerptSize   = 512
	v1Path             = "/api/v1.4" // the v1.4 API's one URL, under the Mend URL
)

// Client is a client of the Mend API: the v1.4 single-URL API on the Mend
// host and the v2.0 REST API on the API host. The services hanging off it
// group the calls by the area of the API they touch. A Client is safe for
// concurrent use.
type Client struct {
	httpClient  *http.Client
	v1URL       string
	apiURL      string
	userKey     Secret
	email       string
	userAgent   string
	timeout     time.Duration
	longTimeout time.Duration
	maxBodySize int64
	logger      *slog.Logger
	retry       RetryPolicy
	limiter     Limiter
	auth        *authenticator

	// Products covers product creation, deletion, tags and vitals.
	Products *ProductsService
	// Projects covers projects, their tags, vitals, inventory and state.
	Projects *ProjectsService
	// Organizations covers organization details, In-House libraries,
	// pending tasks, notification settings and plugin request states.
	Organizations *OrganizationsService
	// GlobalOrganizations covers global organizations.
	GlobalOrganizations *GlobalOrganizationsService
	// Policies covers policies at all four levels and their application.
	Policies *PoliciesService
	// Groups covers user groups, their users and roles (v2.0).
	Groups *GroupsService
}

type service struct{ client *Client }

// Option configures a Client.
type Option func(*Client) error

// WithAPIURL sets the host of the v2.0 and v3.0 REST API, such as
// https://api-saas.mend.io. It defaults to DeriveAPIURL of the Mend URL
// given to NewClient.
func WithAPIURL(apiURL string) Option {
	return func(c *Client) error {
		u, err := baseURL(apiURL)
		if err != nil {
			return fmt.Errorf("API URL: %w", err)
		}
		c.apiURL = u
		return nil
	}
}

// WithUserEmail sets the e-mail address that the JWT login of the v2.0 API
// needs along with the user key.
func WithUserEmail(email string) Option {
	return func(c *Client) error { c.email = email; return nil }
}

// WithHTTPClient sets the HTTP client. Its Timeout should be zero: the Client
// bounds each attempt itself (see WithTimeout).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("nil HTTP client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithTimeout bounds each attempt of a request, body included, but for
// the long operations (see WithLongTimeout); the default is one minute.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return errors.New("timeout must be positive")
		}
		c.timeout = d
		return nil
	}
}

// WithLongTimeout bounds each attempt of the operations that may take
// minutes: deletes, moving a project, whole inventories and
// organization-wide lists (the long rows of the operation table). The
// default is 15 minutes, within what public clients wait.
func WithLongTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return errors.New("long timeout must be positive")
		}
		c.longTimeout = d
		return nil
	}
}

// WithLogger sets where the client reports what it could not read of the
// answer to a change that Mend made. The default discards it.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		if l == nil {
			return errors.New("nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithRetry sets how transient failures are retried within one call.
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) error { c.retry = p; return nil }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error { c.userAgent = ua; return nil }
}

// WithLoginV3 makes the client log in with the two-step v3.0 login
// (refresh token, then access token) instead of the v2.0 login.
func WithLoginV3() Option {
	return func(c *Client) error { c.auth.v3 = true; return nil }
}

// WithMaxBodySize bounds the size of a response body the client reads.
func WithMaxBodySize(n int64) Option {
	return func(c *Client) error {
		if n <= 0 {
			return errors.New("max body size must be positive")
		}
		c.maxBodySize = n
		return nil
	}
}

// NewClient returns a client of the Mend instance at mendURL (such as
// https://saas.mend.io) acting with userKey.
func NewClient(mendURL string, userKey Secret, opts ...Option) (*Client, error) {
	u, err := baseURL(mendURL)
	if err != nil {
		return nil, fmt.Errorf("mend: Mend URL: %w", err)
	}
	if userKey == "" {
		return nil, errors.New("mend: user key is required")
	}
	c := &Client{
		httpClient:  &http.Client{},
		v1URL:       u + v1Path,
		apiURL:      DeriveAPIURL(u),
		userKey:     userKey,
		userAgent:   defaultUserAgent,
		timeout:     defaultTimeout,
		longTimeout: defaultLongTimeout,
		maxBodySize: defaultMaxBodySize,
		retry:       DefaultRetryPolicy(),
		logger:      slog.New(slog.DiscardHandler),
	}
	c.auth = newAuthenticator(c)
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, fmt.Errorf("mend: %w", err)
		}
	}
	s := service{client: c}
	c.Products = (*ProductsService)(&s)
	c.Projects = (*ProjectsService)(&s)
	c.Organizations = (*OrganizationsService)(&s)
	c.GlobalOrganizations = (*GlobalOrganizationsService)(&s)
	c.Policies = (*PoliciesService)(&s)
	c.Groups = (*GroupsService)(&s)
	return c, nil
}

// String describes the client without its credentials. Its receiver is a
// value so that a Client value prints this way too: fmt cannot reach the
// redacting methods of unexported fields, and would print the user key.
func (c Client) String() string {
	return fmt.Sprintf("mend.Client{url: %s, apiURL: %s, userKey: %s}", c.v1URL, c.apiURL, c.userKey)
}

// Format prints String for every verb, on a Client or a *Client. Without
// it, verbs that skip String (%d, %x) would print the unexported fields, the
// user key among them, by reflection.
func (c Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// URL returns the host of the v1.4 API, such as https://saas.mend.io;
// requests go to URL()+"/api/v1.4".
func (c *Client) URL() string { return strings.TrimSuffix(c.v1URL, v1Path) }

// APIURL returns the host of the v2.0 and v3.0 REST API, such as
// https://api-saas.mend.io.
func (c *Client) APIURL() string { return c.apiURL }

// saasDomains are the domains of Mend's SaaS hosts, whose REST API host
// is the same name with "api-" before it.
var saasDomains = []string{".mend.io", ".whitesourcesoftware.com"}

// DeriveAPIURL returns the host of the v2.0/v3.0 REST API that goes with
// the v1.4 host mendURL, by Mend's convention: for Mend's SaaS hosts, the
// host name with "api-" before it (https://saas.mend.io gives
// https://api-saas.mend.io, https://app.whitesourcesoftware.com gives
// https://api-app.whitesourcesoftware.com); for any other host (an
// on-premise Mend, the simulator), mendURL itself. A URL that does not
// parse is returned as it is, for the caller's check to refuse.
func DeriveAPIURL(mendURL string) string {
	u, err := url.Parse(mendURL)
	if err != nil || u.Host == "" {
		return mendURL
	}
	host := strings.ToLower(u.Hostname())
	saas := false
	for _, d := range saasDomains {
		saas = saas || strings.HasSuffix(host, d)
	}
	if !saas || strings.HasPrefix(host, "api-") {
		return mendURL
	}
	u.Host = "api-" + u.Host
	return u.String()
}

func baseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL with a host", raw)
	}
	if u.User != nil {
		return "", errors.New("credentials do not belong in the URL")
	}
	u.RawQuery, u.Fragment = "", ""
	return strings.TrimSuffix(u.String(), "/"), nil
}

// Response is the last HTTP response of a call, with what the API said about
// it beyond the data.
type Response struct {
	*http.Response
	// Attempts is how many times the request was sent.
	Attempts int
	// SupportToken identifies a v2.0 request to Mend support.
	SupportToken string
	// TotalItems and IsLastPage describe a page of a v2.0 list.
	TotalItems int
	IsLastPage bool
	// Confirmed is set when an attempt of a change timed out and a lookup
	// then found the change made (a delete Mend finished after the client
	// stopped waiting). There is no answer then: the embedded
	// *http.Response is nil, and so is the decoded value's content.
	Confirmed bool
}

// request is one HTTP exchange that the retry loop may repeat.
type request struct {
	op     string // request type or REST operation, for errors
	method string
	url    string
	body   []byte
	header http.Header
	// secrets are the credentials in header (a JWT, a refresh token), for
	// the redactor; it knows the user key and the tokens held without them.
	secrets []Secret
	// done, when set, looks whether the change the request asks for is
	// made: after an attempt that timed out, the client asks it before it
	// sends the request again, and stops if it is.
	done func(ctx context.Context) (bool, error)
}

// send performs req with the retry policy, the rate limiter and the
// per-attempt timeout of its operation, and hands a successful body to
// decode. An operation sent once gets one attempt. A change whose attempt
// timed out is looked up with req.done, where there is one, before it is
// sent again or the call ends: found made, it ends the call in success.
func (c *Client) send(ctx context.Context, req request, decode func(resp *Response, body []byte) error) (*Response, error) {
	op := operations[req.op]
	var last *Response
	attempts := 0
	policy := c.retry
	if op.once {
		policy.MaxAttempts = 1
	}
	err := policy.run(ctx, func() error {
		attempts++
		call := Call{Operation: req.op, Attempt: attempts, Org: OrgOf(ctx), Class: ClassOf(ctx)}
		began := time.Now() // the wait for the limiter included
		resp, err := c.attempt(withCall(ctx, call), call, req, op, decode)
		observeAttempt(ctx, req.op, attempts, resp, err, time.Since(began))
		if resp != nil {
			last = resp
		}
		if req.done != nil && op.mutates && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			// Mend may have finished after the client stopped waiting.
			// If the look fails or finds it not made, sending it again
			// is safe: no operation with a look makes a change twice.
			if done, lerr := req.done(ctx); lerr == nil && done {
				last = &Response{Confirmed: true}
				return nil
			}
		}
		return err
	})
	if last != nil {
		last.Attempts = attempts
	}
	return last, err
}

// attempt sends req once. Every error it returns, whatever made it, passes
// through the exchange's redactor: this is where the client makes sure
// that no error of its shows a secret.
func (c *Client) attempt(ctx context.Context, call Call, req request, op operation, decode func(*Response, []byte) error) (_ *Response, err error) {
	red := &redactor{c: c, sent: req.secrets}
	defer func() { err = red.error(err) }()
	if c.limiter != nil {
		done, lerr := c.limiter.Acquire(ctx, call)
		if lerr != nil {
			return nil, fmt.Errorf("mend %s: %w", req.op, lerr)
		}
		// The limiter hears how the attempt went: a Retry-After or a run
		// of failures holds back every process's calls to the org.
		defer func() {
			if held := done(outcomeOf(err)); held != nil && err != nil {
				held.Err = err
				err = held
			}
		}()
	}
	timeout := c.timeout
	if op.long {
		timeout = c.longTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil {
		return nil, fmt.Errorf("mend %s: %w", req.op, err)
	}
	for k, vs := range req.header {
		hreq.Header[k] = vs
	}
	if req.body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.userAgent)

	hresp, err := c.httpClient.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("mend %s: %w", req.op, redact.Error(err))
	}
	defer hresp.Body.Close()
	resp := &Response{Response: hresp}

	data, err := io.ReadAll(io.LimitReader(hresp.Body, c.maxBodySize+1))
	if err != nil {
		return resp, fmt.Errorf("mend %s: reading response: %w", req.op, err)
	}
	if int64(len(data)) > c.maxBodySize {
		return resp, fmt.Errorf("mend %s: response larger than %d bytes", req.op, c.maxBodySize)
	}
	if hresp.StatusCode < 200 || hresp.StatusCode > 299 {
		return resp, &HTTPError{
			Operation:  req.op,
			Method:     req.method,
			URL:        redact.URL(hreq.URL.String()),
			StatusCode: hresp.StatusCode,
			Message:    errorMessage(data, red.text),
			RetryAfter: parseRetryAfter(hresp.Header.Get("Retry-After"), time.Now()),
		}
	}
	return resp, decode(resp, data)
}

// outcomeOf is how an attempt that returned err went, for the Limiter: an
// error answer with its status, no answer with why, or a success (an
// answer Mend sent, even one that did not decode).
func outcomeOf(err error) Outcome {
	var h *HTTPError
	switch {
	case err == nil:
		return Outcome{Status: http.StatusOK}
	case errors.As(err, &h):
		return Outcome{Status: h.StatusCode, RetryAfter: h.RetryAfter}
	case errors.As(err, new(*DecodeError)), errors.As(err, new(*APIError)):
		return Outcome{Status: http.StatusOK}
	}
	return Outcome{Err: err}
}

// Call is the Mend call an HTTP request is an attempt of. A RoundTripper
// given with WithHTTPClient finds it with CallOf(req.Context()), to label
// what it measures by operation rather than by URL, which for the v1.4 API
// is one for all.
type Call struct {
	// Operation is the v1.4 request type (createProject) or the name of
	// the REST operation (login, applyProjectPolicies).
	Operation string
	// Attempt counts the attempts of the call, 1 for the first.
	Attempt int
	// Org is the organization the call acts on, where known (see
	// WithOrg); a Limiter counts calls without one against its default.
	Org string
	// Class is the kind of work the call serves (see WithClass), for a
	// Limiter's fair share.
	Class string
}

type callKey struct{}

func withCall(ctx context.Context, c Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// CallOf is the Mend call that ctx, a request's context, belongs to.
func CallOf(ctx context.Context) (Call, bool) {
	c, ok := ctx.Value(callKey{}).(Call)
	return c, ok
}

// envelopeMessage is the message of an error answer of the REST API, under
// its envelope's key.
type envelopeMessage struct {
	Message      string `json:"message"`
	ErrorMessage string `json:"errorMessage"`
}

// errorMessage pulls a message out of an error body, or an excerpt of it.
// An excerpt is cleaned by clean before it is cut: cut first, a secret cut
// in two would no longer be found, and half of it would remain. The rest
// of the error, the message among it, is cleaned once it is made.
func errorMessage(body []byte, clean func(string) string) string {
	var shape struct {
		Message      string `json:"message"`
		ErrorMessage string `json:"errorMessage"`
		// v2.0 wraps its answers in retVal, v3.0 in response.
		RetVal   envelopeMessage `json:"retVal"`
		Response envelopeMessage `json:"response"`
	}
	if json.Unmarshal(body, &shape) == nil {
		for _, m := range []string{
			shape.RetVal.ErrorMessage, shape.RetVal.Message, shape.Response.ErrorMessage, shape.Response.Message,
			shape.ErrorMessage, shape.Message,
		} {
			if m != "" {
				return m
			}
		}
	}
	s := clean(strings.TrimSpace(string(body)))
	if len(s) > errorExcerptSize {
		// Cut at a byte count, but not through a character.
		s = strings.ToValidUTF8(s[:errorExcerptSize], "") + "…"
	}
	return s
}
