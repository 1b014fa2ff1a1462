package routing

import (
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/pkg/events"
)

// FuzzParse feeds rules files to the parser. A file either fails to parse
// or gives a router whose commands, for real events, all pass their schema.
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
			for _, c := range cmds {
				if err := c.Data.Validate(); err != nil {
					t.Errorf("Route gave an invalid command %s: %v", c.Name, err)
				}
			}
		}
	})
}
