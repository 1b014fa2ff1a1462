package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-github/v93/github"

	"github.com/mendflow/mendflow/pkg/events"
)

// hookNameRE bounds what a webhook header or field may put into a type.
var hookNameRE = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// webhookEvent is what the webhook endpoints share: 404 while the hook is
// disabled (its secret, named by variable, is empty), then the credential
// headers checked by precheck before anything else, the body read (see
// readBody) and made into an event by parse, a refusal answered (see
// refuse). ok is false when the request was answered. held is what the
// body keeps of INGEST_MAX_INFLIGHT_BYTES: the event's data is the body's
// memory, so give it back once the request is answered.
func (s *server) webhookEvent(w http.ResponseWriter, r *http.Request, secret, variable, hook string,
	precheck func(h http.Header, secret string) *problem,
	parse func(h http.Header, body []byte, secret string, now time.Time) (event.Event, *problem),
) (_ event.Event, held int64, ok bool) {
	if secret == "" {
		errNotFound(fmt.Sprintf("the %s webhook is disabled (%s is empty)", hook, variable)).write(w)
		return event.Event{}, 0, false
	}
	if p := precheck(r.Header, secret); p != nil {
		s.refuse(w, p)
		return event.Event{}, 0, false
	}
	body, held, p := readBody(r, s.cfg.MaxBodyBytes, s.bodies, s.cfg.RetryAfter)
	if p == nil {
		var e event.Event
		if e, p = parse(r.Header, body, secret, s.now()); p == nil {
			return e, held, true
		}
	}
	s.bodies.give(held)
	s.refuse(w, p)
	return event.Event{}, 0, false
}

func (s *server) github(w http.ResponseWriter, r *http.Request) {
	var digest [sha256.Size]byte
	e, held, ok := s.webhookEvent(w, r, s.cfg.GitHubSecret, "GITHUB_WEBHOOK_SECRET", "GitHub", githubSignaturePresent,
		func(h http.Header, body []byte, secret string, now time.Time) (event.Event, *problem) {
			e, p := githubEvent(h, body, []byte(secret), now)
			if p == nil {
				digest = sha256.Sum256(body)
			}
			return e, p
		})
	defer s.bodies.give(held)
	if !ok {
		return
	}
	if e.Type() == events.TypeGitHubPing {
		// The hook's setup handshake: answered, never routed.
		s.metrics.event(e.Type(), statusIgnored)
		writeAnswer(w, http.StatusOK, answer{Events: []eventResult{{ID: e.ID(), Source: e.Source(), Type: e.Type(), Status: statusIgnored}}})
		return
	}
	// The signed body names the delivery, not X-GitHub-Delivery: a header
	// is not signed, so a body replayed under a new delivery id would
	// otherwise queue its commands again. GitHub's own redelivery repeats
	// id and body alike, and stays a duplicate.
	s.accept(w, r, []event.Event{e}, []string{hex.EncodeToString(digest[:])}, http.StatusAccepted)
}

// githubSignaturePresent refuses, before the body is read, a delivery
// without a signature that could match.
func githubSignaturePresent(h http.Header, _ string) *problem {
	sig := h.Get("X-Hub-Signature-256")
	switch {
	case sig == "":
		return errUnauthorized("X-Hub-Signature-256 is missing", nil)
	case !strings.HasPrefix(sig, "sha256="):
		return errUnauthorized("X-Hub-Signature-256 must be sha256=<hex HMAC>", nil)
	}
	return nil
}

// githubEvent verifies a GitHub delivery's signature, which
// githubSignaturePresent found, and makes a CloudEvent of it. The signature
// is checked over the raw body before anything of it is parsed.
func githubEvent(h http.Header, body, secret []byte, now time.Time) (event.Event, *problem) {
	if github.ValidateSignature(h.Get("X-Hub-Signature-256"), body, secret) != nil {
		return event.Event{}, errUnauthorized("X-Hub-Signature-256 does not match the body", nil)
	}

	name, delivery := h.Get("X-GitHub-Event"), h.Get("X-GitHub-Delivery")
	switch {
	case !hookNameRE.MatchString(name):
		return event.Event{}, errMalformed("X-GitHub-Event is missing or not an event name")
	case delivery == "":
		return event.Event{}, errMalformed("X-GitHub-Delivery is missing")
	}
	if p := checkHeaders(h, "X-GitHub-Delivery"); p != nil {
		return event.Event{}, p
	}
	payload := body
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	switch mt {
	case "application/json":
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			return event.Event{}, errMalformed("a form-encoded delivery carries its JSON in the payload field")
		}
		payload = []byte(form.Get("payload"))
	default:
		return event.Event{}, errUnsupportedMediaType(fmt.Sprintf("Content-Type %q: a GitHub webhook sends application/json or application/x-www-form-urlencoded",
			excerpt(h.Get("Content-Type"), quoteLimit)))
	}

	var fields struct {
		Action     string `json:"action"`
		Repository *struct {
			HTMLURL string `json:"html_url"`
		} `json:"repository"`
		Organization *struct {
			Login string `json:"login"`
		} `json:"organization"`
	}
	if p := checkJSON(payload, '{', "a GitHub payload is a JSON object"); p != nil {
		return event.Event{}, p
	}
	if err := json.Unmarshal(payload, &fields); err != nil {
		return event.Event{}, errMalformed(fmt.Sprintf("GitHub payload: %v", err))
	}
	if fields.Action != "" && !hookNameRE.MatchString(fields.Action) {
		return event.Event{}, errMalformed(fmt.Sprintf("GitHub payload: action %q is not an action name", excerpt(fields.Action, quoteLimit)))
	}

	// The source names the repository (html_url also covers GitHub
	// Enterprise hosts), else the organization, else GitHub.
	source := "https://github.com"
	switch {
	case fields.Repository != nil && fields.Repository.HTMLURL != "":
		source = fields.Repository.HTMLURL
	case fields.Organization != nil && fields.Organization.Login != "":
		source += "/" + fields.Organization.Login
	}
	return newEvent(delivery, source, events.GitHubType(name, fields.Action), payload, now)
}

