package ingest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// problemTypeBase prefixes the type URI of every problem; README.md
// ("Ingest", "Errors") lists them.
const problemTypeBase = "urn:mendflow:problem:"

// problem is an RFC 9457 problem details object, the body of every 4xx and
// 5xx answer.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Errors lists what is wrong with each event of a request.
	Errors []eventError `json:"errors,omitempty"`

	retryAfter time.Duration
	header     http.Header
}

// eventError is one thing wrong with one event of a request.
type eventError struct {
	Index  int    `json:"index"`
	ID     string `json:"id,omitempty"`
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail"`
}

// Bounds of excerpt: a piece of a request quoted in an answer or a log
// line (an id, a header, a type, a field's value), and the whole text of
// an error from another package, which may quote such pieces itself.
const (
	quoteLimit   = 128
	messageLimit = 1024
)

// excerpt is s as ingest quotes it in an answer or a log line: whole when
// it is at most limit bytes long, else its first bytes up to limit, cut at
// a character boundary, and how long it was. An answer or a log line then
// stays small whatever a request holds.
func excerpt(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cut], len(s))
}

func newProblem(status int, slug, title, detail string) *problem {
	return &problem{Type: problemTypeBase + slug, Title: title, Status: status, Detail: detail}
}

func (p *problem) write(w http.ResponseWriter) {
	for k, v := range p.header {
		w.Header()[k] = v
	}
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(p.retryAfter.Round(time.Second)/time.Second)))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p) // the client is gone if this fails
}

func errUnauthorized(detail string, header http.Header) *problem {
	p := newProblem(http.StatusUnauthorized, "unauthorized", "Missing or wrong credentials", detail)
	p.header = header
	return p
}

func errNotFound(detail string) *problem {
	return newProblem(http.StatusNotFound, "not-found", "Not found", detail)
}

func errUnsupportedMediaType(detail string) *problem {
	return newProblem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported content type", detail)
}

func errMalformed(detail string) *problem {
	return newProblem(http.StatusBadRequest, "malformed-request", "Malformed request", detail)
}

func errUnavailable(detail string, retryAfter time.Duration) *problem {
	p := newProblem(http.StatusServiceUnavailable, "unavailable", "JetStream cannot take the events now", detail)
	p.retryAfter = retryAfter
	return p
}
