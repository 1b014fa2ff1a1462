// Package reconcile holds Mend to a desired state: a spec says where
// repositories come from, how each becomes a product, a project and its
// tags, the policies each scope holds and what becomes of projects no
// repository maps to; a plan is every change that brings Mend there, each
// carried out by one of mendflow's commands.
//
// Reading the spec, listing repositories and reading Mend are its only
// effects; planning is a pure function of what they return.
package reconcile

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"

	"github.com/mendflow/mendflow/internal/routing"
	"github.com/mendflow/mendflow/pkg/events"
)

// schemaJSON is the JSON Schema of the spec, which editors read too;
// Parse checks every spec against it.
//
//go:embed spec.schema.json
var schemaJSON []byte

// schema is SchemaJSON compiled.
var schema = func() *jsonschema.Schema {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		panic(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("spec.schema.json", doc); err != nil {
		panic(err)
	}
	return c.MustCompile("spec.schema.json")
}()

// Spec is a parsed and checked desired-state spec.
type Spec struct {
	// File is where the spec was read from, as errors name it.
	File string
	// Organization is the token of the Mend organization; empty for
	// MEND_ORG_TOKEN.
	Organization string
	Sources      []SourceSpec
	Mapping      Mapping
	// Policies are the spec's policy entries, in its order.
	Policies []PolicyEntry
	Prune    Prune
}

// SourceSpec is one entry of repositories: one of GitHub, GitLab and
// Static, and the filters of its repositories.
type SourceSpec struct {
	GitHub *GitHubSource `yaml:"github"`
	GitLab *GitLabSource `yaml:"gitlab"`
	Static []StaticRepo  `yaml:"static"`

	Names    []string `yaml:"names"`
	Exclude  []string `yaml:"exclude"`
	Topics   []string `yaml:"topics"`
	Archived string   `yaml:"archived"`

	names, exclude []routing.Glob
}

// GitHubSource is the repositories of a GitHub organization.
type GitHubSource struct {
	Organization string `yaml:"organization"`
	// URL is the API URL of a GitHub Enterprise Server; empty for
	// github.com.
	URL string `yaml:"url"`
	// TokenEnv names the variable holding the token (GITHUB_TOKEN).
	TokenEnv string `yaml:"tokenEnv"`
}

// GitLabSource is the projects of a GitLab group and its subgroups.
type GitLabSource struct {
	Group    string `yaml:"group"`
	URL      string `yaml:"url"`
	TokenEnv string `yaml:"tokenEnv"`
}

// StaticRepo is a repository listed in the spec.
type StaticRepo struct {
	Name        string   `yaml:"name"`
	Owner       string   `yaml:"owner"`
	ID          string   `yaml:"id"`
	Description string   `yaml:"description"`
	URL         string   `yaml:"url"`
	Topics      []string `yaml:"topics"`
	Archived    bool     `yaml:"archived"`
}

// The values of SourceSpec.Archived.
const (
	ArchivedExclude = "exclude"
	ArchivedInclude = "include"
	ArchivedOnly    = "only"
)

// Keep reports whether a repository passes the source's filters.
func (s *SourceSpec) Keep(r *Repository) bool {
	switch s.Archived {
	case ArchivedInclude:
	case ArchivedOnly:
		if !r.Archived {
			return false
		}
	default:
		if r.Archived {
			return false
		}
	}
	if len(s.names) > 0 && !slices.ContainsFunc(s.names, func(g routing.Glob) bool { return g.Match(r.Name) }) {
		return false
	}
	if slices.ContainsFunc(s.exclude, func(g routing.Glob) bool { return g.Match(r.Name) }) {
		return false
	}
	return len(s.Topics) == 0 || slices.ContainsFunc(s.Topics, func(t string) bool { return slices.Contains(r.Topics, t) })
}

// Mapping turns a repository into a product, a project, a description and
// tags, with the rules file's templates.
type Mapping struct {
	Product, Project, Description *Template
	// Tags are the managed tag keys, sorted, and their templates.
	Tags []TagTemplate
}

// TagTemplate is the template of one managed tag key.
type TagTemplate struct {
	Key   string
	Value *Template
}

// Template is a compiled template with its source text and where the spec
// wrote it.
type Template struct {
	Text  string
	Field string
	t     routing.Template
}

// PolicyEntry is one entry of policies: the scopes it governs and their
// policies, highest priority first.
type PolicyEntry struct {
	// Field is the entry's path in the spec, for errors.
	Field string
	// Scope is events.ScopeOrganization, ScopeProduct or ScopeProject.
	Scope string
	// Name and Product are the patterns of the scopes governed (of a
	// project's own name and of its product's); nil matches all.
	Name, Product *routing.Glob
	Policies      []events.Policy
}

// Matches reports whether the entry governs a product (project "") or a
// project.
func (e *PolicyEntry) Matches(product, project string) bool {
	switch e.Scope {
	case ScopeProductLevel:
		return project == "" && (e.Name == nil || e.Name.Match(product))
	case ScopeProjectLevel:
		return project != "" && (e.Name == nil || e.Name.Match(project)) && (e.Product == nil || e.Product.Match(product))
	}
	return false
}

// The scopes of PolicyEntry, as the commands name them.
const (
	ScopeOrganizationLevel = "organization"
	ScopeProductLevel      = "product"
	ScopeProjectLevel      = "project"
)

// Prune says what becomes of the projects no repository maps to.
type Prune struct {
	// Action is PruneNone, PruneTag or PruneDelete.
	Action string
	// TagKey and TagValue are the tag of PruneTag.
	TagKey, TagValue string
	// MaxDeletions bounds the deletions of one plan.
	MaxDeletions int
	// Products are the patterns of the products pruned; nil for the
	// products some repository maps to.
	Products []routing.Glob
}

// The values of Prune.Action, and its defaults.
const (
	PruneNone           = "none"
	PruneTag            = "tag"
	PruneDelete         = "delete"
	DefaultPruneTagKey  = "mendflow-prune"
	DefaultPruneTagVal  = "unmapped"
	DefaultMaxDeletions = 10
)

// SpecError is a spec that is not valid: the file, the line and the field
// at fault, and what is wrong.
type SpecError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

// Error implements error: "file:line: field: what".
func (e *SpecError) Error() string {
	field := e.Field
	if field == "" {
		field = "(top level)"
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, field, e.Msg)
}

// maxErrors bounds the errors reported of one spec.
const maxErrors = 10

// Load reads and parses the spec in a file.
func Load(path string) (*Spec, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the spec: %w", err)
	}
	return Parse(path, src)
}

