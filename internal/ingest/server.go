package ingest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/tidwall/gjson"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/routing"
	"github.com/mendflow/mendflow/internal/telemetry"
	"github.com/mendflow/mendflow/internal/trail"
	"github.com/mendflow/mendflow/pkg/events"
)

// server is the HTTP face of ingest. Its handlers share one path for every
// source of events: parse, route, build the commands, publish, answer.
type server struct {
	cfg    *Config
	router *routing.Router
	// pub stores the commands, within ingest's limits.
	pub *bus.Publisher
	// trails reads the traces of GET /events/{id}/trace.
	trails trail.Reader
	// bodies is what the bodies of the requests in flight may hold.
	bodies *bodyBudget
	// writes is whether JetStream took the last publish, for readiness.
	writes  *writeHealth
	metrics *metrics
	logger  *slog.Logger
	// tracer makes a span per request, continuing a traceparent header,
	// and one per event, continuing the event's traceparent extension.
	tracer trace.Tracer
	now    func() time.Time
}

// handler routes the requests. Methods are dispatched here rather than by
// ServeMux patterns so that a wrong method, too, gets a problem+json answer.
// GET /healthz, /readyz and /metrics are the app.Server's.
func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/events", s.methods(map[string]http.HandlerFunc{
		http.MethodPost:    s.postEvents,
		http.MethodOptions: s.handshake,
	}))
	mux.Handle("/webhooks/github", s.methods(map[string]http.HandlerFunc{http.MethodPost: s.github}))
	mux.Handle("/webhooks/gitlab", s.methods(map[string]http.HandlerFunc{http.MethodPost: s.gitlab}))
	traces := s.methods(map[string]http.HandlerFunc{http.MethodGet: s.getTrace})
	mux.HandleFunc("/events/", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := traceID(r); !ok {
			errNotFound(fmt.Sprintf("no endpoint %s", excerpt(r.URL.Path, quoteLimit))).write(w)
			return
		}
		traces.ServeHTTP(w, r)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		errNotFound(fmt.Sprintf("no endpoint %s", excerpt(r.URL.Path, quoteLimit))).write(w)
	})
	return s.instrument(mux)
}

// instrument gives every request a server span, continuing the trace of
// its traceparent header, and times it in the request duration histogram.
// It stands in for otelhttp's middleware, which costs several times more
// per request (semantic-convention attributes and metrics computed even when
// nothing records them, a wrapped writer): on ingest's path of every event,
// that was a tenth of the whole.
func (s *server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		path := pathLabel(r)
		ctx := traceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := s.tracer.Start(ctx, r.Method+" "+path, trace.WithSpanKind(trace.SpanKindServer))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(ctx))
		if span.IsRecording() {
			span.SetAttributes(
				attribute.String("http.request.method", r.Method),
				attribute.String("url.path", r.URL.Path),
				attribute.String("http.route", path),
				attribute.Int("http.response.status_code", rec.status),
			)
			if rec.status >= http.StatusInternalServerError {
				span.SetStatus(codes.Error, http.StatusText(rec.status))
			}
		}
		span.End()
		s.metrics.duration.WithLabelValues(path, strconv.Itoa(rec.status)).Observe(time.Since(start).Seconds())
	})
}

// traceContext reads the W3C traceparent and tracestate headers.
var traceContext propagation.TraceContext

func (s *server) methods(handlers map[string]http.HandlerFunc) http.Handler {
	allow := strings.Join(slices.Sorted(maps.Keys(handlers)), ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := handlers[r.Method]
		if !ok {
			p := newProblem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
				fmt.Sprintf("%s %s: allowed: %s", excerpt(r.Method, quoteLimit), excerpt(r.URL.Path, quoteLimit), allow))
			p.header = http.Header{"Allow": {allow}}
			p.write(w)
			return
		}
		h(w, r)
	})
}

