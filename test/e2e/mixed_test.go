package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// TestMixedEvents sends what an organization's SCM and platform send in a
// day, in two waves: repositories appear (GitHub, GitLab system hooks,
// CDEvents, commands posted directly, GitHub redeliveries), then they are
// deleted, transferred, deployed, policies are applied and plugin requests
// followed. Every Mend change expected is made exactly once, and every
// event ends in its one result event.
func TestMixedEvents(t *testing.T) {
	p := newPipeline(t)
	start := time.Now()
	ghOrg := func(i int) string { return fmt.Sprintf("gh-org-%d", i%4) }
	ghRepo := func(i int) string { return fmt.Sprintf("gh-repo-%03d", i) }
	glGroup := func(i int) string { return fmt.Sprintf("platform/team-%d", i%3) }
	glPath := func(i int) string { return fmt.Sprintf("svc-%03d", i) }
	cdOwner := func(i int) string { return fmt.Sprintf("cd-owner-%d", i%2) }
	cdRepo := func(i int) string { return fmt.Sprintf("cd-repo-%03d", i) }
	// GitLab's project_id, one per project: the worker maps it to the
	// project.
	glID := func(i int) int { return 5000 + i }

	// First wave: 150 repositories appear, in 10 products.
	var created []delivery
	for i := range 60 {
		created = append(created, p.githubDelivery("repository", fmt.Sprintf("gh-created-%03d", i),
			githubRepo(t, "github/repository.created.json", ghOrg(i), ghRepo(i), nil), events.TypeProjectCreated))
	}
	for i := range 40 {
		created = append(created, p.gitlabDelivery(fmt.Sprintf("gl-create-%03d", i), template(t, "gitlab/project_create.json", map[string]any{
			"name": glPath(i), "path": glPath(i), "path_with_namespace": glGroup(i) + "/" + glPath(i), "project_id": glID(i),
		}), events.TypeProjectCreated))
	}
	for i := range 30 {
		created = append(created, cdevent(t, "created", fmt.Sprintf("cd-created-%03d", i), cdOwner(i), cdRepo(i), events.TypeProjectCreated))
	}
	for i := range 20 {
		created = append(created, command(t, events.CommandProjectCreate, fmt.Sprintf("cmd-create-%03d", i), map[string]any{
			"productName": "direct-product", "projectName": fmt.Sprintf("direct-%03d", i),
			"createProduct": true, "tags": map[string]string{"team": fmt.Sprintf("team-%d", i%5)},
		}, events.TypeProjectCreated))
	}
	first := p.send(created)
	// GitHub delivers again what it is not sure was received: the same
	// deliveries, which must change nothing.
	redelivered := p.send(created[:10])
	eventually(t, 3*time.Minute, "not every repository created has its project.created", func() bool {
		return p.results.answered(created)
	})

	// The tokens Mend gave, for the commands that name them.
	tokens := map[string]map[string]any{}
	for id, rs := range p.results.byCorrelation() {
		tokens[id] = rs[0].Data
	}
	projectToken := func(id string) string { return tokens[id]["projectToken"].(string) }
	productToken := func(id string) string { return tokens[id]["productToken"].(string) }

	// Second wave: 132 events acting on those projects.
	var acted []delivery
	for i := range 20 {
		acted = append(acted, p.githubDelivery("repository", fmt.Sprintf("gh-deleted-%03d", i),
			githubRepo(t, "github/repository.deleted.json", ghOrg(i), ghRepo(i), nil), events.TypeProjectDeleted))
	}
	for i := 20; i < 35; i++ {
		acted = append(acted, p.githubDelivery("repository", fmt.Sprintf("gh-transferred-%03d", i),
			githubRepo(t, "github/repository.transferred.json", ghOrg(i+1), ghRepo(i), map[string]any{
				"changes": map[string]any{"owner": map[string]any{"from": map[string]any{"organization": map[string]any{"login": ghOrg(i)}}}},
			}), events.TypeProjectReassigned))
	}
	for i := 35; i < 60; i++ {
		acted = append(acted, p.githubDelivery("deployment_status", fmt.Sprintf("gh-deployed-%03d", i),
			githubRepo(t, "github/deployment_status.created.json", ghOrg(i), ghRepo(i), map[string]any{
				"deployment.environment": "production", "deployment_status.state": "success",
			}), events.TypeProjectTagged))
	}
	for i := 35; i < 45; i++ { // failed deployments: no rule routes them
		acted = append(acted, p.githubDelivery("deployment_status", fmt.Sprintf("gh-deploy-failed-%03d", i),
			githubRepo(t, "github/deployment_status.created.json", ghOrg(i), ghRepo(i), map[string]any{
				"deployment.environment": "staging", "deployment_status.state": "failure",
			}), ""))
	}
	for i := range 15 {
		acted = append(acted, p.gitlabDelivery(fmt.Sprintf("gl-destroy-%03d", i), template(t, "gitlab/project_destroy.json", map[string]any{
			"name": glPath(i), "path": glPath(i), "path_with_namespace": glGroup(i) + "/" + glPath(i), "project_id": glID(i),
		}), events.TypeProjectDeleted))
	}
	for i := 15; i < 25; i++ {
		acted = append(acted, p.gitlabDelivery(fmt.Sprintf("gl-transfer-%03d", i), template(t, "gitlab/project_transfer.json", map[string]any{
			"name": glPath(i), "path": glPath(i), "path_with_namespace": glGroup(i+1) + "/" + glPath(i), "project_id": glID(i),
			"old_path_with_namespace": glGroup(i) + "/" + glPath(i),
		}), events.TypeProjectReassigned))
	}
	for i := range 10 {
		acted = append(acted, cdevent(t, "deleted", fmt.Sprintf("cd-deleted-%03d", i), cdOwner(i), cdRepo(i), events.TypeProjectDeleted))
	}
	for i := 10; i < 20; i++ {
		acted = append(acted, command(t, events.CommandPoliciesApply, fmt.Sprintf("cmd-apply-project-%03d", i), map[string]any{
			"scope": "project", "token": projectToken(fmt.Sprintf("cd-created-%03d", i)),
		}, events.TypePoliciesApplied))
	}
	for i := range 2 {
		acted = append(acted, command(t, events.CommandPoliciesApply, fmt.Sprintf("cmd-apply-product-%d", i), map[string]any{
			"scope": "product", "token": productToken(fmt.Sprintf("cd-created-%03d", i)),
		}, events.TypePoliciesApplied))
	}
	for i := range 15 {
		outcome, want := "FINISHED", events.TypeRequestFinished
		if i%5 == 4 {
			outcome, want = "FAILED", events.TypeRequestFailed
		}
		token, err := p.c.RegisterRequest(context.Background(), mendsim.PluginRequest{Outcome: outcome})
		if err != nil {
			t.Fatal(err)
		}
		acted = append(acted, command(t, events.CommandRequestTrack, fmt.Sprintf("cmd-track-%03d", i),
			map[string]any{"requestToken": token}, want))
	}
	second := p.send(acted)
	answered := time.Now()
	eventually(t, 3*time.Minute, "not every event of the second wave has its result event", func() bool {
		return p.results.answered(acted)
	})
	p.waitDrained(time.Minute)

	if redelivered.statuses["duplicate"] != 10 {
		t.Errorf("redeliveries answered %v, want 10 duplicate", redelivered.statuses)
	}
	p.check("mixed", append(created, acted...), first.plus(redelivered).plus(second), map[string]int{
		"createProject":           150,
		"createProduct":           4 + 3 + 2 + 1,
		"saveProjectTag":          20 + 25, // the direct creates' tags, the deployments
		"deleteProject":           20 + 15 + 10,
		"changeProjectAssignment": 15 + 10,
		"applyProjectPolicies":    10,
		"applyProductPolicies":    2,
	}, time.Since(answered))
	t.Logf("FIGURES mixed: whole run %v", time.Since(start).Round(time.Second))
}
