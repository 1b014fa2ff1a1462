package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/mendflow/mendflow/internal/githubsig"
	"github.com/mendflow/mendflow/internal/redact"
)

// Content types of the CloudEvents HTTP binding's structured and batch
// modes.
const (
	contentTypeStructured = "application/cloudevents+json"
	contentTypeBatch      = "application/cloudevents-batch+json"
)

// defaultSource is the source of an event built from flags without -source.
const defaultSource = "urn:mendflow:mendflowctl"

// ingestClient posts to ingest. Its secrets are only ever put into request
// headers, never into errors or output.
type ingestClient struct {
	base *url.URL
	http *http.Client
	auth string // INGEST_AUTH_TOKEN
}

func newIngestClient(s *settings, hc *http.Client) (*ingestClient, error) {
	u, err := url.Parse(s.IngestURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("INGEST_URL: must be an http or https URL")
	}
	return &ingestClient{base: u, http: hc, auth: s.AuthToken}, nil
}

// answer is ingest's answer: its status and body.
type answer struct {
	Status int
	Text   string // e.g. "202 Accepted"
	Body   []byte
}

// post sends body to path with the headers. A dry run asks ingest for the
// commands it would queue (?dryRun=true) without queueing them.
func (c *ingestClient) post(ctx context.Context, path string, h http.Header, body []byte, dryRun bool) (answer, error) {
	u := c.base.JoinPath(path)
	if dryRun {
		u.RawQuery = "dryRun=true"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header = h
	if c.auth != "" && path == "/events" {
		req.Header.Set("Authorization", "Bearer "+c.auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// The URL holds no secret: INGEST_URL is an address.
		return answer{}, fmt.Errorf("POST %s: %w", redact.URL(u.String()), redact.Error(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return answer{}, fmt.Errorf("POST %s: reading the answer: %w", redact.URL(u.String()), err)
	}
	return answer{Status: resp.StatusCode, Text: resp.Status, Body: b}, nil
}

// sendFlags are the flags of send.
type sendFlags struct {
	file, typ, source, id, subject, data string
	github                               string
	gitlab, dryRun                       bool
}

func parseSendFlags(args []string) (sendFlags, error) {
	var f sendFlags
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.file, "file", "", "a CloudEvent in JSON (a JSON array: a batch), or with -github/-gitlab the webhook payload")
	fs.StringVar(&f.typ, "type", "", "type of the event built from flags")
	fs.StringVar(&f.source, "source", defaultSource, "its source")
	fs.StringVar(&f.id, "id", "", "its id, or the delivery id of a webhook (default random)")
	fs.StringVar(&f.subject, "subject", "", "its subject")
	fs.StringVar(&f.data, "data", "", "its JSON data, or @FILE")
	fs.StringVar(&f.github, "github", "", "send -file as a GitHub delivery of this event (X-GitHub-Event)")
	fs.BoolVar(&f.gitlab, "gitlab", false, "send -file as a GitLab hook")
	fs.BoolVar(&f.dryRun, "dry-run", false, "ask ingest what it would queue; nothing is queued")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return f, errUsage
	}
	webhook := f.github != "" || f.gitlab
	switch {
	case f.github != "" && f.gitlab,
		webhook && (f.file == "" || f.typ != "" || f.data != "" || f.subject != ""),
		!webhook && (f.file == "") == (f.typ == ""),
		f.file != "" && !webhook && (f.data != "" || f.id != "" || f.subject != ""):
		return f, errUsage
	}
	return f, nil
}

// send posts a CloudEvent, a batch or a webhook delivery to ingest, prints
// the answer and fails on a 4xx or 5xx.
func send(ctx context.Context, s *settings, args []string, out io.Writer) error {
	f, err := parseSendFlags(args)
	if err != nil {
		return err
	}
	path, h, body, err := f.request(s)
	if err != nil {
		return err
	}
	c, err := newIngestClient(s, &http.Client{Timeout: time.Minute})
	if err != nil {
		return err
	}
	a, err := c.post(ctx, path, h, body, f.dryRun)
	if err != nil {
		return err
	}
	printAnswer(out, a)
	if a.Status >= 400 {
		return fmt.Errorf("ingest answered %s", a.Text)
	}
	return nil
}

// request is what to post where: the path, headers and body.
func (f sendFlags) request(s *settings) (string, http.Header, []byte, error) {
	id := f.id
	if id == "" {
		id = uuid.NewString()
	}
	switch {
	case f.github != "":
		if s.GitHubSecret == "" {
			return "", nil, nil, errors.New("GITHUB_WEBHOOK_SECRET is empty: send -github signs with it")
		}
		body, err := readJSONFile(f.file)
		if err != nil {
			return "", nil, nil, err
		}
		return "/webhooks/github", http.Header{
			"Content-Type":        {"application/json"},
			"User-Agent":          {"GitHub-Hookshot/mendflowctl"},
			"X-Github-Event":      {f.github},
			"X-Github-Delivery":   {id},
			"X-Hub-Signature-256": {githubsig.Sign(body, s.GitHubSecret)},
		}, body, nil
	case f.gitlab:
		if s.GitLabToken == "" {
			return "", nil, nil, errors.New("GITLAB_WEBHOOK_TOKEN is empty: send -gitlab authenticates with it")
		}
		body, err := readJSONFile(f.file)
		if err != nil {
			return "", nil, nil, err
		}
		return "/webhooks/gitlab", http.Header{
			"Content-Type":        {"application/json"},
			"X-Gitlab-Token":      {s.GitLabToken},
			"X-Gitlab-Event-Uuid": {id},
		}, body, nil
	case f.file != "":
		body, err := readJSONFile(f.file)
		if err != nil {
			return "", nil, nil, err
		}
		ct := contentTypeStructured
		if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
			ct = contentTypeBatch
		}
		return "/events", http.Header{"Content-Type": {ct}}, body, nil
	}
	e := event.New()
	e.SetID(id)
	e.SetSource(f.source)
	e.SetType(f.typ)
	e.SetSubject(f.subject)
	e.SetTime(time.Now())
	if f.data != "" {
		data := []byte(f.data)
		if name, ok := strings.CutPrefix(f.data, "@"); ok {
			var err error
			if data, err = readJSONFile(name); err != nil {
				return "", nil, nil, err
			}
		} else if !json.Valid(data) {
			return "", nil, nil, errors.New("-data: not JSON")
		}
		if err := e.SetData(event.ApplicationJSON, json.RawMessage(data)); err != nil {
			return "", nil, nil, fmt.Errorf("-data: %w", err)
		}
	}
	if err := e.Validate(); err != nil {
		return "", nil, nil, fmt.Errorf("event: %w", err)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return "", nil, nil, fmt.Errorf("event: %w", err)
	}
	return "/events", http.Header{"Content-Type": {contentTypeStructured}}, body, nil
}

// readJSONFile reads a file that must hold JSON, so that a typo is caught
// here rather than by ingest.
func readJSONFile(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%s: not JSON", name)
	}
	return b, nil
}

// printAnswer prints the status line and the body, indented when it is JSON.
func printAnswer(out io.Writer, a answer) {
	fmt.Fprintln(out, a.Text)
	var pretty bytes.Buffer
	if json.Indent(&pretty, bytes.TrimSpace(a.Body), "", "  ") == nil {
		fmt.Fprintln(out, pretty.String())
	} else if len(a.Body) > 0 {
		fmt.Fprintln(out, strings.TrimSpace(string(a.Body)))
	}
}
