package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"gopkg.in/yaml.v3"

	"github.com/mendflow/mendflow/pkg/events"
)

// SpecsBucket is the key-value bucket of the specs the reconcile command
// reads by name: each key a spec's name, each value its YAML as put.
const SpecsBucket = "MENDFLOW_RECONCILE_SPECS"

// specHistory is how many versions of a spec the bucket keeps.
const specHistory = 10

// Specs are the stored specs.
type Specs struct{ kv jetstream.KeyValue }

// ErrNoSpec is a spec name that is not stored.
var ErrNoSpec = errors.New("no such spec")

// OpenSpecs opens the specs' bucket, creating it with replicas when create
// is set and it is missing; otherwise a missing bucket holds no spec.
func OpenSpecs(ctx context.Context, js jetstream.JetStream, create bool, replicas int) (*Specs, error) {
	kv, err := js.KeyValue(ctx, SpecsBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) && create {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: SpecsBucket, Description: "mendflow reconcile: the desired-state specs, by name",
			History: specHistory, Replicas: max(replicas, 1), Storage: jetstream.FileStorage,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, SpecsBucket)
		}
	}
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return &Specs{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", SpecsBucket, err)
	}
	return &Specs{kv: kv}, nil
}

func checkName(name string) error {
	if !events.SpecNameRE.MatchString(name) {
		return fmt.Errorf("%q is not a spec name: letters, digits, '.', '_' and '-', at most 128", name)
	}
	return nil
}

// Put stores a spec's YAML under name, once it parses (file names it in
// the errors), or a SpecFile's YAML once it is complete. It returns the
// revision stored.
func (s *Specs) Put(ctx context.Context, name, file string, src []byte) (uint64, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	if f, ok := ParseSpecFile(src); ok {
		if err := f.Check(); err != nil {
			return 0, err
		}
	} else if _, err := Parse(file, src); err != nil {
		return 0, err
	}
	if s.kv == nil {
		return 0, fmt.Errorf("key-value bucket %s: missing", SpecsBucket)
	}
	return s.kv.Put(ctx, name, src)
}

// Get is a stored spec's YAML and its revision; ErrNoSpec when there is
// none of that name.
func (s *Specs) Get(ctx context.Context, name string) ([]byte, uint64, error) {
	if err := checkName(name); err != nil {
		return nil, 0, err
	}
	if s.kv == nil {
		return nil, 0, fmt.Errorf("%w %q", ErrNoSpec, name)
	}
	e, err := s.kv.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, fmt.Errorf("%w %q", ErrNoSpec, name)
	}
	if err != nil {
		return nil, 0, err
	}
	return e.Value(), e.Revision(), nil
}

// ErrInvalidSpec marks the errors of Load and ParseSpec that a spec's
// text causes: no retry mends them.
var ErrInvalidSpec = errors.New("invalid spec")

// ParseSpec is Parse, its errors marked ErrInvalidSpec.
func ParseSpec(file string, src []byte) (*Spec, error) {
	spec, err := Parse(file, src)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	return spec, nil
}

// Load parses a stored spec, its errors naming it "spec NAME"; a spec
// kept in a repository (see SpecFile) is read from there first, with the
// tokens and HTTP client of opts.
func (s *Specs) Load(ctx context.Context, name string, opts SourceOptions) (*Spec, error) {
	src, _, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if f, ok := ParseSpecFile(src); ok {
		b, err := f.Read(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("spec %s: %w", name, err)
		}
		return ParseSpec(f.String(), b)
	}
	return ParseSpec("spec "+name, src)
}

// StoredSpec describes a stored spec.
type StoredSpec struct {
	Name     string
	Revision uint64
	Stored   time.Time
	Size     int
}

