package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mendflow/mendflow/internal/trail"
)

// tracePath is the route of GET /events/{id}/trace, as the metrics and
// span names label it.
const tracePath = "/events/{id}/trace"

// traceID is the id of a request for /events/{id}/trace, unescaped (an
// id may hold a slash, sent as %2F), and whether the path is one.
func traceID(r *http.Request) (string, bool) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/events/")
	if !ok {
		return "", false
	}
	rest, ok = strings.CutSuffix(rest, "/trace")
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return "", false
	}
	id, err := url.PathUnescape(rest)
	return id, err == nil && id != ""
}

// getTrace answers GET /events/{id}/trace: the chain of the incoming event
// id (trail.Build), as mendflowctl trace -json prints it. It needs the
// bearer token as POST /events does.
func (s *server) getTrace(w http.ResponseWriter, r *http.Request) {
	if s.cfg.AuthToken != "" {
		if p := checkBearer(r.Header.Get("Authorization"), s.cfg.AuthToken); p != nil {
			p.write(w)
			return
		}
	}
	id, _ := traceID(r) // the route checked it
	t, err := trail.Build(r.Context(), s.trails, id)
	switch {
	case errors.Is(err, trail.ErrUnknown):
		errNotFound(fmt.Sprintf("nothing is known of the event %q: no command of it is queued or recorded", excerpt(id, quoteLimit))).write(w)
		return
	case err != nil:
		s.logger.WarnContext(r.Context(), "reading a trace failed", "error", err)
		errUnavailable(fmt.Sprintf("the trace cannot be read from JetStream now: %v", err), s.cfg.RetryAfter).write(w)
		return
	}
	w.Header()["Content-Type"] = contentTypeJSON
	_ = json.NewEncoder(w).Encode(t)
}
