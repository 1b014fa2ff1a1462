package mend_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mendflow/mendflow/pkg/mend"
)

func TestTagsUnmarshal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    mend.Tags
		wantErr bool
	}{
		{name: "lists", in: `{"newKey": ["newValue", "newValue2"], "tagKeyA": ["tagValueA"]}`, want: mend.Tags{"newKey": {"newValue", "newValue2"}, "tagKeyA": {"tagValueA"}}},
		{name: "single values", in: `{"Component": "Database", "Module": "Server"}`, want: mend.Tags{"Component": {"Database"}, "Module": {"Server"}}},
		{name: "both", in: `{"a": "1", "b": ["2", "3"]}`, want: mend.Tags{"a": {"1"}, "b": {"2", "3"}}},
		{name: "empty", in: `{}`, want: mend.Tags{}},
		{name: "null", in: `null`, want: nil},
		{name: "null value", in: `{"a": null}`, want: mend.Tags{"a": {}}},
		{name: "number", in: `{"a": 1}`, wantErr: true},
		{name: "list of numbers", in: `{"a": [1]}`, wantErr: true},
		{name: "not an object", in: `["a"]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got mend.Tags
			err := json.Unmarshal([]byte(tt.in), &got)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%s) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
				t.Errorf("Unmarshal(%s) (-want, +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestTagsRoundTrip(t *testing.T) {
	t.Parallel()
	in := mend.Tags{"b": {"2", "3"}, "a": {"1"}}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":["1"],"b":["2","3"]}`; string(data) != want {
		t.Errorf("Marshal = %s, want %s", data, want)
	}
	var out mend.Tags
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-want, +got):\n%s", diff)
	}
	if !out.Has("b", "3") || out.Has("b", "1") || out.Has("c", "1") {
		t.Errorf("Has gives wrong answers on %v", out)
	}
}
