package routing

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mendflow/mendflow/pkg/events"
)

// TestReconcilePushRule: the README's rule turns a push to the specs'
// repository's default branch into a reconcile of the stored spec, and
// leaves other pushes alone.
func TestReconcilePushRule(t *testing.T) {
	t.Parallel()
	router, err := Load(testdata+"/rules/reconcile-push.yaml", events.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	push := webhookEvent(t, "com.github.push", "github/push.json")
	cmds, err := router.Route(push)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 1 || cmds[0].Name != events.CommandReconcile {
		t.Fatalf("commands %+v", cmds)
	}
	data, err := json.Marshal(cmds[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `{"spec":"prod","prune":true}` {
		t.Errorf("data %s", data)
	}
	branch := withData(t, push, func(s string) string { return strings.Replace(s, `"refs/heads/main"`, `"refs/heads/try"`, 1) })
	if cmds, err := router.Route(branch); err != nil || len(cmds) != 0 {
		t.Errorf("a push to another branch: %v %+v", err, cmds)
	}
}