// Parse parses and checks a spec, named file in errors. A spec that is
// not valid gives *SpecError errors (joined), each naming its line and
// field.
func Parse(file string, src []byte) (*Spec, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil, &SpecError{File: file, Line: 1, Msg: "the spec is empty"}
	}
	p := &parser{file: file, lines: map[string]int{}}
	inst, err := p.instance(doc.Content[0], "")
	if err != nil {
		return nil, err
	}
	if err := schema.Validate(inst); err != nil {
		var verr *jsonschema.ValidationError
		if !errors.As(err, &verr) {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		p.schemaErrors(verr)
		return nil, p.err()
	}
	var raw rawSpec
	if err := doc.Content[0].Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	spec := p.compile(&raw)
	if err := p.err(); err != nil {
		return nil, err
	}
	return spec, nil
}

// rawSpec is the spec as written.
type rawSpec struct {
	Organization string       `yaml:"organization"`
	Repositories []SourceSpec `yaml:"repositories"`
	Mapping      struct {
		Product     string            `yaml:"product"`
		Project     string            `yaml:"project"`
		Description string            `yaml:"description"`
		Tags        map[string]string `yaml:"tags"`
	} `yaml:"mapping"`
	Policies []struct {
		Scope    string      `yaml:"scope"`
		Name     *string     `yaml:"name"`
		Product  *string     `yaml:"product"`
		Owner    string      `yaml:"owner"`
		Policies []rawPolicy `yaml:"policies"`
	} `yaml:"policies"`
	Prune struct {
		Action string `yaml:"action"`
		Tag    *struct {
			Key   string `yaml:"key"`
			Value string `yaml:"value"`
		} `yaml:"tag"`
		MaxDeletions *int     `yaml:"maxDeletions"`
		Products     []string `yaml:"products"`
	} `yaml:"prune"`
}

// rawPolicy is a policy as written: Mend's own field names, read through
// JSON so that mend's types decode them.
type rawPolicy map[string]any

// parser keeps where each value of the spec was written.
type parser struct {
	file  string
	lines map[string]int // JSON pointer → line
	errs  []error
}

