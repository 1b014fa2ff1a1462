package mend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Error codes that Mend answers in a v1.4 errorCode body. The pages do not list
// them; these are the ones seen in public clients.
const (
	CodeInvalidProductToken  = 1003
	CodeInvalidProjectToken  = 1004
	CodeProductNameTaken     = 2001
	CodeUserNotInOrg         = 2007
	CodeGroupNotFound        = 2008
	CodeProjectNameTaken     = 2010
	CodeUserNotFound         = 2011
	CodeInactiveOrganization = 2015
	CodeInvalidOptionValue   = 2021
	CodeInvalidParameters    = 3000
	CodeMissingFields        = 3010
	CodeUnexpected           = 4000
	CodeNotAllowed           = 5001
	CodeInvalidKeyUUID       = 8000
)

// APIError is a v1.4 answer of the form {"errorCode": N, "errorMessage": "..."},
// which Mend usually sends with HTTP 200.
type APIError struct {
	RequestType string
	Code        int
	Message     string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("mend %s: error %d: %s", e.RequestType, e.Code, e.Message)
}

// HTTPError is an answer with a status outside 2xx.
type HTTPError struct {
	// Operation is the v1.4 request type (createProject) or the name of
	// the REST operation (asyncProcessStatus) that got the answer.
	Operation  string
	Method     string
	URL        string // without query or credentials
	StatusCode int
	// Message is what Mend said, when the body held a message; otherwise a
	// short excerpt of the body.
	Message string
	// RetryAfter is the wait that a Retry-After header asked for, or zero.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("mend %s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Operation != "" {
		msg = fmt.Sprintf("mend %s: %s %s: %d %s", e.Operation, e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// fromV1 reports whether err is an HTTP answer of the v1.4 API, whose single
// URL ends in /api/v1.4.
func fromV1(err error) bool {
	var httpErr *HTTPError
	if !errors.As(err, &httpErr) {
		return false
	}
	u, perr := url.Parse(httpErr.URL)
	return perr == nil && strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), v1Path)
}

// DecodeError reports a body that could not be decoded into the expected shape.
type DecodeError struct {
	Operation string
	Err       error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("mend %s: decoding response: %v", e.Operation, e.Err)
}
func (e *DecodeError) Unwrap() error { return e.Err }

// Class says whether a failed call may succeed when tried again.
type Class int

const (
	// Permanent failures fail again when retried: bad tokens, name conflicts,
	// missing permissions, malformed requests.
	Permanent Class = iota
	// Transient failures may pass later: the rows of the retry table
	// (ops.go), such as rate limits, gateway errors, network errors,
	// timeouts and Mend's sporadic error 3000.
	Transient
)

func (c Class) String() string {
	if c == Transient {
		return "transient"
	}
	return "permanent"
}

// Classify decides, in one place for all of mendflow, whether err is worth
// retrying: it is when a row of the retry table (ops.go) matches it.
// Errors no row matches are permanent, so that an unknown failure stops
// rather than loops.
func Classify(err error) Class {
	if err == nil || errors.Is(err, context.Canceled) {
		// A cancelled call: the caller gave up, and retrying would
		// override that decision.
		return Permanent
	}
	for _, row := range retryTable {
		if row.match(err) {
			return Transient
		}
	}
	var red *redactedError
	if errors.As(err, &red) {
		// It hides the error it redacted from errors.As, and with it a
		// net.Error that would have made it transient.
		return red.class
	}
	return Permanent
}

// IsTransient reports whether err is worth retrying; see Classify.
func IsTransient(err error) bool { return Classify(err) == Transient }

// RetryAfter returns the wait Mend asked for with a Retry-After header, if
// any, or the wait of an *UnavailableError.
func RetryAfter(err error) (time.Duration, bool) {
	var httpErr *HTTPError
	if errors.As(err, &httpErr) && httpErr.RetryAfter > 0 {
		return httpErr.RetryAfter, true
	}
	var u *UnavailableError
	if errors.As(err, &u) && u.Wait > 0 {
		return u.Wait, true
	}
	return 0, false
}

// IsCode reports whether err is a v1.4 API error with one of the given codes.
func IsCode(err error, codes ...int) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	for _, c := range codes {
		if apiErr.Code == c {
			return true
		}
	}
	return false
}

// IsStatus reports whether err is an HTTP answer with that status.
func IsStatus(err error, status int) bool {
	var httpErr *HTTPError
	return errors.As(err, &httpErr) && httpErr.StatusCode == status
}

// IsNameTaken reports whether err says a product, project or group of that
// name already exists: errorCode 2001 or 2010 on v1.4; on v2.0, where the
// OpenAPI document gives createGroup no 409, a 409 or a 400 answer to
// createGroup, whose one constraint is a name unique in the organization.
func IsNameTaken(err error) bool {
	if IsCode(err, CodeProductNameTaken, CodeProjectNameTaken) || IsStatus(err, http.StatusConflict) {
		return true
	}
	var h *HTTPError
	return errors.As(err, &h) && h.StatusCode == http.StatusBadRequest && h.Operation == opCreateGroup
}

// IsNotFound reports whether err says the product, project, group or
// process named by the request does not exist, or is out of the key's
// sight, which for a caller comes to the same. The v1.4 API says so with
// errorCode 1003, 1004 or 2008 in an HTTP 200 answer, and with 5001 to a
// request naming a product or project by token; a 404 from its URL means
// that the URL is wrong (a bad Mend URL, a proxy), not that the entity is
// missing, and does not count. The v2.0 API documents 200, 400 and 403
// only: a 400 or 403 answer to a call whose one input is the path naming
// the entity counts, and so does a 404, should Mend send one.
func IsNotFound(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		switch apiErr.Code {
		case CodeInvalidProductToken, CodeInvalidProjectToken, CodeGroupNotFound:
			return true
		case CodeNotAllowed:
			return operations[apiErr.RequestType].names != ""
		}
		return false
	}
	var h *HTTPError
	if !errors.As(err, &h) || fromV1(err) {
		return false
	}
	switch h.StatusCode {
	case http.StatusNotFound:
		return true
	case http.StatusBadRequest, http.StatusForbidden:
		return operations[h.Operation].names != ""
	}
	return false
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
