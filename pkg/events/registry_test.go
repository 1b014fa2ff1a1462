package events

import (
	"errors"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
)

func TestRegistryDecode(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	cases := []struct {
		name    string
		command string
		data    string
		want    CommandData
		wantErr string
	}{
		{
			name:    "project.create with every field",
			command: CommandProjectCreate,
			data:    `{"orgToken":"o","productName":"acme","projectName":"api","projectDescription":"d","tags":{"team":"payments"},"createProduct":true}`,
			want: &ProjectCreate{OrgToken: "o", ProductName: "acme", ProjectName: "api", ProjectDescription: "d",
				Tags: map[string]string{"team": "payments"}, CreateProduct: true},
		},
		{
			name:    "embedded fields are top-level fields",
			command: CommandProjectTagRemove,
			data:    `{"projectToken":"p","tagKey":"k","tagValue":"v"}`,
			want:    &ProjectTagRemove{ProjectTag{ProjectRef: ProjectRef{ProjectToken: "p"}, TagKey: "k", TagValue: "v"}},
		},
		{
			name:    "a repository's id written as a number is its text",
			command: CommandProjectTagSave,
			data:    `{"productName":"acme","projectName":"api","tagKey":"k","tagValue":"v","repository":{"source":"https://github.com","id":812345678}}`,
			want: &ProjectTagSave{ProjectTag{ProjectRef: ProjectRef{ProductName: "acme", ProjectName: "api",
				Repository: &Repository{Source: "https://github.com", ID: "812345678"}}, TagKey: "k", TagValue: "v"}},
		},
		{
			name:    "a repository's id written as a string",
			command: CommandProjectRename,
			data:    `{"productName":"acme","projectName":"api","newProjectName":"web","repository":{"source":"/gitea","id":"acme/api"}}`,
			want: &ProjectRename{ProjectRef: ProjectRef{ProductName: "acme", ProjectName: "api",
				Repository: &Repository{Source: "/gitea", ID: "acme/api"}}, NewProjectName: "web"},
		},
		{
			name:    "a repository's id is a string or a number",
			command: CommandProjectDelete,
			data:    `{"productName":"acme","projectName":"api","repository":{"source":"/gitea","id":true}}`,
			wantErr: "project.delete: data: an id is a JSON string or number, not true",
		},
		{
			name:    "a repository's fields are known ones",
			command: CommandProjectDelete,
			data:    `{"productName":"acme","projectName":"api","repository":{"source":"/gitea","id":"1","name":"api"}}`,
			wantErr: `project.delete: data: json: unknown field "name"`,
		},
		{
			// JSON may escape a control character; the name Mend would
			// get holds it all the same.
			name:    "an escaped control character in a project name",
			command: CommandProjectCreate,
			data:    `{"productName":"acme","projectName":"api\u0001","createProduct":true}`,
			wantErr: "project.create: projectName holds a control character (U+0001 at byte 3)",
		},
		{
			name:    "a control character in a tag value",
			command: CommandProjectTagSave,
			data:    `{"productName":"acme","projectName":"api","tagKey":"environment","tagValue":"prod\nuction"}`,
			wantErr: "project.tag.save: tagValue holds a control character (U+000A at byte 4)",
		},
		{name: "unknown command", command: "project.explode", data: `{}`, wantErr: `unknown command "project.explode"`},
		{name: "not an object", command: CommandProductCreate, data: `["acme"]`, wantErr: "product.create: data must be a JSON object"},
		{name: "null", command: CommandProductCreate, data: `null`, wantErr: "product.create: data must be a JSON object"},
		{name: "empty", command: CommandProductCreate, data: ``, wantErr: "product.create: data must be a JSON object"},
		{name: "malformed", command: CommandProductCreate, data: `{"productName":`, wantErr: "product.create: data must be a JSON object"},
		{name: "trailing data", command: CommandProductCreate, data: `{"productName":"a"} {}`, wantErr: "product.create: data must be a JSON object"},
		{name: "unknown field", command: CommandProductCreate, data: `{"productName":"a","colour":"red"}`, wantErr: `product.create: unknown field "colour"`},
		{name: "letter case counts", command: CommandRequestTrack, data: `{"requesttoken":"r"}`, wantErr: `request.track: unknown field "requesttoken" (did you mean "requestToken"?)`},
		{name: "wrong type", command: CommandProjectCreate, data: `{"productName":"a","projectName":"b","createProduct":"yes"}`, wantErr: "project.create: createProduct: expected a JSON boolean, not string"},
		{name: "wrong type in map", command: CommandProjectCreate, data: `{"productName":"a","projectName":"b","tags":{"k":1}}`, wantErr: "project.create: tags: expected a JSON string, not number"},
		{name: "fails validation", command: CommandProjectCreate, data: `{"productName":"a"}`, wantErr: "project.create: projectName is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := reg.Decode(tc.command, []byte(tc.data))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Decode error = %v, want %q", err, tc.wantErr)
				}
				var ve *ValidationError
				if errors.As(err, &ve) == errors.Is(err, ErrUnknownCommand) {
					t.Errorf("Decode error %v: want exactly one of *ValidationError and ErrUnknownCommand", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decode (-want, +got):\n%s", diff)
			}
		})
	}
}