func (p *parser) fail(pointer, format string, args ...any) {
	if len(p.errs) < maxErrors {
		p.errs = append(p.errs, &SpecError{File: p.file, Line: p.line(pointer), Field: fieldName(pointer), Msg: fmt.Sprintf(format, args...)})
	}
}

func (p *parser) err() error { return errors.Join(p.errs...) }

// line is the line of the value at pointer, or of the nearest value above
// it that the spec wrote.
func (p *parser) line(pointer string) int {
	for {
		if l, ok := p.lines[pointer]; ok {
			return l
		}
		i := strings.LastIndexByte(pointer, '/')
		if i < 0 {
			return 1
		}
		pointer = pointer[:i]
	}
}

// fieldName writes a JSON pointer as a path: /a/0/b is a[0].b.
func fieldName(pointer string) string {
	var b strings.Builder
	for _, part := range strings.Split(pointer, "/")[1:] {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		if _, err := strconv.Atoi(part); err == nil {
			b.WriteString("[" + part + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(part)
	}
	return b.String()
}

// instance turns a YAML node into the JSON value the schema checks,
// keeping the line of each value.
func (p *parser) instance(n *yaml.Node, pointer string) (any, error) {
	p.lines[pointer] = n.Line
	switch n.Kind {
	case yaml.AliasNode:
		return p.instance(n.Alias, pointer)
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, &SpecError{File: p.file, Line: k.Line, Field: fieldName(pointer), Msg: "a key must be text"}
			}
			child := pointer + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(k.Value)
			if _, dup := out[k.Value]; dup {
				return nil, &SpecError{File: p.file, Line: k.Line, Field: fieldName(child), Msg: "given twice"}
			}
			val, err := p.instance(v, child)
			if err != nil {
				return nil, err
			}
			out[k.Value] = val
		}
		return out, nil
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			var err error
			if out[i], err = p.instance(c, pointer+"/"+strconv.Itoa(i)); err != nil {
				return nil, err
			}
		}
		return out, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, &SpecError{File: p.file, Line: n.Line, Field: fieldName(pointer), Msg: err.Error()}
		}
		switch x := v.(type) {
		case int:
			return json.Number(strconv.Itoa(x)), nil
		case uint64:
			return json.Number(strconv.FormatUint(x, 10)), nil
		case float64:
			return json.Number(strconv.FormatFloat(x, 'g', -1, 64)), nil
		case nil, bool, string:
			return x, nil
		default: // timestamps and the like: the schema wants text
			return n.Value, nil
		}
	}
	return nil, &SpecError{File: p.file, Line: n.Line, Field: fieldName(pointer), Msg: "not a value"}
}

var printer = message.NewPrinter(language.English)

// schemaErrors reports the innermost failures of a schema check, each at
// its line. A value that fits none of the alternatives (a source that is
// neither github, gitlab nor static) is reported once.
func (p *parser) schemaErrors(e *jsonschema.ValidationError) {
	pointer := ""
	for _, part := range e.InstanceLocation {
		pointer += "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(part)
	}
	kw := e.ErrorKind.KeywordPath()
	if len(e.Causes) == 0 || (len(kw) > 0 && kw[len(kw)-1] == "oneOf") {
		msg := e.ErrorKind.LocalizedString(printer)
		if len(kw) > 0 && kw[len(kw)-1] == "oneOf" {
			msg = "give exactly one of github, gitlab and static"
		}
		p.fail(pointer, "%s", msg)
		return
	}
	for _, c := range e.Causes {
		p.schemaErrors(c)
	}
}