func (s *server) postEvents(w http.ResponseWriter, r *http.Request) {
	if s.cfg.AuthToken != "" {
		if p := checkBearer(r.Header.Get("Authorization"), s.cfg.AuthToken); p != nil {
			s.refuse(w, p)
			return
		}
	}
	mode, p := modeOf(r.Header)
	if p != nil {
		s.refuse(w, p)
		return
	}
	body, held, p := readBody(r, s.cfg.MaxBodyBytes, s.bodies, s.cfg.RetryAfter)
	defer s.bodies.give(held)
	if p != nil {
		s.refuse(w, p)
		return
	}
	evs, p := parseEvents(mode, r.Header, body)
	if p != nil {
		s.refuse(w, p)
		return
	}
	s.accept(w, r, evs, nil, http.StatusAccepted)
}

// refuse answers a request whose events are refused before they are routed
// one by one (unauthorized, unreadable, too large, not events, a bad query),
// counting it as one invalid event, alike on every endpoint; or, answered
// 503 because the bodies in flight hold INGEST_MAX_INFLIGHT_BYTES, as one
// unavailable event and one request shed.
func (s *server) refuse(w http.ResponseWriter, p *problem) {
	if p.Status == http.StatusServiceUnavailable {
		s.metrics.shed.Inc()
		s.metrics.eventsUnavailable(1)
	} else {
		s.metrics.invalid(1)
	}
	p.write(w)
}

// checkBearer compares the bearer token in constant time; hashing first
// keeps the comparison from leaking the token's length too.
func checkBearer(authorization, token string) *problem {
	challenge := http.Header{"Www-Authenticate": {`Bearer realm="mendflow-ingest"`}}
	scheme, given, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return errUnauthorized("Authorization: Bearer <token> is required", challenge)
	}
	if !equalSecret(strings.TrimSpace(given), token) {
		return errUnauthorized("the bearer token is wrong", challenge)
	}
	return nil
}

