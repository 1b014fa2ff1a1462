package routing

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mendflow/mendflow/pkg/events"
)

const testdata = "../../testdata"

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// webhookEvent builds the CloudEvent ingest makes of a webhook payload: a
// GitHub delivery's source is the repository's page, a GitLab hook's its
// instance (X-Gitlab-Instance) and path.
func webhookEvent(t testing.TB, typ, file string) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("3f9a2c1e-6b7d-11ef-8e7a-2a1b3c4d5e6f")
	e.SetSource("https://github.com/acme-corp/payments-api")
	if strings.HasPrefix(typ, "com.gitlab.") {
		e.SetSource("https://gitlab.acme.example.com/platform/backend/billing-service")
	}
	e.SetType(typ)
	if err := e.SetData(event.ApplicationJSON, readTestdata(t, file)); err != nil {
		t.Fatal(err)
	}
	return e
}

// structuredEvent reads a CloudEvent in the JSON event format.
func structuredEvent(t testing.TB, file string) event.Event {
	t.Helper()
	var e event.Event
	if err := json.Unmarshal(readTestdata(t, file), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// routeCase is an event and the commands it routes to; none: ignored.
type routeCase struct {
	name  string
	event event.Event
	want  []events.Command
}

// testRoutes routes the event of each case, in parallel subtests, and
// compares the commands with the case's.
func testRoutes(t *testing.T, router *Router, cases []routeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := router.Route(tc.event)
			if err != nil {
				t.Fatalf("Route: %v", err)
			}
			checkCommands(t, tc.want, got)
		})
	}
}

// checkCommands compares routed commands with want by name and data, and
// checks their JSON (checkCommandJSON).
func checkCommands(t *testing.T, want, got []events.Command) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(events.Command{}, "JSON")); diff != "" {
		t.Errorf("Route (-want, +got):\n%s", diff)
	}
	checkCommandJSON(t, got)
}

// checkCommandJSON checks that the JSON a command carries decodes to its
// data, read by the registry as the worker reads it, and by encoding/json.
func checkCommandJSON(t *testing.T, got []events.Command) {
	t.Helper()
	for _, c := range got {
		if c.JSON == nil {
			continue
		}
		data, err := events.NewRegistry().Decode(c.Name, c.JSON)
		if err != nil {
			t.Errorf("%s: its JSON %s: %v", c.Name, c.JSON, err)
		} else if diff := cmp.Diff(c.Data, data); diff != "" {
			t.Errorf("%s: its JSON %s decodes otherwise (-data, +decoded):\n%s", c.Name, c.JSON, diff)
		}
		// Any other reader of the stored command, too.
		std := reflect.New(reflect.TypeOf(c.Data).Elem()).Interface()
		if err := json.Unmarshal(c.JSON, std); err != nil {
			t.Errorf("%s: encoding/json: its JSON %s: %v", c.Name, c.JSON, err)
		} else if diff := cmp.Diff(c.Data, std); diff != "" {
			t.Errorf("%s: encoding/json reads its JSON %s otherwise (-data, +decoded):\n%s", c.Name, c.JSON, diff)
		}
	}
}

