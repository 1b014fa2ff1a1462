package ingest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v93/github"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// TestTestdataIsRealShaped parses the webhook payloads of testdata with the
// GitHub and GitLab clients' own webhook types, so that the routing tests
// run over what GitHub and GitLab really send.
func TestTestdataIsRealShaped(t *testing.T) {
	t.Parallel()
	type summary struct {
		Action, Repo, Owner, PreviousOwner, PreviousName string
		DeploymentState, Environment                     string
	}
	githubCases := []struct {
		name  string
		event string
		file  string
		want  summary
	}{
		{"created", "repository", "github/repository.created.json", summary{Action: "created", Repo: "payments-api", Owner: "acme-corp"}},
		{"deleted", "repository", "github/repository.deleted.json", summary{Action: "deleted", Repo: "payments-api", Owner: "acme-corp"}},
		{"transferred from a user", "repository", "github/repository.transferred.json",
			summary{Action: "transferred", Repo: "ledger-tools", Owner: "acme-corp", PreviousOwner: "jdoe"}},
		{"transferred from an organization", "repository", "github/repository.transferred.from-org.json",
			summary{Action: "transferred", Repo: "billing-ui", Owner: "acme-corp", PreviousOwner: "acme-legacy"}},
		{"renamed", "repository", "github/repository.renamed.json",
			summary{Action: "renamed", Repo: "payments-service", Owner: "acme-corp", PreviousName: "payments-api"}},
		{"deployment succeeded", "deployment_status", "github/deployment_status.created.json",
			summary{Action: "created", Repo: "payments-api", Owner: "acme-corp", DeploymentState: "success", Environment: "production"}},
		{"deployment failed", "deployment_status", "github/deployment_status.created.failure.json",
			summary{Action: "created", Repo: "payments-api", Owner: "acme-corp", DeploymentState: "failure", Environment: "staging"}},
		{"ping", "ping", "github/ping.json", summary{}},
	}
	for _, tc := range githubCases {
		t.Run("github "+tc.name, func(t *testing.T) {
			t.Parallel()
			parsed, err := github.ParseWebHook(tc.event, readFile(t, tc.file))
			if err != nil {
				t.Fatalf("ParseWebHook: %v", err)
			}
			var got summary
			switch e := parsed.(type) {
			case *github.RepositoryEvent:
				got = summary{Action: e.GetAction(), Repo: e.GetRepo().GetName(), Owner: e.GetRepo().GetOwner().GetLogin()}
				if o := e.GetChanges().GetOwner().GetOwnerInfo(); o != nil {
					got.PreviousOwner = o.GetUser().GetLogin() + o.GetOrg().GetLogin()
				}
				got.PreviousName = e.GetChanges().GetRepo().GetName().GetFrom()
			case *github.DeploymentStatusEvent:
				got = summary{Action: e.GetAction(), Repo: e.GetRepo().GetName(), Owner: e.GetRepo().GetOwner().GetLogin(),
					DeploymentState: e.GetDeploymentStatus().GetState(), Environment: e.GetDeployment().GetEnvironment()}
			case *github.PingEvent:
				if e.GetHookID() == 0 || e.GetZen() == "" {
					t.Errorf("ping without hook_id or zen: %+v", e)
				}
			default:
				t.Fatalf("parsed as %T", parsed)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("payload (-want, +got):\n%s", diff)
			}
		})
	}

	gitlabCases := []struct {
		name string
		want gitlab.ProjectSystemEvent
	}{
		{"project_create", gitlab.ProjectSystemEvent{Name: "Billing Service", Path: "billing-service", PathWithNamespace: "platform/backend/billing-service"}},
		{"project_destroy", gitlab.ProjectSystemEvent{Name: "Billing Service", Path: "billing-service", PathWithNamespace: "platform/backend/billing-service"}},
		{"project_transfer", gitlab.ProjectSystemEvent{Name: "Invoice Renderer", Path: "invoice-renderer",
			PathWithNamespace: "platform/payments/invoice-renderer", OldPathWithNamespace: "platform/backend/invoice-renderer"}},
		{"project_rename", gitlab.ProjectSystemEvent{Name: "Invoice Generator", Path: "invoice-generator",
			PathWithNamespace: "platform/payments/invoice-generator", OldPathWithNamespace: "platform/payments/invoice-renderer"}},
	}
	for _, tc := range gitlabCases {
		t.Run("gitlab "+tc.name, func(t *testing.T) {
			t.Parallel()
			parsed, err := gitlab.ParseSystemhook(readFile(t, "gitlab/"+tc.name+".json"))
			if err != nil {
				t.Fatalf("ParseSystemhook: %v", err)
			}
			e, ok := parsed.(*gitlab.ProjectSystemEvent)
			if !ok {
				t.Fatalf("parsed as %T", parsed)
			}
			if e.EventName != tc.name || e.ProjectID == 0 || e.OwnerEmail == "" || e.CreatedAt == "" {
				t.Errorf("event_name %q, project_id %d, owner_email %q, created_at %q", e.EventName, e.ProjectID, e.OwnerEmail, e.CreatedAt)
			}
			got := gitlab.ProjectSystemEvent{Name: e.Name, Path: e.Path, PathWithNamespace: e.PathWithNamespace, OldPathWithNamespace: e.OldPathWithNamespace}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("payload (-want, +got):\n%s", diff)
			}
		})
	}
}
