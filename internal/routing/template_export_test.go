package routing_test

import (
	"testing"

	"github.com/mendflow/mendflow/internal/routing"
)

func TestTemplateText(t *testing.T) {
	t.Parallel()
	repo := []byte(`{"name":"Payments-API","owner":"acme","id":42,"archived":false,"topics":["go","svc"],"meta":{"a":1}}`)
	tests := []struct {
		name, template, want, wantErr string
		missing                       bool
	}{
		{name: "constant", template: "github", want: "github"},
		{name: "field with a function", template: "{{ name | lower }}", want: "payments-api"},
		{name: "interpolation", template: "{{ owner }}/{{ name }}", want: "acme/Payments-API"},
		{name: "number as text", template: "{{ id }}", want: "42"},
		{name: "boolean as text", template: "{{ archived }}", want: "false"},
		{name: "array index", template: "{{ topics.1 }}", want: "svc"},
		{name: "first present", template: "{{ team ?? owner }}", want: "acme"},
		{name: "missing field", template: "{{ team }}", missing: true, wantErr: "{{ team }}: the repository acme/x has no team"},
		{name: "attribute", template: "{{ $id }}", missing: true, wantErr: "{{ $id }}: the repository acme/x has no $id"},
		{name: "object is not text", template: "{{ meta }}", wantErr: `{"a":1}: not text but a JSON object`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tpl, err := routing.CompileTemplate(tc.template)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.Text(repo, "the repository acme/x")
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || routing.IsMissing(err) != tc.missing {
					t.Fatalf("Text = %q, %v (missing %v); want error %q (missing %v)", got, err, routing.IsMissing(err), tc.wantErr, tc.missing)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Text = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := routing.CompileTemplate("{{ name | shout }}"); err == nil {
		t.Error("an unknown function compiled")
	}
}
