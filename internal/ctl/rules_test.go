package ctl

import (
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"
)

func TestRulesTest(t *testing.T) {
	t.Parallel()
	cdevent := "../../testdata/cdevents/repository.created.json"
	ignored := writeFile(t, "ignored.json", `{"specversion":"1.0","id":"e-2","source":"/s","type":"com.example.other"}`)
	batch := writeFile(t, "batch.json", `[
		{"specversion":"1.0","id":"e-1","source":"/s","type":"io.mendflow.command.product.create","datacontenttype":"application/json","data":{"productName":"acme"}},
		{"specversion":"1.0","id":"e-2","source":"/s","type":"com.example.other"}]`)
	invalidCommand := writeFile(t, "invalid.json", `{"specversion":"1.0","id":"e-3","source":"/s","type":"io.mendflow.command.product.create","datacontenttype":"application/json","data":{"productname":"acme"}}`)
	badRules := writeFile(t, "bad.yaml", "rules:\n  - name: broken\n    match: {type: com.example.*}\n    commands:\n      - name: project.create\n        data: {projectName: x, nope: 1}\n")
	custom := writeFile(t, "custom.yaml", "builtin: false\nrules:\n  - name: other\n    match: {type: com.example.other}\n    commands:\n      - name: product.create\n        data: {productName: \"{{ $source }}\"}\n")

	tests := []struct {
		name    string
		args    []string
		wantOut []string
		wantErr string // "usage": errUsage
	}{
		{"built-in rules, a CDEvent", []string{"-event", cdevent}, []string{
			"event 5b1e4e5a-3d4c-4f6e-9a1b-2c3d4e5f6a7b (dev.cdevents.repository.created.0.2.0, source https://gitea.acme.example.com): 1 command(s)",
			`project.create  on mendflow.cmd.project.create  {"productName":"acme-corp","projectName":"payments-api","createProduct":true,"repository":{"source":"https://gitea.acme.example.com","id":"acme-corp/payments-api"}}`,
		}, ""},
		{"ignored", []string{"-event", ignored}, []string{"event e-2 (com.example.other, source /s): ignored"}, ""},
		{"batch", []string{"-event", batch}, []string{`product.create  on mendflow.cmd.product.create  {"productName":"acme"}`, "event e-2 (com.example.other, source /s): ignored"}, ""},
		{"rules file", []string{"-rules", custom, "-event", batch}, []string{"event e-2 (com.example.other, source /s): 1 command(s)", `{"productName":"/s"}`}, ""},
		{"rules file without the built-in rules", []string{"-rules", custom, "-event", cdevent}, []string{"ignored"}, ""},
		{"invalid command", []string{"-event", invalidCommand}, []string{"event e-3 (io.mendflow.command.product.create, source /s): refused: product.create:"}, "event e-3: product.create:"},
		{"bad rules file names the rule", []string{"-rules", badRules, "-event", cdevent}, nil, "broken"},
		{"not a CloudEvent", []string{"-event", writeFile(t, "x.json", `{"id":"x"}`)}, nil, "event 0"},
		{"no -event", []string{"-rules", custom}, nil, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// No NATS: rules test works offline.
			out, err := run(t, envconfig.MapLookuper(map[string]string{"NATS_URL": "nats://127.0.0.1:1"}), append([]string{"rules", "test"}, tt.args...)...)
			checkErr(t, err, tt.wantErr)
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
