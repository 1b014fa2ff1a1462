package worker

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/pkg/events"
)

// entry reads the bucket's entry for a repository of the organization, as
// stored; nil when there is none.
func (h *harness) entry(org string, repo events.Repository) *repositoryEntry {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := h.js.KeyValue(ctx, repositoriesBucket)
	if err != nil {
		h.t.Fatalf("bucket %s: %v", repositoriesBucket, err)
	}
	e, err := kv.Get(ctx, repositoryKey(org, repo))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	var out repositoryEntry
	if err := json.Unmarshal(e.Value(), &out); err != nil {
		h.t.Fatalf("entry %s: %v", e.Value(), err)
	}
	return &out
}

// TestRepositoryMapInTheBucket: the worker keeps the project a repository
// became in MENDFLOW_REPOSITORIES, finds it there by the repository's id
// when the command's names no longer name it, forgets it with its
// project, and rebuilds an entry lost from the names.
func TestRepositoryMapInTheBucket(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.startWorker(nil)
	org := h.sim.OrgToken()
	repo := events.Repository{Source: "https://github.com", ID: "812345678"}

	created := h.send(events.CommandProjectCreate, events.ProjectCreate{ProductName: "acme-corp", ProjectName: "payments-api", CreateProduct: true, Repository: &repo})
	tok, _ := data(t, h.waitAnswer(created.ID(), 10*time.Second))["projectToken"].(string)
	if got := h.entry(org, repo); got == nil || got.ProjectToken != tok || got.ProductName != "acme-corp" || got.ProjectName != "payments-api" ||
		got.OrgToken != org || got.Repository != repo {
		t.Fatalf("entry %+v, want project %s, payments-api of acme-corp, of %s in %s", got, tok, repo, org)
	}

	// The entry lost: a tag by the names finds the project and maps the
	// repository again.
	kv, err := h.js.KeyValue(context.Background(), repositoriesBucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Purge(context.Background(), repositoryKey(org, repo)); err != nil {
		t.Fatal(err)
	}
	tagged := h.send(events.CommandProjectTagSave, events.ProjectTagSave{ProjectTag: events.ProjectTag{
		ProjectRef: events.ProjectRef{ProductName: "acme-corp", ProjectName: "payments-api", Repository: &repo}, TagKey: "archived", TagValue: "true"}})
	if d := data(t, h.waitAnswer(tagged.ID(), 10*time.Second)); d["projectToken"] != tok {
		t.Fatalf("tagged %v, want project %s", d, tok)
	}
	if got := h.entry(org, repo); got == nil || got.ProjectToken != tok {
		t.Fatalf("entry %+v after the tag by names, want project %s", got, tok)
	}

	// Named as it is called now, after a rename Mend never heard of.
	deleted := h.send(events.CommandProjectDelete, events.ProjectDelete{
		ProjectRef: events.ProjectRef{ProductName: "acme-corp", ProjectName: "payments-service", Repository: &repo}})
	d := data(t, h.waitAnswer(deleted.ID(), 10*time.Second))
	if d["projectToken"] != tok || d["deleted"] != true {
		t.Fatalf("deleted %v, want project %s deleted", d, tok)
	}
	if got := h.entry(org, repo); got != nil {
		t.Errorf("entry %+v after its project's deletion, want none", got)
	}
	if n := h.okCalls("deleteProject"); n != 1 {
		t.Errorf("deleteProject carried out %d times, want 1", n)
	}
}

// TestRenameToANameTaken: a rename to a name another project of the
// product has gives up at once, the reason in its failed event and its
// dead letter, and never reaches Mend.
func TestRenameToANameTaken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	w := h.startWorker(nil)
	cmd := h.send(events.CommandProjectRename, events.ProjectRename{
		ProjectRef: events.ProjectRef{ProductName: "demo-product", ProjectName: "demo-api"}, NewProjectName: "demo-web"})
	got := h.waitAnswer(cmd.ID(), 10*time.Second)
	if got.Type() != events.TypeCommandFailed {
		t.Fatalf("answer %s %s, want %s", got.Type(), got.Data(), events.TypeCommandFailed)
	}
	const why = `to "demo-web": product `
	d := data(t, got)
	if errText, _ := d["error"].(string); d["reason"] != events.FailPermanent || d["attempts"] != float64(1) ||
		!strings.Contains(errText, why) || !strings.Contains(errText, "already has a project of that name") {
		t.Errorf("failed event %v, want a permanent failure naming the name taken", d)
	}
	dls := h.streamMsgs(events.StreamDLQ)
	if len(dls) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dls))
	}
	info, err := bus.ParseDeadLetter(dls[0].Subject, dls[0].Header)
	if err != nil {
		t.Fatal(err)
	}
	if info.Reason != events.FailPermanent || !strings.Contains(info.Error, why) {
		t.Errorf("dead letter %+v, want the name taken as its reason", info)
	}
	if n := len(h.sim.CallsOf("renameProject")); n != 0 {
		t.Errorf("%d renameProject calls, want none", n)
	}
	waitForMetrics(t, w.addr, `mendflow_worker_dead_letters_total{command="project.rename",reason="permanent"} 1`)
}