func equalSecret(given, want string) bool {
	g, w := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// Statuses of an event in an answer.
const (
	statusQueued    = "queued"
	statusDuplicate = "duplicate"
	statusIgnored   = "ignored"
	statusPlanned   = "planned" // dry run: what would be queued
)

// answer is the body of a 202 (and of a dry run's 200).
type answer struct {
	DryRun bool          `json:"dryRun,omitempty"`
	Events []eventResult `json:"events"`
}

type eventResult struct {
	ID       string        `json:"id"`
	Source   string        `json:"source"`
	Type     string        `json:"type"`
	Status   string        `json:"status"`
	Commands []commandView `json:"commands,omitempty"`
}

// accept routes the events of one request, queues their commands and
// answers: okStatus once JetStream acknowledged every command, 400 when any
// event cannot be routed (nothing is queued), 503 when JetStream cannot take
// the commands. deliveries, when not nil, names each event's delivery for
// deduplication (see buildCommands); nil: each event's id.
func (s *server) accept(w http.ResponseWriter, r *http.Request, evs []event.Event, deliveries []string, okStatus int) {
	dryRun, err := parseDryRun(r)
	if err != nil {
		s.refuse(w, errMalformed(err.Error()))
		return
	}
	now := s.now()
	plans := make([][]command, len(evs))
	ctxs := make([]context.Context, len(evs))
	var errs []eventError
	var causes []error
	for i, e := range evs {
		var span trace.Span
		ctxs[i], span = s.eventSpan(r.Context(), e)
		defer span.End()
		cmds, err := s.router.RouteChecked(e) // parseEvents and the webhooks checked the data
		if err == nil {
			delivery := e.ID()
			if deliveries != nil {
				delivery = deliveries[i]
			}
			plans[i], err = buildCommands(ctxs[i], e, delivery, cmds, now)
		}
		if err != nil {
			errs = append(errs, eventError{Index: i, ID: e.ID(), Detail: err.Error()})
			causes = append(causes, err)
			s.logger.InfoContext(ctxs[i], "event refused", append(eventLogAttrs(e), "error", excerpt(err.Error(), messageLimit))...)
		}
	}
	if errs != nil {
		s.metrics.invalid(len(evs))
		p := invalidEvents(errs)
		if slug, title := commandProblem(causes); slug != "" {
			p.Type, p.Title = problemTypeBase+slug, title
		}
		p.write(w)
		return
	}

	if !dryRun {
		var all []*bus.Outgoing
		for _, plan := range plans {
			for j := range plan {
				all = append(all, &plan[j].Outgoing)
			}
		}
		if len(all) > 0 {
			// Nothing is published when a command is too large: a 413
			// stores nothing.
			if err := s.pub.PublishAll(r.Context(), all); err != nil {
				s.publishFailed(r.Context(), w, err, len(evs), all)
				return
			}
			s.writes.succeeded()
		}
	}

	ans := answer{DryRun: dryRun, Events: make([]eventResult, len(evs))}
	for i, e := range evs {
		res := eventResult{ID: e.ID(), Source: e.Source(), Type: e.Type()}
		switch dup := allDuplicates(plans[i]); {
		case len(plans[i]) == 0:
			res.Status = statusIgnored
		case dryRun:
			res.Status = statusPlanned
		case dup:
			res.Status = statusDuplicate
			s.metrics.duplicates.Add(float64(len(plans[i])))
		default:
			res.Status = statusQueued
			for _, c := range plans[i] {
				if c.Ack.Duplicate {
					s.metrics.duplicates.Inc()
				}
			}
		}
		if res.Status == statusQueued || res.Status == statusPlanned {
			res.Commands = make([]commandView, len(plans[i]))
			for j, c := range plans[i] {
				res.Commands[j] = c.view
				res.Commands[j].Duplicate = c.Ack != nil && c.Ack.Duplicate
			}
		}
		s.metrics.event(e.Type(), res.Status)
		ans.Events[i] = res
		// An accepted event is logged at debug: at thousands of events a
		// second, a line each would cost ingest a tenth of its throughput,
		// and the answer, the metrics and the commands stored already say
		// what became of it. Refusals are logged at info above.
		if s.logger.Enabled(ctxs[i], slog.LevelDebug) {
			names := make([]string, len(plans[i]))
			for j, c := range plans[i] {
				names[j] = strings.TrimPrefix(c.view.Type, events.CommandTypePrefix)
			}
			s.logger.DebugContext(ctxs[i], "event "+res.Status, append(eventLogAttrs(e), "commands", names)...)
		}
	}
	if dryRun {
		okStatus = http.StatusOK
	}
	writeAnswer(w, okStatus, ans)
}

// eventLogAttrs are the attributes of a log line about e: telemetry.LogAttrs,
// its type and its source, each an excerpt, so that the line stays small
// whatever e holds.
func eventLogAttrs(e event.Event) []any {
	attrs := append(telemetry.LogAttrs(e), "type", e.Type(), "source", e.Source())
	for i := 1; i < len(attrs); i += 2 {
		if v, ok := attrs[i].(string); ok {
			attrs[i] = excerpt(v, quoteLimit)
		}
	}
	return attrs
}

// allDuplicates reports whether JetStream had every command of cmds
// already; false for none, or for commands not published (a dry run).
func allDuplicates(cmds []command) bool {
	for _, c := range cmds {
		if c.Ack == nil || !c.Ack.Duplicate {
			return false
		}
	}
	return len(cmds) > 0
}

func parseDryRun(r *http.Request) (bool, error) {
	if r.URL.RawQuery == "" {
		return false, nil
	}
	v := r.URL.Query().Get("dryRun")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("dryRun must be true or false, not %q", excerpt(v, quoteLimit))
	}
	return b, nil
}

// commandProblem names the problem when every event at fault is a command
// (posted directly or built by a rule) that is unknown, or that fails its
// schema; other routing failures stay invalid-event.
func commandProblem(causes []error) (slug, title string) {
	var unknown, invalid int
	for _, err := range causes {
		var verr *events.ValidationError
		switch {
		case errors.Is(err, events.ErrUnknownCommand):
			unknown++
		case errors.As(err, &verr):
			invalid++
		}
	}
	switch len(causes) {
	case unknown:
		return "unknown-command", "Unknown command"
	case invalid:
		return "invalid-command", "Command data fails its schema"
	default:
		return "", ""
	}
}