func (s *server) gitlab(w http.ResponseWriter, r *http.Request) {
	e, held, ok := s.webhookEvent(w, r, s.cfg.GitLabToken, "GITLAB_WEBHOOK_TOKEN", "GitLab", gitlabToken,
		func(h http.Header, body []byte, _ string, now time.Time) (event.Event, *problem) {
			return gitlabEvent(h, body, now)
		})
	defer s.bodies.give(held)
	if !ok {
		return
	}
	// GitLab resends a delivery (a retry, the hook log's "Resend request")
	// with a new X-Gitlab-Event-UUID, one per hook and request, but the same
	// Idempotency-Key (GitLab 17.4 and later): that key names the delivery,
	// so that a resend queues nothing new.
	delivery := e.ID()
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		delivery = key
	}
	s.accept(w, r, []event.Event{e}, []string{delivery}, http.StatusAccepted)
}

// gitlabToken verifies a GitLab hook's token; a header, it is checked
// before the body is read.
func gitlabToken(h http.Header, token string) *problem {
	given := h.Get("X-Gitlab-Token")
	switch {
	case given == "":
		return errUnauthorized("X-Gitlab-Token is missing", nil)
	case !equalSecret(given, token):
		return errUnauthorized("X-Gitlab-Token is wrong", nil)
	}
	return nil
}

// gitlabEvent makes a CloudEvent of a GitLab hook (project, group or
// system hook) whose token gitlabToken verified.
func gitlabEvent(h http.Header, body []byte, now time.Time) (event.Event, *problem) {
	id := h.Get("X-Gitlab-Event-UUID")
	if id == "" {
		return event.Event{}, errMalformed("X-Gitlab-Event-UUID is missing")
	}
	if p := checkHeaders(h, "X-Gitlab-Event-UUID", "Idempotency-Key", "X-Gitlab-Instance"); p != nil {
		return event.Event{}, p
	}
	if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt != "application/json" {
		return event.Event{}, errUnsupportedMediaType(fmt.Sprintf("Content-Type %q: a GitLab hook sends application/json", excerpt(h.Get("Content-Type"), quoteLimit)))
	}
	if p := checkJSON(body, '{', "a GitLab payload is a JSON object"); p != nil {
		return event.Event{}, p
	}
	var fields struct {
		EventName         string         `json:"event_name"`
		ObjectKind        string         `json:"object_kind"`
		PathWithNamespace string         `json:"path_with_namespace"`
		Project           *gitlabProject `json:"project"`
	}
	if err := json.Unmarshal(body, &fields); err != nil {
		return event.Event{}, errMalformed(fmt.Sprintf("GitLab payload: %v", err))
	}
	// System hooks carry event_name; project hooks object_kind (some both).
	name := fields.EventName
	if name == "" {
		name = fields.ObjectKind
	}
	if !hookNameRE.MatchString(name) {
		return event.Event{}, errMalformed("GitLab payload: event_name (or object_kind) is missing or not an event name")
	}
	source := gitlabSource(h.Get("X-Gitlab-Instance"), fields.PathWithNamespace, fields.Project)
	return newEvent(id, source, events.GitLabType(name), body, now)
}

// gitlabProject is the part of a project hook's project object ingest reads.
type gitlabProject struct {
	WebURL string `json:"web_url"`
}

// gitlabSource names the project: its web URL (project hooks), or the
// instance and path (system hooks), or what there is of them.
func gitlabSource(instance, path string, project *gitlabProject) string {
	if project != nil && project.WebURL != "" {
		return project.WebURL
	}
	if u, err := url.Parse(instance); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		instance = "/gitlab" // a relative URI reference when GitLab does not say who it is
	}
	instance = strings.TrimSuffix(instance, "/")
	if path == "" {
		return instance
	}
	return instance + "/" + path
}

// checkHeaders refuses a delivery whose header, of those named, that
// becomes an attribute or stands in for one is too long or not text
// (valueProblem).
func checkHeaders(h http.Header, names ...string) *problem {
	for _, name := range names {
		if p := valueProblem(h.Get(name)); p != "" {
			return errMalformed(name + " " + p)
		}
	}
	return nil
}

// newEvent makes the CloudEvent of a delivery, checked as any event is:
// its id and source (valueProblem), which come from its headers and
// payload, and its data (checkEvent).
func newEvent(id, source, typ string, data []byte, now time.Time) (event.Event, *problem) {
	for _, a := range [...]struct{ name, value string }{{"id", id}, {"source", source}} {
		if p := valueProblem(a.value); p != "" {
			return event.Event{}, invalidEvents([]eventError{{Field: a.name, Detail: a.name + " " + p}})
		}
	}
	e := event.New()
	e.SetID(id)
	e.SetSource(source)
	e.SetType(typ)
	e.SetTime(now)
	e.SetDataContentType(event.ApplicationJSON)
	e.DataEncoded = data
	if errs := checkEvent(0, e, true); errs != nil {
		return event.Event{}, invalidEvents(errs)
	}
	return e, nil
}
