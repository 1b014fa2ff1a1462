package eventdata

import (
	"strings"
	"testing"
)

func TestCheckCDEvent(t *testing.T) {
	t.Parallel()
	const typ = "dev.cdevents.repository.created.0.2.0"
	cases := []struct {
		name    string
		data    string
		wantErr string
	}{
		{
			name: "repository created",
			data: `{"context":{"version":"0.4.1","id":"1","source":"/s","type":"` + typ + `","timestamp":"2024-06-03T09:14:22Z"},
				"subject":{"id":"acme/api","type":"repository","content":{"name":"api","owner":"acme"}}}`,
		},
		{name: "no context id", data: `{"context":{"type":"` + typ + `"},"subject":{"id":"x","content":{}}}`, wantErr: "CDEvent: context.id is required"},
		{name: "type differs", data: `{"context":{"id":"1","type":"dev.cdevents.repository.deleted.0.2.0"},"subject":{"id":"x","content":{}}}`, wantErr: "differs from the CloudEvent type"},
		{name: "id not a string", data: `{"context":{"id":1,"type":"` + typ + `"},"subject":{"id":"x","content":{}}}`, wantErr: "CDEvent: context.id is required"},
		{name: "no type", data: `{"context":{"id":"1"},"subject":{"id":"x","content":{}}}`, wantErr: "context.type absent differs"},
		{name: "not an object", data: `["context"]`, wantErr: "CDEvent: context.id is required"},
		{name: "no subject id", data: `{"context":{"id":"1","type":"` + typ + `"},"subject":{"content":{}}}`, wantErr: "CDEvent: subject.id is required"},
		{name: "content not an object", data: `{"context":{"id":"1","type":"` + typ + `"},"subject":{"id":"x","content":"api"}}`, wantErr: "CDEvent: subject.content must be an object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckCDEvent(typ, []byte(tc.data))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckCDEvent = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("CheckCDEvent error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
