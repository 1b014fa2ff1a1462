package mendflowtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	"github.com/mendflow/mendflow/internal/githubsig"
)

// GitHubDeliveryRequest is a request to ingest as GitHub delivers a
// webhook: payload as the body, the event's name (repository, push,
// deployment_status, ...) in X-GitHub-Event, deliveryID in
// X-GitHub-Delivery, signed with the webhook secret in X-Hub-Signature-256.
// The delivery id becomes the incoming event's id, and so the correlationid
// of its result events.
func (c *Container) GitHubDeliveryRequest(ctx context.Context, event, deliveryID string, payload []byte) (*http.Request, error) {
	req, err := c.ingestRequest(ctx, "/webhooks/github", payload)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "GitHub-Hookshot/mendflowtest")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", deliveryID)
	req.Header.Set("X-Hub-Signature-256", githubsig.Sign(payload, c.GitHubWebhookSecret()))
	return req, nil
}

// GitLabHookRequest is a request to ingest as GitLab sends a project or
// system hook: event in X-Gitlab-Event ("System Hook", "Push Hook", ...),
// eventUUID in X-Gitlab-Event-UUID (the incoming event's id), and the
// secret token in X-Gitlab-Token.
func (c *Container) GitLabHookRequest(ctx context.Context, event, eventUUID string, payload []byte) (*http.Request, error) {
	req, err := c.ingestRequest(ctx, "/webhooks/gitlab", payload)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Gitlab-Event", event)
	req.Header.Set("X-Gitlab-Event-UUID", eventUUID)
	req.Header.Set("X-Gitlab-Token", c.GitLabWebhookToken())
	return req, nil
}

// ingestRequest is a POST of a JSON body to path on ingest.
func (c *Container) ingestRequest(ctx context.Context, path string, body []byte) (*http.Request, error) {
	base, err := c.IngestURL(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("mendflowtest: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}
