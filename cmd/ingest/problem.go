package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
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