// projectArchive stands in for a command the worker issue adds.
type projectArchive struct {
	ProjectRef
	Reason string `json:"reason"`
}

func (p *projectArchive) Validate() error { return p.validate("project.archive") }

func TestRegistryRegister(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	// The contract's eleven commands, and one for every other mutating
	// operation of the Mend pages.
	if diff := cmp.Diff([]string{
		"globalorg.assign", "globalorg.create", "globalorg.remove",
		"group.create", "group.delete", "group.roles.add", "group.roles.remove", "group.update",
		"group.users.add", "group.users.remove", "inhouse.unmark", "pending.task.close",
		"policies.apply", "policy.add", "policy.owner.change", "policy.remove", "policy.reorder", "policy.update",
		"product.create", "product.delete", "product.rename", "product.tag.remove", "product.tag.save",
		"project.create", "project.delete", "project.reassign", "project.rename", "project.tag.remove", "project.tag.save",
		"reconcile", "request.track", "setup.notification.set",
	}, reg.Names()); diff != "" {
		t.Errorf("Names (-want, +got):\n%s", diff)
	}
	if err := reg.Register("project.archive", func() CommandData { return new(projectArchive) }); err != nil {
		t.Fatalf("Register: %v", err)
	}
	fields, ok := reg.Fields("project.archive")
	if !ok {
		t.Fatal("Fields: project.archive not registered")
	}
	if diff := cmp.Diff([]string{"productName", "productToken", "projectName", "projectToken", "reason", "repository"}, fields); diff != "" {
		t.Errorf("Fields (-want, +got):\n%s", diff)
	}
	got, err := reg.Decode("project.archive", []byte(`{"projectToken":"p","reason":"end of life"}`))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if diff := cmp.Diff(&projectArchive{ProjectRef: ProjectRef{ProjectToken: "p"}, Reason: "end of life"}, got); diff != "" {
		t.Errorf("Decode (-want, +got):\n%s", diff)
	}

	bad := []struct {
		name    string
		command string
		newData func() CommandData
		wantErr string
	}{
		{name: "twice", command: "project.archive", newData: func() CommandData { return new(projectArchive) }, wantErr: "already registered"},
		{name: "upper case", command: "Project.Archive", newData: func() CommandData { return new(projectArchive) }, wantErr: "lower-case"},
		{name: "wildcard", command: "project.>", newData: func() CommandData { return new(projectArchive) }, wantErr: "lower-case"},
		{name: "empty token", command: "project..x", newData: func() CommandData { return new(projectArchive) }, wantErr: "lower-case"},
		{name: "nil data", command: "project.nil", newData: func() CommandData { return nil }, wantErr: "pointer to a struct"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if err := reg.Register(tc.command, tc.newData); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Register(%q) = %v, want an error containing %q", tc.command, err, tc.wantErr)
			}
		})
	}
}

