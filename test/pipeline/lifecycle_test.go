package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/githubsig"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// mutating are the operations that change Mend, as the simulator's call
// record names them.
var mutating = []string{
	mend.ReqCreateProduct, mend.ReqCreateProject, mend.ReqDeleteProduct, mend.ReqDeleteProject,
	mend.ReqSaveProjectTag, mend.ReqRemoveProjectTag, mend.ReqSaveProductTag, mend.ReqRemoveProductTag,
	mend.ReqChangeProjectAssignment, "renameProject", "renameProduct", "reassignProject",
}

// lifeStep is one GitHub delivery of a repository's life, the result event
// it ends in, and the changes it makes in Mend: operations carried out, and
// how often.
type lifeStep struct {
	name    string
	event   string // X-GitHub-Event
	file    string // its payload in testdata/github
	set     map[string]any
	result  string
	changes map[string]int
}

// life is a repository's whole life on GitHub, for owner/name first, then
// name2, then at newOwner, whose product does not exist yet.
func life(owner, name, name2, newOwner string) []lifeStep {
	deployed := func(env string) map[string]any {
		return map[string]any{"deployment.environment": env, "deployment_status.state": "success"}
	}
	return []lifeStep{
		{"created", "repository", "repository.created.json", nil, events.TypeProjectCreated,
			map[string]int{mend.ReqCreateProduct: 1, mend.ReqCreateProject: 1}},
		{"deployed to staging", "deployment_status", "deployment_status.created.json", deployed("staging"), events.TypeProjectTagged,
			map[string]int{mend.ReqSaveProjectTag: 1}},
		{"deployed to production", "deployment_status", "deployment_status.created.json", deployed("production"), events.TypeProjectTagged,
			map[string]int{mend.ReqSaveProjectTag: 1}},
		{"renamed", "repository", "repository.renamed.json",
			map[string]any{"changes.repository.name.from": name, "repository.name": name2}, events.TypeProjectRenamed,
			map[string]int{"renameProject": 1}},
		{"transferred", "repository", "repository.transferred.from-org.json",
			map[string]any{"changes.owner.from.organization.login": owner, "repository.name": name2, "repository.owner.login": newOwner},
			events.TypeProjectReassigned, map[string]int{mend.ReqCreateProduct: 1, mend.ReqChangeProjectAssignment: 1}},
		{"archived", "repository", "repository.archived.json",
			map[string]any{"repository.name": name2, "repository.owner.login": newOwner}, events.TypeProjectTagged,
			map[string]int{mend.ReqSaveProjectTag: 1}},
		{"unarchived", "repository", "repository.unarchived.json",
			map[string]any{"repository.name": name2, "repository.owner.login": newOwner}, events.TypeProjectUntagged,
			map[string]int{mend.ReqRemoveProjectTag: 1}},
		{"deleted", "repository", "repository.deleted.json",
			map[string]any{"repository.name": name2, "repository.owner.login": newOwner}, events.TypeProjectDeleted,
			map[string]int{mend.ReqDeleteProject: 1}},
	}
}

// TestRepositoryLife sends a repository's whole life through the real
// binaries, as GitHub delivers it: created, deployed to staging and
// production, renamed, transferred to an owner with no product yet,
// archived, unarchived and deleted. Each step makes exactly its changes in
// Mend, and Mend ends with no project for the repository and the map with
// no entry. Again with every delivery sent twice: redelivered by GitHub
// (a duplicate at ingest), then relayed as a CloudEvent of its own once
// the first was carried out, which the worker finds done. And again with
// the worker killed (SIGKILL) in the middle of the transfer, between its
// createProduct and its changeProjectAssignment.
func TestRepositoryLife(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the services")
	}
	p := start(t)
	results := p.subscribe(eventsSubject)
	for i, variant := range []string{"once", "twice", "killed"} {
		owner, newOwner := "life-"+variant, "life-"+variant+"-new"
		name, name2 := "svc-"+variant, "svc-"+variant+"-renamed"
		id := 900000001 + i
		var token string
		steps := life(owner, name, name2, newOwner)
		t.Run(variant, func(t *testing.T) {
			for n, step := range steps {
				values := map[string]any{
					"repository.id": id, "repository.name": name, "repository.full_name": owner + "/" + name,
					"repository.html_url": "https://github.com/" + owner + "/" + name, "repository.owner.login": owner,
					"organization.login": owner,
				}
				maps.Copy(values, step.set)
				if o, n := values["repository.owner.login"].(string), values["repository.name"].(string); o != owner || n != name {
					values["repository.full_name"], values["repository.html_url"] = o+"/"+n, "https://github.com/"+o+"/"+n
					values["organization.login"] = o
				}
				body := githubPayload(t, step.file, values)
				delivery := fmt.Sprintf("%s-%d", variant, n)
				from := lastSeq(p.sim)

				if variant == "killed" && step.name == "transferred" {
					// The move takes a second in Mend: the worker is killed
					// while it waits, Mend carries it out all the same.
					if err := p.sim.SetFault(mendsim.Fault{Op: mend.ReqChangeProjectAssignment, Latency: time.Second, Count: 1}); err != nil {
						t.Fatal(err)
					}
				}
				p.sendGitHub(step.event, delivery, body, "queued")
				if variant == "killed" && step.name == "transferred" {
					servicetest.Eventually(t, 20*time.Second, func() bool {
						return slices.ContainsFunc(p.sim.Calls(), func(c mendsim.Call) bool {
							return c.Seq > from && c.Op == mend.ReqCreateProduct && c.OK()
						})
					}, "the transfer's createProduct")
					p.kill("worker")
					p.restart("worker")
				}
				got := results.await(t, 30*time.Second, map[string]string{delivery: step.result})[delivery]
				if step.name == "created" {
					token, _ = resultData(t, got)["projectToken"].(string)
				}
				if variant == "twice" {
					p.sendGitHub(step.event, delivery, body, "duplicate") // GitHub's redelivery
					relayed := delivery + "-relayed"
					p.sendCloudEvent(relayed, events.GitHubType(step.event, action(t, body)), body)
					results.await(t, 30*time.Second, map[string]string{relayed: step.result})
				}
				if diff := diffChanges(step.changes, changesSince(p.sim, from)); diff != "" {
					t.Errorf("%s: Mend changes (-want, +got):\n%s", step.name, diff)
				}
				if d := resultData(t, got); d["projectToken"] != token {
					t.Errorf("%s: result %v, want project %s", step.name, d, token)
				}
				if step.name == "unarchived" {
					if tags := projectTagsOf(p.sim, token); !slices.Equal(tags["environment"], []string{"production", "staging"}) || len(tags["archived"]) != 0 {
						t.Errorf("tags %v before the deletion, want both environments and not archived", tags)
					}
				}
			}
			if token == "" {
				t.Fatal("no project was created")
			}
			if tags := projectTagsOf(p.sim, token); tags != nil {
				t.Errorf("project %s still in Mend, tagged %v", token, tags)
			}
			if entries := p.repositoryEntries(fmt.Sprint(id)); len(entries) != 0 {
				t.Errorf("the repository is still mapped: %v", entries)
			}
		})
	}
}

