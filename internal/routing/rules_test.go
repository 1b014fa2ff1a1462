package routing

import (
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/mendflow/mendflow/pkg/events"
)

func ciEvent(t testing.TB, subject, correlation, data string) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("run-7781")
	e.SetSource("https://ci.acme.example.com")
	e.SetType("com.example.ci.deployment.finished")
	e.SetSubject(subject)
	if correlation != "" {
		e.SetExtension(events.ExtCorrelationID, correlation)
	}
	if err := e.SetData(event.ApplicationJSON, []byte(data)); err != nil {
		t.Fatal(err)
	}
	return e
}

func withData(t testing.TB, e event.Event, edit func(string) string) event.Event {
	t.Helper()
	e = e.Clone()
	if err := e.SetData(event.ApplicationJSON, []byte(edit(string(e.Data())))); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestExampleRulesFile(t *testing.T) {
	t.Parallel()
	router, err := Load(testdata+"/rules/example.yaml", events.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	created := webhookEvent(t, events.TypeGitHubRepositoryCreated, "github/repository.created.json")
	sandbox := created.Clone()
	sandbox.SetSource("https://github.com/acme-sandbox/try-things")
	fork := withData(t, created, func(s string) string {
		return strings.Replace(s, `"fork": false`, `"fork": true`, 1)
	})
	public := withData(t, created, func(s string) string {
		return strings.Replace(s, `"visibility": "private"`, `"visibility": "public"`, 1)
	})
	ciOK := `{"status":"success","run":{"number":88,"actor":"MHernandez"}}`

	cases := []routeCase{
		{
			name:  "private repository: the file's rule, two commands",
			event: created,
			want: []events.Command{
				{Name: events.CommandProjectCreate, Data: &events.ProjectCreate{
					ProductName:        "ACME-CORP",
					ProjectName:        "payments-api",
					ProjectDescription: "Payment processing service (https://github.com/acme-corp/payments-api)",
					CreateProduct:      true,
					Tags:               map[string]string{"source": "github", "visibility": "private"},
				}},
				{Name: events.CommandPoliciesApply, Data: &events.PoliciesApply{Scope: "organization"}},
			},
		},
		{
			name:  "public repository: falls through to the built-in rule",
			event: public,
			want: []events.Command{{Name: events.CommandProjectCreate, Data: &events.ProjectCreate{
				ProductName: "acme-corp", ProjectName: "payments-api", CreateProduct: true,
			}}},
		},
		{name: "fork is ignored by a data condition", event: fork},
		{name: "sandbox is ignored by a source glob", event: sandbox},
		{
			name:  "built-in rules still apply to other types",
			event: webhookEvent(t, events.TypeGitLabProjectDestroy, "gitlab/project_destroy.json"),
			want: []events.Command{{Name: events.CommandProjectDelete, Data: &events.ProjectDelete{
				ProjectRef: events.ProjectRef{ProductName: "platform/backend", ProjectName: "billing-service"},
			}}},
		},
		{
			name:  "attributes, extensions and interpolation",
			event: ciEvent(t, "platform/payments/invoice-renderer", "chain-1", ciOK),
			want: []events.Command{{Name: events.CommandProjectTagSave, Data: &events.ProjectTagSave{ProjectTag: events.ProjectTag{
				ProjectRef: events.ProjectRef{ProductName: "platform/payments", ProjectName: "invoice-renderer"},
				TagKey:     "deployed-by", TagValue: "ci run 88 by mhernandez",
			}}}},
		},
		{name: "subject glob does not match", event: ciEvent(t, "tools/linter", "chain-1", ciOK)},
		{name: "extension absent", event: ciEvent(t, "platform/payments/x", "", ciOK)},
		{name: "data value differs", event: ciEvent(t, "platform/payments/x", "chain-1", `{"status":"failure","run":{"number":1,"actor":"a"}}`)},
		{name: "field that must be absent is present", event: ciEvent(t, "platform/payments/x", "chain-1", `{"status":"success","dry_run":true,"run":{"number":1,"actor":"a"}}`)},
	}
	testRoutes(t, router, cases)
}

func TestReplaceBuiltins(t *testing.T) {
	t.Parallel()
	router, err := Parse([]byte(`
builtin: false
rules:
  - match: {type: com.gitlab.project_create}
    commands:
      - name: product.create
        data: {productName: "{{ path_with_namespace | namespace | basename }}"}
`), events.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	cases := []routeCase{
		{
			name:  "the file's rule",
			event: webhookEvent(t, events.TypeGitLabProjectCreate, "gitlab/project_create.json"),
			want:  []events.Command{{Name: events.CommandProductCreate, Data: &events.ProductCreate{ProductName: "backend"}}},
		},
		{
			name:  "no built-in rule left",
			event: webhookEvent(t, events.TypeGitHubRepositoryCreated, "github/repository.created.json"),
		},
		{
			name:  "commands still pass through",
			event: commandEvent(t, events.CommandRequestTrack, `{"requestToken":"a1b2"}`),
			want:  []events.Command{{Name: events.CommandRequestTrack, Data: &events.RequestTrack{RequestToken: "a1b2"}}},
		},
	}
	testRoutes(t, router, cases)
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		src     string
		wantErr string
	}{
		{name: "empty file", src: "", wantErr: "the file is empty"},
		{name: "not YAML", src: "rules: [", wantErr: "yaml:"},
		{name: "unknown top-level key", src: "rulez: []", wantErr: "field rulez not found"},
		{
			name:    "unknown rule key",
			src:     "rules:\n  - name: a\n    match: {type: x}\n    comands: []",
			wantErr: "line 4: field comands not found",
		},
		{
			name:    "no type",
			src:     "rules:\n  - name: no-type\n    match: {source: x}\n    ignore: true",
			wantErr: "rules[0] (no-type): match.type is required",
		},
		{
			name:    "neither commands nor ignore",
			src:     "rules:\n  - match: {type: x}",
			wantErr: "rules[0]: commands is required (or ignore: true",
		},
		{
			name:    "both commands and ignore",
			src:     "rules:\n  - match: {type: x}\n    ignore: true\n    commands: [{name: product.create}]",
			wantErr: "rules[0]: a rule has either commands or ignore",
		},
		{
			name:    "unknown command",
			src:     "rules:\n  - name: ok\n    match: {type: x}\n    ignore: true\n  - name: bad\n    match: {type: y}\n    commands: [{name: project.creat}]",
			wantErr: `rules[1] (bad): commands[0]: unknown command "project.creat"`,
		},
		{
			name:    "unknown command field",
			src:     "rules:\n  - match: {type: x}\n    commands: [{name: project.create, data: {projectname: a}}]",
			wantErr: `rules[0]: commands[0]: project.create: unknown field "projectname"`,
		},
		{
			name:    "unclosed template",
			src:     "rules:\n  - match: {type: x}\n    commands: [{name: product.create, data: {productName: '{{ a.b'}}]",
			wantErr: `rules[0]: commands[0]: product.create: data.productName: "{{ a.b": {{ without }}`,
		},
		{
			name:    "unknown function",
			src:     "rules:\n  - match: {type: x}\n    commands: [{name: product.create, data: {productName: '{{ a | shout }}'}}]",
			wantErr: `unknown function "shout"`,
		},
		{
			name:    "bad path",
			src:     "rules:\n  - match: {type: x}\n    commands: [{name: product.create, data: {productName: '{{ a..b }}'}}]",
			wantErr: `"a..b": not a data path`,
		},
		{
			name:    "bad attribute name",
			src:     "rules:\n  - match: {type: x}\n    commands: [{name: product.create, data: {productName: '{{ $Source }}'}}]",
			wantErr: `"$Source": an attribute name is lower-case letters and digits`,
		},
		{
			name:    "condition with two operators",
			src:     "rules:\n  - match: {type: x, data: {a: {equals: b, exists: true}}}\n    ignore: true",
			wantErr: "rules[0]: match.data: a: a condition has exactly one of",
		},
		{
			name:    "unknown condition operator",
			src:     "rules:\n  - match: {type: x, data: {a: {matches: b}}}\n    ignore: true",
			wantErr: `unknown condition "matches"`,
		},
		{
			name:    "null condition",
			src:     "rules:\n  - match: {type: x, data: {a: ~}}\n    ignore: true",
			wantErr: "rules[0]: match.data: a: empty condition",
		},
		{
			name:    "empty in",
			src:     "rules:\n  - match: {type: x, attributes: {subject: {in: []}}}\n    ignore: true",
			wantErr: "match.attributes: $subject: in needs at least one value",
		},
		{
			name:    "duplicate rule name",
			src:     "rules:\n  - {name: a, match: {type: x}, ignore: true}\n  - {name: a, match: {type: y}, ignore: true}",
			wantErr: "rules[1] (a): name already used by rules[0]",
		},
	}
	reg := events.NewRegistry()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.src), reg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/rules.yaml"
	_, err := Load(path, events.NewRegistry())
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load of a missing file: error = %v, want it to name %s", err, path)
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"a.b", "a.b", true},
		{"a.b", "a.bc", false},
		{"dev.cdevents.repository.created.*", "dev.cdevents.repository.created.0.2.0", true},
		{"dev.cdevents.repository.created.*", "dev.cdevents.repository.deleted.0.2.0", false},
		{"https://github.com/acme/*", "https://github.com/acme/x/y", true},
		{"*.created", "com.github.repository.created", true},
		{"com.*.repository.*", "com.gitlab.repository.x", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{"ab*ba", "aba", false},
		{"*", "", true},
	}
	for _, tc := range cases {
		if got := CompileGlob(tc.pattern).Match(tc.s); got != tc.want {
			t.Errorf("glob %q match %q = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestCommandDataEncoding(t *testing.T) {
	t.Parallel()
	router, err := Parse([]byte(`
builtin: false
rules:
  - match: {type: com.example.encode}
    commands:
      - name: project.create
        data:
          productName: 'say "hi" \ to Zoë'
          projectName: "{{ name }} <b>&\t"
          projectDescription: "{{ count }} items, draft {{ draft }}"
          createProduct: "{{ draft }}"
          tags: "{{ labels }}"
`), events.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	got := routeEncode(t, router, `{"name":"naïve\u2028\u0001","count":12.50,"draft":true,"labels":{"team":"päy","tier":"1"}}`)
	want := []events.Command{{Name: events.CommandProjectCreate, Data: &events.ProjectCreate{
		ProductName:        `say "hi" \ to Zoë`,
		ProjectName:        "naïve\u2028\u0001 <b>&\t",
		ProjectDescription: "12.50 items, draft true",
		CreateProduct:      true,
		Tags:               map[string]string{"team": "päy", "tier": "1"},
	}}}
	checkCommands(t, want, got)
}

// Invalid UTF-8 in fields a rule copies, one by one and whole, and broken
// surrogate pairs: the data holds replacement characters, and any JSON the
// command carries decodes to that data, for the worker and for any other
// reader.
func TestCommandDataInvalidText(t *testing.T) {
	t.Parallel()
	router, err := Parse([]byte(`
builtin: false
rules:
  - match: {type: com.example.encode}
    commands:
      - name: project.create
        data: {productName: p, projectName: "{{ name }}", tags: "{{ labels }}"}
`), events.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	checkCommands(t, []events.Command{{Name: events.CommandProjectCreate, Data: &events.ProjectCreate{
		ProductName: "p", ProjectName: "a\uFFFDb", Tags: map[string]string{"k": "c\uFFFDd"},
	}}}, routeEncode(t, router, "{\"name\":\"a\xffb\",\"labels\":{\"k\":\"c\xffd\"}}"))
	// Half a pair, then a whole one: read apart by decoders.
	checkCommandJSON(t, routeEncode(t, router, `{"name":"n","labels":{"k":"\ud800\ud800\udc00"}}`))
}

// routeEncode routes an event of type com.example.encode with data.
func routeEncode(t *testing.T, router *Router, data string) []events.Command {
	t.Helper()
	e := event.New()
	e.SetID("1")
	e.SetSource("/s")
	e.SetType("com.example.encode")
	if err := e.SetData(event.ApplicationJSON, []byte(data)); err != nil {
		t.Fatal(err)
	}
	got, err := router.Route(e)
	if err != nil {
		t.Fatalf("Route: %v", err)
	}
	return got
}
