package reconcile_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-github/v93/github"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/mendflow/mendflow/internal/reconcile"
	"github.com/mendflow/mendflow/internal/reconcile/scmtest"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func names(repos []reconcile.Repository) []string {
	var out []string
	for _, r := range repos {
		out = append(out, r.FullName)
	}
	return out
}

// TestGitHubSource lists an organization of GitHub Enterprise Server page
// by page, following the Link headers, and filters it.
func TestGitHubSource(t *testing.T) {
	t.Parallel()
	repos := scmtest.GitHubRepos("acme", "svc", 5, func(i int) []string { return []string{"service"} })
	repos[1].Archived = github.Ptr(true)
	repos[2].Name, repos[2].FullName = github.Ptr("sandbox-x"), github.Ptr("acme/sandbox-x")
	repos[3].Topics = []string{"docs"}
	fake := scmtest.GitHub("acme", "ghp-secret", repos, 2)
	t.Cleanup(fake.Close)

	spec, err := reconcile.Parse("s.yaml", []byte("repositories:\n  - github: {organization: acme, url: "+fake.URL+", tokenEnv: GHE_TOKEN}\n    exclude: [sandbox-*]\n    topics: [service]\n"))
	if err != nil {
		t.Fatal(err)
	}
	opts := reconcile.SourceOptions{Getenv: env(map[string]string{"GHE_TOKEN": "ghp-secret"}), HTTPClient: &http.Client{}}
	got, err := reconcile.ListRepositories(context.Background(), spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"acme/svc-00000", "acme/svc-00004"}, names(got)); diff != "" {
		t.Errorf("repositories (-want, +got):\n%s", diff)
	}
	if n := fake.Calls.Load(); n != 3 {
		t.Errorf("%d listing calls for 5 repositories at 2 a page, want 3", n)
	}
	want := reconcile.Repository{
		Source: "github", ID: "100000", Name: "svc-00000", Owner: "acme", FullName: "acme/svc-00000",
		URL: "https://github.com/acme/svc-00000", Topics: []string{"service"}, Visibility: "private", DefaultBranch: "main",
	}
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("repository (-want, +got):\n%s", diff)
	}

	_, err = reconcile.ListRepositories(context.Background(), spec, reconcile.SourceOptions{Getenv: env(nil), HTTPClient: &http.Client{}})
	if err == nil || !strings.Contains(err.Error(), "repositories[0]: github: GHE_TOKEN is not set") {
		t.Errorf("without a token: %v", err)
	}
	_, err = reconcile.ListRepositories(context.Background(), spec, reconcile.SourceOptions{Getenv: env(map[string]string{"GHE_TOKEN": "wrong-token"}), HTTPClient: &http.Client{}})
	if err == nil || !strings.Contains(err.Error(), "401 Bad credentials") || strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("with a wrong token: %v; want a 401 that does not quote the token", err)
	}
}

// TestGitLabSource lists a group with its subgroups page by page,
// following X-Next-Page.
func TestGitLabSource(t *testing.T) {
	t.Parallel()
	project := func(id int64, ns, path string, archived bool, topics ...string) *gitlab.Project {
		return &gitlab.Project{
			ID: id, Path: path, Name: path, PathWithNamespace: ns + "/" + path, NameWithNamespace: ns + " / " + path,
			Namespace: &gitlab.ProjectNamespace{FullPath: ns, Path: ns[strings.LastIndexByte(ns, '/')+1:], Kind: "group"},
			WebURL:    "https://gitlab.example.com/" + ns + "/" + path, Topics: topics, Archived: archived,
			Visibility: gitlab.PrivateVisibility, DefaultBranch: "main", Description: "about " + path,
		}
	}
	projects := []*gitlab.Project{
		project(1, "acme/platform", "api", false, "go"),
		project(2, "acme/platform", "old", true),
		project(3, "acme/platform/tools", "cli", false),
		project(4, "acme/platform/tools/deep", "lint", false),
		project(5, "acme/platform", "web", false),
	}
	fake := scmtest.GitLab("acme/platform", "glpat-secret", projects, 2)
	t.Cleanup(fake.Close)

	spec, err := reconcile.Parse("s.yaml", []byte("repositories:\n  - gitlab: {group: acme/platform, url: "+fake.URL+"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := reconcile.ListRepositories(context.Background(), spec, reconcile.SourceOptions{Getenv: env(map[string]string{"GITLAB_TOKEN": "glpat-secret"}), HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"acme/platform/api", "acme/platform/tools/cli", "acme/platform/tools/deep/lint", "acme/platform/web"}, names(got)); diff != "" {
		t.Errorf("repositories (-want, +got):\n%s", diff)
	}
	if n := fake.Calls.Load(); n != 3 {
		t.Errorf("%d listing calls for 5 projects at 2 a page, want 3", n)
	}
	want := reconcile.Repository{
		Source: "gitlab", ID: "4", Name: "lint", Owner: "acme/platform/tools/deep", FullName: "acme/platform/tools/deep/lint",
		Description: "about lint", URL: "https://gitlab.example.com/acme/platform/tools/deep/lint", Topics: []string{},
		Visibility: "private", DefaultBranch: "main",
	}
	if diff := cmp.Diff(want, got[2]); diff != "" {
		t.Errorf("repository (-want, +got):\n%s", diff)
	}
}
