package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/go-github/v93/github"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// Repository is a repository as the mapping's templates read it: its JSON
// field names are the names a template uses ({{ owner }}, {{ topics.0 }}).
// A field left empty is missing to a template.
type Repository struct {
	// Source is github, gitlab or static.
	Source string `json:"source"`
	// ID is the SCM's stable id of the repository.
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	// Owner is the GitHub organization, or the GitLab namespace's full path.
	Owner string `json:"owner"`
	// FullName is owner/name.
	FullName      string   `json:"full_name"`
	Description   string   `json:"description,omitempty"`
	URL           string   `json:"url,omitempty"`
	Topics        []string `json:"topics"`
	Archived      bool     `json:"archived"`
	Visibility    string   `json:"visibility,omitempty"`
	DefaultBranch string   `json:"default_branch,omitempty"`
}

// SourceOptions are what listing repositories needs of its caller.
type SourceOptions struct {
	// Getenv reads the variables holding the SCM tokens.
	Getenv func(string) string
	// HTTPClient makes the SCM calls.
	HTTPClient *http.Client
}

// The variables holding the tokens when a source names none.
const (
	DefaultGitHubTokenEnv = "GITHUB_TOKEN"
	DefaultGitLabTokenEnv = "GITLAB_TOKEN"
)

// pageSize is the page size asked of GitHub and GitLab: the largest both
// serve.
const pageSize = 100

// ListRepositories lists the repositories of every source of the spec,
// filtered, in the spec's order. A repository two sources list is kept
// once.
func ListRepositories(ctx context.Context, spec *Spec, opts SourceOptions) ([]Repository, error) {
	var out []Repository
	seen := map[string]bool{}
	for i := range spec.Sources {
		src := &spec.Sources[i]
		repos, err := listSource(ctx, src, opts)
		if err != nil {
			return nil, fmt.Errorf("repositories[%d]: %w", i, err)
		}
		for _, r := range repos {
			key := r.Source + "\x00" + r.FullName
			if src.Keep(&r) && !seen[key] {
				seen[key] = true
				out = append(out, r)
			}
		}
	}
	return out, nil
}

func listSource(ctx context.Context, src *SourceSpec, opts SourceOptions) ([]Repository, error) {
	switch {
	case src.GitHub != nil:
		token, err := sourceToken(opts, src.GitHub.TokenEnv, DefaultGitHubTokenEnv, "github")
		if err != nil {
			return nil, err
		}
		return listGitHub(ctx, src.GitHub, token, opts.HTTPClient)
	case src.GitLab != nil:
		token, err := sourceToken(opts, src.GitLab.TokenEnv, DefaultGitLabTokenEnv, "gitlab")
		if err != nil {
			return nil, err
		}
		return listGitLab(ctx, src.GitLab, token, opts.HTTPClient)
	default:
		out := make([]Repository, 0, len(src.Static))
		for _, s := range src.Static {
			out = append(out, Repository{
				Source: "static", ID: s.ID, Name: s.Name, Owner: s.Owner, FullName: s.Owner + "/" + s.Name,
				Description: s.Description, URL: s.URL, Topics: nonNil(s.Topics), Archived: s.Archived,
			})
		}
		return out, nil
	}
}

// sourceToken reads a source's token. Without one GitHub and GitLab list
// public repositories only, and a plan would then delete or tag the
// projects of the others: a token is required.
func sourceToken(opts SourceOptions, name, def, what string) (string, error) {
	name = orDefault(name, def)
	token := ""
	if opts.Getenv != nil {
		token = strings.TrimSpace(opts.Getenv(name))
	}
	if token == "" {
		return "", fmt.Errorf("%s: %s is not set: the token to list the repositories with", what, name)
	}
	return token, nil
}

// gitHubClient is a GitHub client with token, of the Enterprise Server
// whose API is at url, or of github.com when url is empty.
func gitHubClient(token, url string, hc *http.Client) (*github.Client, error) {
	opts := []github.ClientOptionsFunc{github.WithAuthToken(token)}
	if hc != nil {
		opts = append(opts, github.WithHTTPClient(hc))
	}
	if url != "" {
		opts = append(opts, github.WithEnterpriseURLs(url, url))
	}
	c, err := github.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	return c, nil
}