// A command a rule builds from plain data carries the rule's JSON, which
// ingest queues as it is.
func TestCommandCarriesItsJSON(t *testing.T) {
	t.Parallel()
	router, err := New(events.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	got, err := router.Route(structuredEvent(t, "cdevents/repository.created.json"))
	if err != nil {
		t.Fatalf("Route: %v", err)
	}
	if len(got) != 1 || got[0].JSON == nil {
		t.Fatalf("Route = %+v: want one command with its JSON", got)
	}
	checkCommandJSON(t, got)
}

func commandEvent(t testing.TB, name, data string) event.Event {
	t.Helper()
	e := event.New()
	e.SetID("cmd-1")
	e.SetSource("/platform/tooling")
	e.SetType(events.CommandType(name))
	if err := e.SetData(event.ApplicationJSON, []byte(data)); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestBuiltinRoutes maps every payload of testdata, as GitHub, GitLab and
// the CDEvents spec document them, to its exact commands.
func TestBuiltinRoutes(t *testing.T) {
	t.Parallel()
	router, err := New(events.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	github := func(id string) *events.Repository {
		return &events.Repository{Source: "https://github.com", ID: events.TextID(id)}
	}
	gitlab := func(id string) *events.Repository {
		return &events.Repository{Source: "https://gitlab.acme.example.com", ID: events.TextID(id)}
	}
	gitea := &events.Repository{Source: "https://gitea.acme.example.com", ID: "acme-corp/payments-api"}
	payments := events.ProjectRef{ProductName: "acme-corp", ProjectName: "payments-api", Repository: github("812345678")}
	tag := func(ref events.ProjectRef, key, value string) events.ProjectTag {
		return events.ProjectTag{ProjectRef: ref, TagKey: key, TagValue: value}
	}
	cases := []routeCase{
		{
			name:  "github repository created",
			event: webhookEvent(t, events.TypeGitHubRepositoryCreated, "github/repository.created.json"),
			want: []events.Command{{Name: events.CommandProjectCreate, Data: &events.ProjectCreate{
				ProductName: "acme-corp", ProjectName: "payments-api", CreateProduct: true, Repository: github("812345678"),
			}}},
		},
		{
			name:  "github repository deleted",
			event: webhookEvent(t, events.TypeGitHubRepositoryDeleted, "github/repository.deleted.json"),
			want:  []events.Command{{Name: events.CommandProjectDelete, Data: &events.ProjectDelete{ProjectRef: payments}}},
		},
		{
			name:  "github repository transferred from a user",
			event: webhookEvent(t, events.TypeGitHubRepositoryTransferred, "github/repository.transferred.json"),
			want: []events.Command{{Name: events.CommandProjectReassign, Data: &events.ProjectReassign{
				ProjectRef:     events.ProjectRef{ProductName: "jdoe", ProjectName: "ledger-tools", Repository: github("790011223")},
				NewProductName: "acme-corp", CreateProduct: true,
			}}},
		},
		{
			name:  "github repository transferred from an organization",
			event: webhookEvent(t, events.TypeGitHubRepositoryTransferred, "github/repository.transferred.from-org.json"),
			want: []events.Command{{Name: events.CommandProjectReassign, Data: &events.ProjectReassign{
				ProjectRef:     events.ProjectRef{ProductName: "acme-legacy", ProjectName: "billing-ui", Repository: github("701234999")},
				NewProductName: "acme-corp", CreateProduct: true,
			}}},
		},
		{
			name:  "github repository renamed",
			event: webhookEvent(t, events.TypeGitHubRepositoryRenamed, "github/repository.renamed.json"),
			want: []events.Command{{Name: events.CommandProjectRename, Data: &events.ProjectRename{
				ProjectRef: payments, NewProjectName: "payments-service",
			}}},
		},
		{
			name:  "github repository archived",
			event: webhookEvent(t, events.TypeGitHubRepositoryArchived, "github/repository.archived.json"),
			want:  []events.Command{{Name: events.CommandProjectTagSave, Data: &events.ProjectTagSave{ProjectTag: tag(payments, "archived", "true")}}},
		},
		{
			name:  "github repository unarchived",
			event: webhookEvent(t, events.TypeGitHubRepositoryUnarchived, "github/repository.unarchived.json"),
			want:  []events.Command{{Name: events.CommandProjectTagRemove, Data: &events.ProjectTagRemove{ProjectTag: tag(payments, "archived", "true")}}},
		},
		{
			name:  "github app installed on two more repositories",
			event: webhookEvent(t, events.TypeGitHubInstallationReposAdded, "github/installation_repositories.added.json"),
			want: []events.Command{
				{Name: events.CommandProjectCreate, Data: &events.ProjectCreate{
					ProductName: "acme-corp", ProjectName: "checkout-web", CreateProduct: true, Repository: github("812345901"),
				}},
				{Name: events.CommandProjectCreate, Data: &events.ProjectCreate{
					ProductName: "acme-corp", ProjectName: "fraud-rules", CreateProduct: true, Repository: github("812346002"),
				}},
			},
		},
		{
			name:  "github app removed from a repository",
			event: webhookEvent(t, events.TypeGitHubInstallationReposRemoved, "github/installation_repositories.removed.json"),
			want: []events.Command{{Name: events.CommandProjectDelete, Data: &events.ProjectDelete{
				ProjectRef: events.ProjectRef{ProductName: "acme-corp", ProjectName: "fraud-rules", Repository: github("812346002")},
			}}},
		},
		{
			name:  "github organization renamed",
			event: webhookEvent(t, events.TypeGitHubOrganizationRenamed, "github/organization.renamed.json"),
			want: []events.Command{{Name: events.CommandProductRename, Data: &events.ProductRename{
				ProductRef: events.ProductRef{ProductName: "acme-corp"}, NewProductName: "acme-inc",
			}}},
		},
		{
			name:  "github deployment succeeded in production",
			event: webhookEvent(t, events.TypeGitHubDeploymentStatusCreated, "github/deployment_status.created.json"),
			want:  []events.Command{{Name: events.CommandProjectTagSave, Data: &events.ProjectTagSave{ProjectTag: tag(payments, "environment", "production")}}},
		},
		{
			name:  "github deployment failure is ignored",
			event: webhookEvent(t, events.TypeGitHubDeploymentStatusCreated, "github/deployment_status.created.failure.json"),
		},
		{
			name:  "github ping is ignored",
			event: webhookEvent(t, events.TypeGitHubPing, "github/ping.json"),
		},
		{
			name:  "gitlab project_create",
			event: webhookEvent(t, events.TypeGitLabProjectCreate, "gitlab/project_create.json"),
			want: []events.Command{{Name: events.CommandProjectCreate, Data: &events.ProjectCreate{
				ProductName: "platform/backend", ProjectName: "billing-service", CreateProduct: true, Repository: gitlab("1742"),
			}}},
		},
		{
			name:  "gitlab project_destroy",
			event: webhookEvent(t, events.TypeGitLabProjectDestroy, "gitlab/project_destroy.json"),
			want: []events.Command{{Name: events.CommandProjectDelete, Data: &events.ProjectDelete{
				ProjectRef: events.ProjectRef{ProductName: "platform/backend", ProjectName: "billing-service", Repository: gitlab("1742")},
			}}},
		},
		{
			// The path stays: the project keeps its name.
			name:  "gitlab project_transfer",
			event: webhookEvent(t, events.TypeGitLabProjectTransfer, "gitlab/project_transfer.json"),
			want: []events.Command{{Name: events.CommandProjectReassign, Data: &events.ProjectReassign{
				ProjectRef:     events.ProjectRef{ProductName: "platform/backend", ProjectName: "invoice-renderer", Repository: gitlab("1519")},
				NewProductName: "platform/payments", NewProjectName: "invoice-renderer", CreateProduct: true,
			}}},
		},
		{
			name:  "gitlab project_transfer to a new path",
			event: webhookEvent(t, events.TypeGitLabProjectTransfer, "gitlab/project_transfer.renamed.json"),
			want: []events.Command{{Name: events.CommandProjectReassign, Data: &events.ProjectReassign{
				ProjectRef:     events.ProjectRef{ProductName: "platform/backend", ProjectName: "invoice-renderer", Repository: gitlab("1519")},
				NewProductName: "platform/payments", NewProjectName: "invoice-generator", CreateProduct: true,
			}}},
		},
		{
			name:  "gitlab project_rename",
			event: webhookEvent(t, events.TypeGitLabProjectRename, "gitlab/project_rename.json"),
			want: []events.Command{{Name: events.CommandProjectRename, Data: &events.ProjectRename{
				ProjectRef:     events.ProjectRef{ProductName: "platform/payments", ProjectName: "invoice-renderer", Repository: gitlab("1519")},
				NewProjectName: "invoice-generator",
			}}},
		},
		{
			name:  "gitlab group_rename",
			event: webhookEvent(t, events.TypeGitLabGroupRename, "gitlab/group_rename.json"),
			want: []events.Command{{Name: events.CommandProductRename, Data: &events.ProductRename{
				ProductRef: events.ProductRef{ProductName: "platform/payments"}, NewProductName: "platform/payments-platform",
			}}},
		},
		{
			name:  "gitlab deployment succeeded",
			event: webhookEvent(t, events.TypeGitLabDeployment, "gitlab/deployment.json"),
			want: []events.Command{{Name: events.CommandProjectTagSave, Data: &events.ProjectTagSave{ProjectTag: tag(
				events.ProjectRef{ProductName: "platform/backend", ProjectName: "billing-service", Repository: gitlab("1742")},
				"environment", "production")}}},
		},
		{
			name:  "gitlab deployment running is ignored",
			event: webhookEvent(t, events.TypeGitLabDeployment, "gitlab/deployment.running.json"),
		},
		{
			name:  "cdevents repository created",
			event: structuredEvent(t, "cdevents/repository.created.json"),
			want: []events.Command{{Name: events.CommandProjectCreate, Data: &events.ProjectCreate{
				ProductName: "acme-corp", ProjectName: "payments-api", CreateProduct: true, Repository: gitea,
			}}},
		},
		{
			name:  "cdevents repository deleted",
			event: structuredEvent(t, "cdevents/repository.deleted.json"),
			want: []events.Command{{Name: events.CommandProjectDelete, Data: &events.ProjectDelete{
				ProjectRef: events.ProjectRef{ProductName: "acme-corp", ProjectName: "payments-api", Repository: gitea},
			}}},
		},
		{
			// The worker compares the name with the project the id maps to.
			name:  "cdevents repository modified",
			event: structuredEvent(t, "cdevents/repository.modified.json"),
			want: []events.Command{{Name: events.CommandProjectRename, Data: &events.ProjectRename{
				ProjectRef:     events.ProjectRef{ProductName: "acme-corp", ProjectName: "payments-service", Repository: gitea},
				NewProjectName: "payments-service",
			}}},
		},
		{
			name:  "command posted directly",
			event: commandEvent(t, events.CommandPoliciesApply, `{"scope":"product","token":"prod-token-1"}`),
			want: []events.Command{{Name: events.CommandPoliciesApply, Data: &events.PoliciesApply{
				Scope: "product", Token: "prod-token-1",
			}}},
		},
		{
			name:  "unrelated type is ignored",
			event: webhookEvent(t, "com.github.push", "github/push.json"),
		},
		{
			// A result event under the command prefix, not a command.
			name:  "command.failed result is ignored",
			event: webhookEvent(t, events.TypeCommandFailed, "github/ping.json"),
		},
	}
	testRoutes(t, router, cases)
}

// TestEveryPayloadIsRouted keeps TestBuiltinRoutes whole: every webhook
// payload and CloudEvent of testdata is one of its cases.
func TestEveryPayloadIsRouted(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("router_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"github", "gitlab", "cdevents"} {
		files, err := filepath.Glob(filepath.Join(testdata, dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if name := dir + "/" + filepath.Base(f); !strings.Contains(string(src), `"`+name+`"`) {
				t.Errorf("testdata/%s has no case in TestBuiltinRoutes", name)
			}
		}
	}
}

func TestRouteErrors(t *testing.T) {
	t.Parallel()
	router, err := New(events.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	noOwner := structuredEvent(t, "cdevents/repository.created.json")
	if err := noOwner.SetData(event.ApplicationJSON, []byte(`{"context":{},"subject":{"content":{"name":"x"}}}`)); err != nil {
		t.Fatal(err)
	}
	gitlabFlat := webhookEvent(t, events.TypeGitLabProjectCreate, "gitlab/project_create.json")
	if err := gitlabFlat.SetData(event.ApplicationJSON, []byte(`{"path":"x","path_with_namespace":"x"}`)); err != nil {
		t.Fatal(err)
	}
	badJSON := webhookEvent(t, events.TypeGitHubRepositoryCreated, "github/ping.json")
	badJSON.DataEncoded = []byte(`{"repository":`)

	cases := []struct {
		name       string
		event      event.Event
		wantErr    string
		validation bool
		unknown    bool
	}{
		{
			name:    "field the rule reads is missing",
			event:   noOwner,
			wantErr: "rule cdevents-repository-created: {{ subject.content.owner }}: the event has no subject.content.owner",
		},
		{
			name:    "path without namespace",
			event:   gitlabFlat,
			wantErr: `rule gitlab-project-create: {{ path_with_namespace | namespace }}: namespace: "x" has no namespace`,
		},
		{
			name:    "data is not JSON",
			event:   badJSON,
			wantErr: "rule github-repository-created: data is not valid JSON",
		},
		{
			name:       "command data fails its schema",
			event:      commandEvent(t, events.CommandProjectCreate, `{"productName":"acme"}`),
			wantErr:    "project.create: projectName is required",
			validation: true,
		},
		{
			name:       "command data has a misspelt field",
			event:      commandEvent(t, events.CommandProjectCreate, `{"productName":"acme","projectname":"x"}`),
			wantErr:    `project.create: unknown field "projectname" (did you mean "projectName"?)`,
			validation: true,
		},
		{
			name:    "unknown command",
			event:   commandEvent(t, "project.explode", `{}`),
			wantErr: `unknown command "project.explode"`,
			unknown: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := router.Route(tc.event)
			if err == nil {
				t.Fatalf("Route = %v, want error %q", got, tc.wantErr)
			}
			if !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("Route error = %q, want it to start with %q", err, tc.wantErr)
			}
			var ve *events.ValidationError
			if got := errors.As(err, &ve); got != tc.validation {
				t.Errorf("errors.As(%v, *ValidationError) = %v, want %v", err, got, tc.validation)
			}
			if got := errors.Is(err, events.ErrUnknownCommand); got != tc.unknown {
				t.Errorf("errors.Is(%v, ErrUnknownCommand) = %v, want %v", err, got, tc.unknown)
			}
		})
	}
}
