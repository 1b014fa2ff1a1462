package routing

import (
	"encoding/json"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/pkg/events"
)

// FuzzParse feeds rules files to the parser. A file either fails to parse
// or gives a router whose commands, for real events, still pass their schema
// once encoded, as they are queued.
func FuzzParse(f *testing.F) {
	f.Add(builtinRules)
	f.Add(readTestdata(f, "rules/example.yaml"))
	f.Add([]byte(`{"builtin": false, "rules": [{"match": {"type": "a.*"}, "commands": [{"name": "product.create", "data": {"productName": "{{ $id }}"}}]}]}`))
	f.Add([]byte("rules:\n  - match: {type: '*', data: {a.0.b: {in: [x, y]}}}\n    commands: [{name: project.create, data: {productName: '{{ a ?? b | namespace }}', projectName: p{{c}}q, tags: {k: '{{ d }}'}}}]"))

	reg := events.NewRegistry()
	samples := []event.Event{
		webhookEvent(f, events.TypeGitHubRepositoryCreated, "github/repository.created.json"),
		webhookEvent(f, events.TypeGitLabProjectTransfer, "gitlab/project_transfer.json"),
		structuredEvent(f, "cdevents/repository.created.json"),
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		router, err := Parse(src, reg)
		if err != nil {
			return
		}
		for _, e := range samples {
			cmds, err := router.Route(e)
			if err != nil {
				continue
			}
			// Route decoded (and so validated) each command's data; what the
			// command carries on, as JSON, must pass the registry again.
			for _, c := range cmds {
				data, err := json.Marshal(c.Data)
				if err != nil {
					t.Fatalf("command %s: %v", c.Name, err)
				}
				if _, err := reg.Decode(c.Name, data); err != nil {
					t.Errorf("Route gave command %s data %s that fails to decode again: %v", c.Name, data, err)
				}
			}
		}
	})
}