// readGitHubFile reads a file of a repository (GET
// /repos/{owner}/{repo}/contents/{path}?ref=).
func readGitHubFile(ctx context.Context, f *GitHubFile, token string, hc *http.Client) ([]byte, error) {
	c, err := gitHubClient(token, f.URL, hc)
	if err != nil {
		return nil, err
	}
	owner, repo, _ := strings.Cut(f.Repository, "/")
	file, _, _, err := c.Repositories.GetContents(ctx, owner, repo, strings.TrimPrefix(f.Path, "/"), &github.RepositoryContentGetOptions{Ref: f.Ref})
	if err != nil {
		return nil, fmt.Errorf("github: reading %s from %s: %w", f.Path, f.Repository, err)
	}
	if file == nil {
		return nil, fmt.Errorf("github: %s of %s is a directory, not a spec", f.Path, f.Repository)
	}
	text, err := file.GetContent()
	if err != nil {
		return nil, fmt.Errorf("github: reading %s from %s: %w", f.Path, f.Repository, err)
	}
	return []byte(text), nil
}

// listGitHub lists an organization's repositories, following GitHub's
// Link headers from page to page.
func listGitHub(ctx context.Context, src *GitHubSource, token string, hc *http.Client) ([]Repository, error) {
	c, err := gitHubClient(token, src.URL, hc)
	if err != nil {
		return nil, err
	}
	opt := &github.RepositoryListByOrgOptions{Type: "all", ListOptions: github.ListOptions{PerPage: pageSize}}
	var out []Repository
	for {
		repos, resp, err := c.Repositories.ListByOrg(ctx, src.Organization, opt)
		if err != nil {
			return nil, fmt.Errorf("github: listing the repositories of %s: %w", src.Organization, err)
		}
		for _, r := range repos {
			owner := src.Organization
			if r.GetOwner().GetLogin() != "" {
				owner = r.GetOwner().GetLogin()
			}
			out = append(out, Repository{
				Source: "github", ID: idText(r.GetID()), Name: r.GetName(), Owner: owner,
				FullName: orDefault(r.GetFullName(), owner+"/"+r.GetName()), Description: r.GetDescription(),
				URL: r.GetHTMLURL(), Topics: nonNil(r.Topics), Archived: r.GetArchived(),
				Visibility: r.GetVisibility(), DefaultBranch: r.GetDefaultBranch(),
			})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// listGitLab lists the projects of a group and its subgroups (not those
// shared with it), following GitLab's X-Next-Page header.
func listGitLab(ctx context.Context, src *GitLabSource, token string, hc *http.Client) ([]Repository, error) {
	c, err := gitLabClient(token, src.URL, hc)
	if err != nil {
		return nil, err
	}
	opt := &gitlab.ListGroupProjectsOptions{
		ListOptions:      gitlab.ListOptions{PerPage: pageSize, Page: 1},
		IncludeSubGroups: gitlab.Ptr(true),
		WithShared:       gitlab.Ptr(false),
	}
	var out []Repository
	for {
		projects, resp, err := c.Groups.ListGroupProjects(src.Group, opt, gitlab.WithContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("gitlab: listing the projects of %s: %w", src.Group, err)
		}
		for _, p := range projects {
			owner := p.PathWithNamespace
			if i := strings.LastIndexByte(owner, '/'); i >= 0 {
				owner = owner[:i]
			}
			out = append(out, Repository{
				Source: "gitlab", ID: idText(p.ID), Name: p.Path, Owner: owner, FullName: p.PathWithNamespace,
				Description: p.Description, URL: p.WebURL, Topics: nonNil(p.Topics), Archived: p.Archived,
				Visibility: string(p.Visibility), DefaultBranch: p.DefaultBranch,
			})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// gitLabClient is a GitLab client with token, of the self-managed GitLab
// at url, or of gitlab.com when url is empty.
func gitLabClient(token, url string, hc *http.Client) (*gitlab.Client, error) {
	var opts []gitlab.ClientOptionFunc
	if hc != nil {
		opts = append(opts, gitlab.WithHTTPClient(hc))
	}
	if url != "" {
		opts = append(opts, gitlab.WithBaseURL(url))
	}
	c, err := gitlab.NewClient(token, opts...)
	if err != nil {
		return nil, fmt.Errorf("gitlab: %w", err)
	}
	return c, nil
}

// readGitLabFile reads a file of a project (GET
// /projects/{id}/repository/files/{file_path}/raw?ref=).
func readGitLabFile(ctx context.Context, f *GitLabFile, token string, hc *http.Client) ([]byte, error) {
	c, err := gitLabClient(token, f.URL, hc)
	if err != nil {
		return nil, err
	}
	opt := &gitlab.GetRawFileOptions{}
	if f.Ref != "" {
		opt.Ref = gitlab.Ptr(f.Ref)
	}
	b, _, err := c.RepositoryFiles.GetRawFile(f.Project, strings.TrimPrefix(f.Path, "/"), opt, gitlab.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("gitlab: reading %s from %s: %w", f.Path, f.Project, err)
	}
	return b, nil
}

func idText(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// json is the repository as its templates read it.
func (r *Repository) json() []byte {
	b, _ := json.Marshal(r) // strings, a bool and a list of strings always encode
	return b
}
