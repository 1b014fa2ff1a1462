package main

import (
	"net/http"
	"testing"
)

// TestGitLabResendIsDuplicate: GitLab resends a delivery (the hook log's
// "Resend request", or a retry) with the same Idempotency-Key but a new
// X-Gitlab-Event-UUID (one per hook and request, see GitLab's
// Gitlab::WebHooks::RecursionDetection::UUID): the resend queues nothing new.
func TestGitLabResendIsDuplicate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	body := readFile(t, "gitlab/project_create.json")
	first := gitlabHeaders("0b8e2f6a-1c3d-4e5f-8a9b-0c1d2e3f4a5b")
	resend := gitlabHeaders("7e6d5c4b-3a29-4180-9f8e-7d6c5b4a3928")
	resend.Set("Idempotency-Key", first.Get("Idempotency-Key"))
	for i, hd := range []http.Header{first, resend} {
		status, _, b := h.do(http.MethodPost, "/webhooks/gitlab", hd, body)
		if status != http.StatusAccepted {
			t.Fatalf("delivery %d: status %d: %s", i, status, b)
		}
		want := statusQueued
		if i == 1 {
			want = statusDuplicate
		}
		if got := decodeAnswer(t, b).Events[0]; got.Status != want || got.ID != hd.Get("X-Gitlab-Event-Uuid") {
			t.Errorf("delivery %d: answered %+v, want status %s and id %s", i, got, want, hd.Get("X-Gitlab-Event-Uuid"))
		}
	}
	if n := len(h.msgs()); n != 1 {
		t.Errorf("%d commands stored for one delivery sent twice, want 1", n)
	}

	// Another delivery (its own Idempotency-Key) is queued.
	other := gitlabHeaders("5f4e3d2c-1b0a-4987-8765-43210fedcba9")
	other.Set("Idempotency-Key", "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
	if status, _, b := h.do(http.MethodPost, "/webhooks/gitlab", other, body); status != http.StatusAccepted || decodeAnswer(t, b).Events[0].Status != statusQueued {
		t.Errorf("another delivery: %d %s, want it queued", status, b)
	}
}
