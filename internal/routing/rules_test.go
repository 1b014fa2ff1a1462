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
				Repository: &events.Repository{Source: "https://github.com", ID: "812345678"},
			}}},
		},
		{
			name:  "archived: deleted instead of tagged",
			event: webhookEvent(t, events.TypeGitHubRepositoryArchived, "github/repository.archived.json"),
			want: []events.Command{{Name: events.CommandProjectDelete, Data: &events.ProjectDelete{
				ProjectRef: events.ProjectRef{ProductName: "acme-corp", ProjectName: "payments-api",
					Repository: &events.Repository{Source: "https://github.com", ID: "812345678"}},
			}}},
		},
		{name: "fork is ignored by a data condition", event: fork},
		{name: "sandbox is ignored by a source glob", event: sandbox},
		{
			name:  "built-in rules still apply to other types",
			event: webhookEvent(t, events.TypeGitLabProjectDestroy, "gitlab/project_destroy.json"),
			want: []events.Command{{Name: events.CommandProjectDelete, Data: &events.ProjectDelete{
				ProjectRef: events.ProjectRef{ProductName: "platform/backend", ProjectName: "billing-service",
					Repository: &events.Repository{Source: "https://gitlab.acme.example.com", ID: "1742"}},
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
		{
			name:    "@ without each",
			src:     "rules:\n  - match: {type: x}\n    commands: [{name: product.create, data: {productName: '{{ @.name }}'}}]",
			wantErr: "rules[0]: commands[0]: product.create: data reads @, the element of each, and the command has no each",
		},
		{
			name:    "each whose data never reads @",
			src:     "rules:\n  - match: {type: x}\n    commands: [{name: product.create, each: items, data: {productName: '{{ owner }}'}}]",
			wantErr: `rules[0]: commands[0]: product.create: each "items": the data never reads @, the element`,
		},
		{
			name:    "each of an attribute",
			src:     "rules:\n  - match: {type: x}\n    commands: [{name: product.create, each: $subject, data: {productName: '{{ @ }}'}}]",
			wantErr: `rules[0]: commands[0]: product.create: each "$subject" is not a data path`,
		},
		{
			name:    "each of the element",
			src:     "rules:\n  - match: {type: x}\n    commands: [{name: product.create, each: '@.items', data: {productName: '{{ @ }}'}}]",
			wantErr: `rules[0]: commands[0]: product.create: each "@.items" is not a data path`,
		},
		{
			name:    "@ in a condition",
			src:     "rules:\n  - match: {type: x, data: {'@.name': a}}\n    ignore: true",
			wantErr: `rules[0]: match.data: "@.name" is not a data path`,
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
          projectName: "{{ name }} <b>&"
          projectDescription: "{{ count }} items, draft {{ draft }}\t{{ note }}"
          createProduct: "{{ draft }}"
          tags: "{{ labels }}"
`), events.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	got := routeEncode(t, router, `{"name":"naïve\u2028","count":12.50,"draft":true,"note":"\u0001","labels":{"team":"päy","tier":"1"}}`)
	want := []events.Command{{Name: events.CommandProjectCreate, Data: &events.ProjectCreate{
		ProductName:        `say "hi" \ to Zoë`,
		ProjectName:        "naïve\u2028 <b>&",
		ProjectDescription: "12.50 items, draft true\t\u0001",
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

// TestEach: a command with each is made once per element of an array of
// the data, in order, each reading its element as @.
func TestEach(t *testing.T) {
	t.Parallel()
	router, err := Parse([]byte(`
builtin: false
rules:
  - match: {type: com.example.team.created}
    commands:
      - name: product.create
        data: {productName: "{{ team }}"}
      - name: project.create
        each: repositories
        data:
          productName: "{{ team }}"
          projectName: "{{ @.name }}"
          tags: {language: "{{ @.language ?? language }}"}
      - name: project.tag.save
        each: owners
        data: {productName: "{{ team }}", projectName: "{{ team }}", tagKey: owner, tagValue: "{{ @ }}"}
`), events.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	team := func(data string) event.Event {
		e := event.New()
		e.SetID("team-1")
		e.SetSource("/teams")
		e.SetType("com.example.team.created")
		if err := e.SetData(event.ApplicationJSON, []byte(data)); err != nil {
			t.Fatal(err)
		}
		return e
	}
	tagOwner := func(owner string) events.Command {
		return events.Command{Name: events.CommandProjectTagSave, Data: &events.ProjectTagSave{ProjectTag: events.ProjectTag{
			ProjectRef: events.ProjectRef{ProductName: "payments", ProjectName: "payments"}, TagKey: "owner", TagValue: owner,
		}}}
	}
	testRoutes(t, router, []routeCase{
		{
			name:  "two elements and one",
			event: team(`{"team":"payments","language":"go","repositories":[{"name":"api"},{"name":"web","language":"ts"}],"owners":["ana"]}`),
			want: []events.Command{
				{Name: events.CommandProductCreate, Data: &events.ProductCreate{ProductName: "payments"}},
				{Name: events.CommandProjectCreate, Data: &events.ProjectCreate{ProductName: "payments", ProjectName: "api", Tags: map[string]string{"language": "go"}}},
				{Name: events.CommandProjectCreate, Data: &events.ProjectCreate{ProductName: "payments", ProjectName: "web", Tags: map[string]string{"language": "ts"}}},
				tagOwner("ana"),
			},
		},
		{
			name:  "empty arrays make no command",
			event: team(`{"team":"payments","language":"go","repositories":[],"owners":[]}`),
			want:  []events.Command{{Name: events.CommandProductCreate, Data: &events.ProductCreate{ProductName: "payments"}}},
		},
	})
	for _, tc := range []struct{ name, data, wantErr string }{
		{"array missing", `{"team":"payments","owners":[]}`, "each repositories: the event has no repositories"},
		{"not an array", `{"team":"payments","repositories":{"name":"api"},"owners":[]}`, "each repositories: not an array but a JSON object"},
		{"element lacks a field", `{"team":"payments","language":"go","repositories":[{"name":"api"},{"id":2}],"owners":[]}`,
			"each repositories[1]: {{ @.name }}: the event has no @.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := router.Route(team(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Route error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestOrigin(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://github.com/acme-corp/payments-api":         "https://github.com",
		"https://github.example.com":                        "https://github.example.com",
		"http://10.126.0.2:3000/root/test-deployment-hooks": "http://10.126.0.2:3000",
		"/gitlab/platform/backend/billing-service":          "/gitlab",
		"/gitlab":                "/gitlab",
		"":                       "",
		"acme-corp/payments-api": "",
		"https://exa mple.com/x": "",
	} {
		got, err := origin(in)
		if (err == nil) != (want != "") || got != want {
			t.Errorf("origin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// A rule that reads the data of an event whose data is not JSON does not
// match it: the event is not refused, and a rule reading no data still
// matches.
func TestRuleReadingDataOfDataNotJSON(t *testing.T) {
	t.Parallel()
	router, err := Parse([]byte(`
rules:
  - match: {type: com.example.note}
    commands: [{name: product.create, data: {productName: notes}}]
`), events.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	created := webhookEvent(t, events.TypeGitHubRepositoryCreated, "github/repository.created.json")
	binary := created.Clone()
	binary.SetDataContentType("")
	binary.DataBase64 = true // data_base64, or HTTP binary mode with no Content-Type
	text := created.Clone()
	text.SetDataContentType("text/plain")
	note := text.Clone()
	note.SetType("com.example.note")
	empty := created.Clone()
	empty.DataEncoded = nil
	testRoutes(t, router, []routeCase{
		{name: "binary data of no type", event: binary},
		{name: "text data", event: text},
		{name: "no data", event: empty},
		{name: "a rule reading no data", event: note, want: []events.Command{
			{Name: events.CommandProductCreate, Data: &events.ProductCreate{ProductName: "notes"}},
		}},
	})
}