// githubPayload reads a payload of testdata/github and sets the values of
// dotted paths in it.
func githubPayload(t *testing.T, file string, set map[string]any) []byte {
	t.Helper()
	doc := servicetest.Payload(t, filepath.Join(repoRoot, "testdata", "github", file), set)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// action is a GitHub payload's action.
func action(t *testing.T, body []byte) string {
	t.Helper()
	var p struct{ Action string }
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p.Action
}

// sendGitHub posts a signed GitHub delivery and checks that ingest answers
// 202 with the event's status.
func (p *pipeline) sendGitHub(event, delivery string, body []byte, wantStatus string) {
	p.t.Helper()
	status, answer := p.post("/webhooks/github", http.Header{
		"Content-Type": {"application/json"}, "X-Github-Event": {event}, "X-Github-Delivery": {delivery},
		"X-Hub-Signature-256": {githubsig.Sign(body, githubSecret)},
	}, body)
	p.checkAnswer(delivery, status, answer, wantStatus)
}

// sendCloudEvent posts the event of a webhook as a structured CloudEvent of
// its own id, as a relay forwarding SCM events would.
func (p *pipeline) sendCloudEvent(id, typ string, data []byte) {
	p.t.Helper()
	body, err := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": "urn:example:relay", "type": typ,
		"datacontenttype": "application/json", "data": json.RawMessage(data),
	})
	if err != nil {
		p.t.Fatal(err)
	}
	status, answer := p.post("/events", http.Header{"Content-Type": {"application/cloudevents+json"}, "Authorization": {"Bearer " + authToken}}, body)
	p.checkAnswer(id, status, answer, "queued")
}

func (p *pipeline) checkAnswer(id string, status int, body []byte, want string) {
	p.t.Helper()
	var a struct{ Events []struct{ Status string } }
	if err := json.Unmarshal(body, &a); err != nil || status != http.StatusAccepted || len(a.Events) != 1 || a.Events[0].Status != want {
		p.t.Fatalf("%s: %d %s, want 202 %s", id, status, body, want)
	}
}

func resultData(t *testing.T, e interface{ Data() []byte }) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(e.Data(), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// lastSeq is the sequence of the simulator's last call.
func lastSeq(sim *mendsim.Server) int64 {
	calls := sim.Calls()
	if len(calls) == 0 {
		return 0
	}
	return calls[len(calls)-1].Seq
}

// changesSince counts the changes Mend carried out after call seq.
func changesSince(sim *mendsim.Server, seq int64) map[string]int {
	out := map[string]int{}
	for _, c := range sim.Calls() {
		if c.Seq > seq && c.OK() && slices.Contains(mutating, c.Op) {
			out[c.Op]++
		}
	}
	return out
}

func diffChanges(want, got map[string]int) string {
	if maps.Equal(want, got) {
		return ""
	}
	return fmt.Sprintf("-%v\n+%v", want, got)
}

// projectTagsOf returns the tags of the project of that token; nil when
// Mend has no such project.
func projectTagsOf(sim *mendsim.Server, token string) map[string][]string {
	for _, o := range sim.Snapshot().Organizations {
		for _, pr := range o.Products {
			for _, j := range pr.Projects {
				if j.Token == token {
					tags := map[string][]string{}
					for k, v := range j.Tags {
						tags[k] = slices.Sorted(slices.Values(v))
					}
					return tags
				}
			}
		}
	}
	return nil
}

// repositoryEntries are the values of the worker's map of repositories that
// name a repository of that id.
func (p *pipeline) repositoryEntries(id string) []string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js, err := jetstream.New(p.nc)
	if err != nil {
		p.t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, "MENDFLOW_REPOSITORIES")
	if err != nil {
		p.t.Fatalf("the worker's map of repositories: %v", err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	var out []string
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue // deleted meanwhile
		}
		var v struct {
			Repository struct{ ID string } `json:"repository"`
		}
		if json.Unmarshal(e.Value(), &v) == nil && v.Repository.ID == id {
			out = append(out, string(e.Value()))
		}
	}
	return out
}