// compile turns the spec as written into a Spec, reporting what the
// schema cannot check: templates, owners, names given twice.
func (p *parser) compile(raw *rawSpec) *Spec {
	spec := &Spec{File: p.file, Organization: raw.Organization, Sources: raw.Repositories}
	for i := range spec.Sources {
		s := &spec.Sources[i]
		s.names, s.exclude = globs(s.Names), globs(s.Exclude)
	}

	m := raw.Mapping
	spec.Mapping.Product = p.template("/mapping/product", orDefault(m.Product, "{{ owner }}"))
	spec.Mapping.Project = p.template("/mapping/project", orDefault(m.Project, "{{ name }}"))
	if m.Description != "" {
		spec.Mapping.Description = p.template("/mapping/description", m.Description)
	}
	for _, k := range sortedKeys(m.Tags) {
		spec.Mapping.Tags = append(spec.Mapping.Tags, TagTemplate{Key: k, Value: p.template("/mapping/tags/"+k, m.Tags[k])})
	}

	for i, e := range raw.Policies {
		at := fmt.Sprintf("/policies/%d", i)
		entry := PolicyEntry{Field: fieldName(at), Scope: e.Scope}
		if e.Name != nil && e.Scope == ScopeOrganizationLevel {
			p.fail(at+"/name", "an organization entry governs the one organization: name is for product and project entries")
		}
		if e.Product != nil && e.Scope != ScopeProjectLevel {
			p.fail(at+"/product", "product is for project entries (a product entry's pattern is its name)")
		}
		if e.Name != nil {
			g := routing.CompileGlob(*e.Name)
			entry.Name = &g
		}
		if e.Product != nil {
			g := routing.CompileGlob(*e.Product)
			entry.Product = &g
		}
		seen := map[string]bool{}
		for j, rp := range e.Policies {
			pat := fmt.Sprintf("%s/policies/%d", at, j)
			pol, err := decodePolicy(rp)
			if err != nil {
				p.fail(pat, "%v", err)
				continue
			}
			if seen[pol.Name] {
				p.fail(pat+"/name", "policy %q is given twice in this entry", pol.Name)
			}
			seen[pol.Name] = true
			if pol.Owner == nil {
				if e.Owner == "" {
					p.fail(pat, "no owner: give the policy or its entry an owner (an e-mail)")
				}
				pol.Owner = &events.PolicyOwner{Email: e.Owner}
			}
			entry.Policies = append(entry.Policies, pol)
		}
		spec.Policies = append(spec.Policies, entry)
	}

	pr := raw.Prune
	spec.Prune = Prune{Action: orDefault(pr.Action, PruneNone), TagKey: DefaultPruneTagKey, TagValue: DefaultPruneTagVal, MaxDeletions: DefaultMaxDeletions, Products: globs(pr.Products)}
	if pr.Tag != nil {
		if spec.Prune.Action != PruneTag {
			p.fail("/prune/tag", "a tag is given only with action tag")
		}
		spec.Prune.TagKey, spec.Prune.TagValue = pr.Tag.Key, pr.Tag.Value
	}
	if pr.MaxDeletions != nil {
		if spec.Prune.Action != PruneDelete {
			p.fail("/prune/maxDeletions", "maxDeletions is given only with action delete")
		}
		spec.Prune.MaxDeletions = *pr.MaxDeletions
	}
	if spec.Prune.Action == PruneTag && slices.ContainsFunc(spec.Mapping.Tags, func(t TagTemplate) bool { return t.Key == spec.Prune.TagKey }) {
		p.fail("/prune/tag/key", "tag %q is also a mapping tag: the prune tag needs a key of its own", spec.Prune.TagKey)
	}
	return spec
}

func (p *parser) template(pointer, text string) *Template {
	t, err := routing.CompileTemplate(text)
	if err != nil {
		p.fail(pointer, "%v", err)
	}
	return &Template{Text: text, Field: fieldName(pointer), t: t}
}

// decodePolicy reads a policy with the command schema's types, strictly: the schema has
// checked its fields, this checks them against the types that send them.
func decodePolicy(rp rawPolicy) (events.Policy, error) {
	var pol struct {
		Name      string              `json:"name"`
		Owner     string              `json:"owner"`
		Inclusive *bool               `json:"inclusive"`
		Filter    events.PolicyFilter `json:"filter"`
		Action    events.PolicyAction `json:"action"`
	}
	b, err := json.Marshal(map[string]any(rp))
	if err != nil {
		return events.Policy{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pol); err != nil {
		return events.Policy{}, err
	}
	inclusive := pol.Inclusive != nil && *pol.Inclusive
	out := events.Policy{Name: pol.Name, Filter: &pol.Filter, Action: &pol.Action, Inclusive: &inclusive}
	if pol.Owner != "" {
		out.Owner = &events.PolicyOwner{Email: pol.Owner}
	}
	return out, nil
}

func globs(patterns []string) []routing.Glob {
	var out []routing.Glob
	for _, s := range patterns {
		out = append(out, routing.CompileGlob(s))
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
