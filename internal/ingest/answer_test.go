package ingest

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The answer written by hand says what encoding/json would say.
func TestAnswerJSON(t *testing.T) {
	odd := "q\"b\\s/<a>&\u2028\u00e9\x01\xff\n"
	for name, ans := range map[string]answer{
		"empty":   {Events: []eventResult{}},
		"ignored": {Events: []eventResult{{ID: "1", Source: "/s", Type: "t", Status: statusIgnored}}},
		"queued": {Events: []eventResult{
			{ID: "1", Source: "https://gitea.acme.example.com", Type: "dev.cdevents.repository.created.0.2.0", Status: statusQueued,
				Commands: []commandView{
					{ID: "a", Type: "io.mendflow.command.project.create", Subject: "mendflow.cmd.project.create", Data: json.RawMessage(`{"productName":"p","projectName":"x"}`)},
					{ID: "b", Type: "io.mendflow.command.project.tag", Subject: "mendflow.cmd.project.tag", Data: json.RawMessage(` [1, {"a": "<>"}]`), Duplicate: true},
					{ID: "c", Type: "t", Subject: "s"},
				}},
			{ID: "2", Source: "/s", Type: "t", Status: statusDuplicate},
		}},
		"dry run, odd strings": {DryRun: true, Events: []eventResult{{ID: odd, Source: odd, Type: odd, Status: statusPlanned,
			Commands: []commandView{{ID: odd, Type: odd, Subject: odd, Data: json.RawMessage(`"` + "\u00e9" + `"`)}}}}},
	} {
		got := ans.appendJSON(nil)
		want, err := json.Marshal(ans)
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: %v: %s", name, err, got)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}