// eventSpan starts the span of one event of a request. An event that
// carries a trace context of its own (the CloudEvents distributed tracing
// extension) continues it, linked to the request's span; any other
// continues the request's (and its traceparent header).
func (s *server) eventSpan(ctx context.Context, e event.Event) (_ context.Context, span trace.Span) {
	kind := trace.WithSpanKind(trace.SpanKindProducer)
	if events.Extension(e, events.ExtTraceparent) != "" {
		link := trace.WithLinks(trace.LinkFromContext(ctx))
		ctx, span = s.tracer.Start(telemetry.ContextWithTrace(ctx, e), "ingest event", kind, link)
	} else {
		ctx, span = s.tracer.Start(ctx, "ingest event", kind)
	}
	if span.IsRecording() {
		span.SetAttributes(
			attribute.String("cloudevents.event_id", e.ID()),
			attribute.String("cloudevents.event_type", e.Type()),
			attribute.String("cloudevents.event_source", e.Source()),
		)
	}
	return ctx, span
}

// publishFailed answers a request of n events whose commands cmds were
// not all acknowledged. A command too large (413) is the sender's doing:
// its events count as invalid, and the operator hears nothing of it.
func (s *server) publishFailed(ctx context.Context, w http.ResponseWriter, err error, n int, cmds []*bus.Outgoing) {
	s.writes.failed(err, cmds)
	reason := failureReason(err)
	s.metrics.publishFailures.WithLabelValues(reason).Inc()
	p := publishProblem(err, s.cfg.RetryAfter)
	if p.Status == http.StatusRequestEntityTooLarge {
		s.metrics.invalid(n)
	} else {
		s.metrics.eventsUnavailable(n)
		s.logger.WarnContext(ctx, fmt.Sprintf("publish failed; answering %d", p.Status), "reason", reason, "error", err)
	}
	p.write(w)
}

// writeAnswer answers with ans in JSON.
func writeAnswer(w http.ResponseWriter, status int, ans answer) {
	w.Header()["Content-Type"] = contentTypeJSON
	w.WriteHeader(status)
	_, _ = w.Write(ans.appendJSON(make([]byte, 0, 512)))
}

// contentTypeJSON is the Content-Type header of an answer, shared by all:
// net/http only reads it.
var contentTypeJSON = []string{"application/json"}

// appendJSON appends the answer in JSON, as encoding/json would write it
// (a test holds them equal), without its reflection on the path of every
// event.
func (a *answer) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if a.DryRun {
		b = append(b, `"dryRun":true,`...)
	}
	b = append(b, `"events":[`...)
	for i, ev := range a.Events {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendField(b, '{', "id", ev.ID)
		b = appendField(b, ',', "source", ev.Source)
		b = appendField(b, ',', "type", ev.Type)
		b = appendField(b, ',', "status", ev.Status)
		if len(ev.Commands) > 0 {
			b = append(b, `,"commands":[`...)
			for j, c := range ev.Commands {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendField(b, '{', "id", c.ID)
				b = appendField(b, ',', "type", c.Type)
				b = appendField(b, ',', "subject", c.Subject)
				b = append(b, `,"data":`...)
				if len(c.Data) == 0 {
					b = append(b, "null"...)
				} else {
					b = append(b, c.Data...) // valid JSON: checked, or built by a rule
				}
				if c.Duplicate {
					b = append(b, `,"duplicate":true`...)
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, "]}\n"...)
}

// appendField appends sep, then "name": and value as a JSON string.
func appendField(b []byte, sep byte, name, value string) []byte {
	b = append(append(append(append(b, sep, '"'), name...), '"'), ':')
	return gjson.AppendJSONString(b, value)
}

// handshake answers the CloudEvents webhook abuse-protection handshake. It
// answers synchronously and never calls WebHook-Request-Callback: a request
// must not make ingest call a URL it names.
func (s *server) handshake(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("WebHook-Request-Origin")
	if origin == "" {
		errMalformed("WebHook-Request-Origin is required for the abuse-protection handshake").write(w)
		return
	}
	if len(s.cfg.WebhookOrigins) > 0 && !slices.Contains(s.cfg.WebhookOrigins, origin) {
		newProblem(http.StatusForbidden, "origin-not-allowed", "Origin not allowed",
			fmt.Sprintf("origin %q is not in INGEST_WEBHOOK_ORIGINS", excerpt(origin, quoteLimit))).write(w)
		return
	}
	w.Header().Set("Allow", "OPTIONS, POST")
	w.Header().Set("WebHook-Allowed-Origin", origin)
	w.Header().Set("WebHook-Allowed-Rate", s.cfg.WebhookRate)
	w.WriteHeader(http.StatusOK)
}