// List describes the stored specs, by name.
func (s *Specs) List(ctx context.Context) ([]StoredSpec, error) {
	if s.kv == nil {
		return nil, nil
	}
	keys, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []StoredSpec
	for k := range keys.Keys() {
		e, err := s.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, StoredSpec{Name: k, Revision: e.Revision(), Stored: e.Created(), Size: len(e.Value())})
	}
	slices.SortFunc(out, func(a, b StoredSpec) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Delete removes a stored spec; ErrNoSpec when there is none of that name.
func (s *Specs) Delete(ctx context.Context, name string) error {
	if _, _, err := s.Get(ctx, name); err != nil {
		return err
	}
	return s.kv.Delete(ctx, name)
}

// SpecFile is a stored spec kept in a repository: what the bucket holds
// under the spec's name is this reference, and each reconcile reads the
// file anew, so that a push to the repository is what the next reconcile
// acts on (GitOps). It reads, as YAML, one of:
//
//	from:
//	  github: {repository: acme-corp/mend-specs, path: mend/spec.yaml, ref: main}
//	from:
//	  gitlab: {project: platform/mend-specs, path: mend/spec.yaml, ref: main}
type SpecFile struct {
	From struct {
		GitHub *GitHubFile `json:"github,omitempty" yaml:"github,omitempty"`
		GitLab *GitLabFile `json:"gitlab,omitempty" yaml:"gitlab,omitempty"`
	} `json:"from" yaml:"from"`
}

// GitHubFile is a file of a GitHub repository. Ref is a branch, tag or
// commit (the repository's default branch when empty); URL is the API of a
// GitHub Enterprise Server (github.com when empty); TokenEnv names the
// variable holding the token (GITHUB_TOKEN when empty).
type GitHubFile struct {
	Repository string `json:"repository" yaml:"repository"`
	Path       string `json:"path" yaml:"path"`
	Ref        string `json:"ref,omitempty" yaml:"ref,omitempty"`
	URL        string `json:"url,omitempty" yaml:"url,omitempty"`
	TokenEnv   string `json:"tokenEnv,omitempty" yaml:"tokenEnv,omitempty"`
}

// GitLabFile is a file of a GitLab project, named by its full path
// (group/subgroup/project). Ref is a branch, tag or commit (the project's
// default branch when empty); URL is the address of a self-managed GitLab,
// as a GitLab source's url (gitlab.com when empty); TokenEnv names the
// variable holding the token (GITLAB_TOKEN when empty).
type GitLabFile struct {
	Project  string `json:"project" yaml:"project"`
	Path     string `json:"path" yaml:"path"`
	Ref      string `json:"ref,omitempty" yaml:"ref,omitempty"`
	URL      string `json:"url,omitempty" yaml:"url,omitempty"`
	TokenEnv string `json:"tokenEnv,omitempty" yaml:"tokenEnv,omitempty"`
}

// ParseSpecFile reads a stored value as a SpecFile: a YAML mapping whose
// one key is from (which no spec has), naming one repository.
func ParseSpecFile(src []byte) (*SpecFile, bool) {
	var keys map[string]any
	if yaml.Unmarshal(src, &keys) != nil || len(keys) != 1 || keys["from"] == nil {
		return nil, false
	}
	var f SpecFile
	if yaml.Unmarshal(src, &f) != nil || (f.From.GitHub == nil) == (f.From.GitLab == nil) {
		return nil, false
	}
	return &f, true
}

// Check reports what is missing from a SpecFile.
func (f *SpecFile) Check() error {
	if g := f.From.GitLab; g != nil {
		switch {
		case !strings.Contains(g.Project, "/") || strings.HasPrefix(g.Project, "/") || strings.HasSuffix(g.Project, "/"):
			return fmt.Errorf("from.gitlab.project: %q is not a project's full path, GROUP/PROJECT", g.Project)
		case strings.TrimSpace(g.Path) == "":
			return errors.New("from.gitlab.path: the spec's path in the project is required")
		}
		return nil
	}
	g := f.From.GitHub
	owner, repo, ok := strings.Cut(g.Repository, "/")
	switch {
	case !ok || owner == "" || repo == "" || strings.Contains(repo, "/"):
		return fmt.Errorf("from.github.repository: %q is not OWNER/REPOSITORY", g.Repository)
	case strings.TrimSpace(g.Path) == "":
		return errors.New("from.github.path: the spec's path in the repository is required")
	}
	return nil
}

// String names the file in errors: github:OWNER/REPO/PATH@REF, or
// gitlab:GROUP/PROJECT/PATH@REF.
func (f *SpecFile) String() string {
	scm, repo, path, ref := "github", "", "", ""
	if g := f.From.GitLab; g != nil {
		scm, repo, path, ref = "gitlab", g.Project, g.Path, g.Ref
	} else {
		repo, path, ref = f.From.GitHub.Repository, f.From.GitHub.Path, f.From.GitHub.Ref
	}
	s := scm + ":" + repo + "/" + strings.TrimPrefix(path, "/")
	if ref != "" {
		s += "@" + ref
	}
	return s
}

// YAML is the reference as the bucket stores it.
func (f *SpecFile) YAML() []byte {
	b, _ := yaml.Marshal(f) // strings only
	return b
}

// Read reads the file from its repository.
func (f *SpecFile) Read(ctx context.Context, opts SourceOptions) ([]byte, error) {
	if err := f.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	if g := f.From.GitLab; g != nil {
		token, err := sourceToken(opts, g.TokenEnv, DefaultGitLabTokenEnv, "gitlab")
		if err != nil {
			return nil, err
		}
		return readGitLabFile(ctx, g, token, opts.HTTPClient)
	}
	g := f.From.GitHub
	token, err := sourceToken(opts, g.TokenEnv, DefaultGitHubTokenEnv, "github")
	if err != nil {
		return nil, err
	}
	return readGitHubFile(ctx, g, token, opts.HTTPClient)
}
