package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mendflow/mendflow/internal/routing"
)

// Desired is the state the spec asks of Mend for the repositories listed:
// one project for each, sorted by product and project.
type Desired struct {
	// Repositories counts the repositories listed and kept by the filters.
	Repositories int
	Projects     []DesiredProject
}

// DesiredProject is the project a repository maps to.
type DesiredProject struct {
	Product, Project string
	// Description is given to a project created; Mend lists no
	// descriptions, so an existing project's is left alone.
	Description string
	// Tags holds a value for each managed key; "" means the key should
	// hold none.
	Tags map[string]string
	// Repository is the full name of the repository, for messages.
	Repository string
}

// Map applies the spec's mapping to the repositories. Two repositories
// mapping to one project are an error: the project would follow both.
func (s *Spec) Map(repos []Repository) (*Desired, error) {
	d := &Desired{Repositories: len(repos), Projects: make([]DesiredProject, 0, len(repos))}
	byName := make(map[ScopeKey]string, len(repos))
	for i := range repos {
		r := &repos[i]
		data, noun := r.json(), "repository "+r.FullName
		var err error
		p := DesiredProject{Repository: r.FullName, Tags: make(map[string]string, len(s.Mapping.Tags))}
		if p.Product, err = s.Mapping.Product.eval(data, noun); err != nil {
			return nil, err
		}
		if p.Project, err = s.Mapping.Project.eval(data, noun); err != nil {
			return nil, err
		}
		if p.Product == "" || p.Project == "" {
			return nil, fmt.Errorf("%s: mapping: the product or project name is empty", noun)
		}
		if s.Mapping.Description != nil {
			if p.Description, err = s.Mapping.Description.eval(data, noun); err != nil && !routing.IsMissing(err) {
				return nil, err
			}
		}
		for _, t := range s.Mapping.Tags {
			v, err := t.Value.eval(data, noun)
			if err != nil && !routing.IsMissing(err) {
				return nil, err
			}
			p.Tags[t.Key] = strings.TrimSpace(v)
		}
		k := ScopeKey{Product: p.Product, Project: p.Project}
		if other, dup := byName[k]; dup {
			return nil, fmt.Errorf("repositories %s and %s both map to project %s in product %s: change the mapping or filter one out", other, r.FullName, p.Project, p.Product)
		}
		byName[k] = r.FullName
		d.Projects = append(d.Projects, p)
	}
	slices.SortFunc(d.Projects, func(a, b DesiredProject) int {
		return cmpKeys(ScopeKey{a.Product, a.Project}, ScopeKey{b.Product, b.Project})
	})
	return d, nil
}

func (t *Template) eval(data []byte, noun string) (string, error) {
	v, err := t.t.Text(data, "the "+noun)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", noun, t.Field, err)
	}
	return v, nil
}

func cmpKeys(a, b ScopeKey) int {
	if c := strings.Compare(a.Product, b.Product); c != 0 {
		return c
	}
	return strings.Compare(a.Project, b.Project)
}

// Governs reports whether the spec holds the policies of a scope: the
// organization (an empty key), a product, or a project that some
// repository maps to. A scope no entry matches is left alone.
func (s *Spec) Governs(d *Desired, k ScopeKey) bool {
	if k.Project != "" && !d.has(k) {
		return false
	}
	return slices.ContainsFunc(s.Policies, func(e PolicyEntry) bool { return e.governs(k) })
}

func (e *PolicyEntry) governs(k ScopeKey) bool {
	if k.Product == "" {
		return e.Scope == ScopeOrganizationLevel
	}
	return e.Matches(k.Product, k.Project)
}

func (d *Desired) has(k ScopeKey) bool {
	_, ok := slices.BinarySearchFunc(d.Projects, k, func(p DesiredProject, k ScopeKey) int {
		return cmpKeys(ScopeKey{p.Product, p.Project}, k)
	})
	return ok
}

// MakePlan lists the spec's repositories, reads Mend's state (orgToken
// unless the spec names its organization) and plans the changes.
func MakePlan(ctx context.Context, spec *Spec, src SourceOptions, m Mend, orgToken string) (*Plan, error) {
	repos, err := ListRepositories(ctx, spec, src)
	if err != nil {
		return nil, err
	}
	d, err := spec.Map(repos)
	if err != nil {
		return nil, err
	}
	st, err := ReadState(ctx, m, orDefault(spec.Organization, orgToken), func(k ScopeKey) bool { return spec.Governs(d, k) })
	if err != nil {
		return nil, fmt.Errorf("reading Mend: %w", err)
	}
	return NewPlan(spec, d, st)
}
