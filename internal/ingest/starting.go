package ingest

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// startingHandler is ingest's endpoints while it sets itself up: it answers
// every request 503 with Retry-After until serve hands it the handler that
// stores events, and passes every request on to that handler after.
type startingHandler struct {
	retryAfter time.Duration
	refused    prometheus.Counter // the requests answered 503
	h          atomic.Pointer[http.Handler]
}

func (s *startingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := s.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	s.refused.Inc()
	errUnavailable("ingest is starting: it takes no events before its NATS connection and JetStream streams are set up; send again after Retry-After",
		s.retryAfter).write(w)
}

// serve makes h answer every request from now on.
func (s *startingHandler) serve(h http.Handler) { s.h.Store(&h) }