func TestRegistryDecodeEvent(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	newEvent := func(typ, contentType, data string) event.Event {
		e := event.New()
		e.SetID("1")
		e.SetSource("/test")
		e.SetType(typ)
		if err := e.SetData(contentType, []byte(data)); err != nil {
			t.Fatal(err)
		}
		return e
	}
	got, err := reg.DecodeEvent(newEvent(CommandType(CommandRequestTrack), "application/json; charset=utf-8", `{"requestToken":"r"}`))
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	if diff := cmp.Diff(Command{Name: CommandRequestTrack, Data: &RequestTrack{RequestToken: "r"}}, got); diff != "" {
		t.Errorf("DecodeEvent (-want, +got):\n%s", diff)
	}
	if _, err := reg.DecodeEvent(newEvent("com.github.push", "application/json", `{}`)); !errors.Is(err, ErrUnknownCommand) {
		t.Errorf("DecodeEvent of a non-command = %v, want ErrUnknownCommand", err)
	}
	_, err = reg.DecodeEvent(newEvent(CommandType(CommandRequestTrack), "text/plain", `requestToken=r`))
	if want := `request.track: datacontenttype must be application/json, not "text/plain"`; err == nil || err.Error() != want {
		t.Errorf("DecodeEvent of text = %v, want %q", err, want)
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		got  string
		want string
	}{
		{name: "command type", got: CommandType("project.tag.save"), want: "io.mendflow.command.project.tag.save"},
		{name: "command subject", got: CommandSubject("project.tag.save"), want: "mendflow.cmd.project.tag.save"},
		{name: "dlq subject", got: DLQSubject("policies.apply"), want: "mendflow.dlq.policies.apply"},
		{name: "result subject", got: ResultSubject(TypeProjectTagged), want: "mendflow.evt.project.tagged"},
		{name: "failed command subject", got: ResultSubject(TypeCommandFailed), want: "mendflow.evt.command.failed"},
		{name: "github type", got: GitHubType("repository", "created"), want: TypeGitHubRepositoryCreated},
		{name: "github type without action", got: GitHubType("ping", ""), want: TypeGitHubPing},
		{name: "gitlab type", got: GitLabType("project_transfer"), want: TypeGitLabProjectTransfer},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if name, ok := CommandName("io.mendflow.command.request.track"); !ok || name != "request.track" {
		t.Errorf("CommandName = %q, %v; want request.track, true", name, ok)
	}
	for _, typ := range []string{"io.mendflow.command.", "io.mendflow.project.created", "com.github.ping", TypeCommandFailed} {
		if name, ok := CommandName(typ); ok {
			t.Errorf("CommandName(%q) = %q, true; want false", typ, name)
		}
	}
}

// FuzzDecode checks that the fast decoding path and the encoding/json one
// agree: same verdict, same data.
func FuzzDecode(f *testing.F) {
	f.Add(CommandProjectCreate, []byte(`{"productName":"a","projectName":"b","tags":{"k":"v"},"createProduct":true}`))
	f.Add(CommandProjectTagSave, []byte(`{"projectToken":"p","tagKey":"k","tagValue":"v"}`))
	f.Add(CommandPoliciesApply, []byte(`{"scope":"product","token":"t","Scope":"x"}`))
	f.Add(CommandRequestTrack, []byte(`{"requestToken":"r"} `))
	f.Add(CommandProjectReassign, []byte(`{"projectToken":"p","newProductName":null}`))
	f.Add(CommandRequestTrack, []byte("{\"requestToken\":\"\xff\"}"))
	reg := NewRegistry()
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		spec, ok := reg.commands[name]
		if !ok {
			return
		}
		fast, fastErr := reg.Decode(name, data)
		slow, slowErr := spec.decodeSlowly(name, data)
		if (fastErr == nil) != (slowErr == nil) {
			t.Fatalf("Decode(%s, %q): fast %v, slow %v", name, data, fastErr, slowErr)
		}
		if diff := cmp.Diff(slow, fast); diff != "" {
			t.Errorf("Decode(%s, %q) (-slow, +fast):\n%s", name, data, diff)
		}
	})
}
