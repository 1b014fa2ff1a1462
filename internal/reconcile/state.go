package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/mendflow/mendflow/pkg/mend"
)

// State is what a plan compares the spec with: Mend's products, their
// projects with their tags, and the policies of the scopes the spec
// governs.
type State struct {
	// Products are sorted by name, and their projects too.
	Products []Product
	// Policies are the policies of each scope read, highest priority
	// first. A scope the spec does not govern is not read.
	Policies map[ScopeKey][]mend.Policy
}

// Product is a Mend product and its projects.
type Product struct {
	Name, Token string
	Projects    []Project
}

// Project is a Mend project and its tags.
type Project struct {
	Name, Token string
	Tags        mend.Tags
}

// ScopeKey names a scope of policies: the organization (both names
// empty), a product (Project empty) or a project.
type ScopeKey struct {
	Product, Project string
}

// String names the scope as a plan does.
func (k ScopeKey) String() string {
	switch {
	case k.Product == "":
		return "the organization"
	case k.Project == "":
		return fmt.Sprintf("product %s", k.Product)
	default:
		return fmt.Sprintf("project %s/%s", k.Product, k.Project)
	}
}

// Mend is how reconcile reads Mend: listing calls only, none per project
// but for the policies of a project the spec governs.
type Mend interface {
	// Products lists the organization's products.
	Products(ctx context.Context) ([]mend.ProductRef, error)
	// ProductProjects lists a product's projects with their tags.
	ProductProjects(ctx context.Context, productToken string) ([]mend.TagsInfo, error)
	// Policies lists the policies of a scope itself, highest priority
	// first.
	Policies(ctx context.Context, scope mend.Scope) ([]mend.Policy, error)
}

// ClientMend reads Mend with the v1.4 listings of a mend.Client:
// getAllProducts, getProductProjectTags per product and the get*Policies
// requests.
type ClientMend struct {
	Client   *mend.Client
	OrgToken string
}

// Products implements Mend.
func (m ClientMend) Products(ctx context.Context) ([]mend.ProductRef, error) {
	resp, _, err := m.Client.Products.List(ctx, &mend.GetAllProductsRequest{OrgToken: m.OrgToken})
	if err != nil {
		return nil, err
	}
	return resp.Products, nil
}

// ProductProjects implements Mend.
func (m ClientMend) ProductProjects(ctx context.Context, productToken string) ([]mend.TagsInfo, error) {
	resp, _, err := m.Client.Projects.GetProductTags(ctx, &mend.GetProductProjectTagsRequest{ProductToken: productToken})
	if err != nil {
		return nil, err
	}
	return resp.ProjectTags, nil
}

// Policies implements Mend.
func (m ClientMend) Policies(ctx context.Context, scope mend.Scope) ([]mend.Policy, error) {
	resp, _, err := m.Client.Policies.List(ctx, scope, nil)
	if err != nil {
		return nil, err
	}
	return resp.Policies, nil
}

// readConcurrency bounds the listing calls made at once: Mend answers
// each in its own time, and the client's rate limit still applies.
const readConcurrency = 8

// ReadState reads Mend's state: its products and their projects, then
// the policies of the scopes governs names (the organization is asked
// for with both names empty).
func ReadState(ctx context.Context, m Mend, orgToken string, governs func(ScopeKey) bool) (*State, error) {
	refs, err := m.Products(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the products: %w", err)
	}
	st := &State{Products: make([]Product, len(refs)), Policies: map[ScopeKey][]mend.Policy{}}
	for i, r := range refs {
		st.Products[i] = Product{Name: r.ProductName, Token: r.ProductToken}
	}
	slices.SortFunc(st.Products, func(a, b Product) int { return strings.Compare(a.Name, b.Name) })

	err = forEach(ctx, len(st.Products), func(ctx context.Context, i int) error {
		p := &st.Products[i]
		infos, err := m.ProductProjects(ctx, p.Token)
		if err != nil {
			return fmt.Errorf("listing the projects of product %s: %w", p.Name, err)
		}
		for _, in := range infos {
			p.Projects = append(p.Projects, Project{Name: in.Name, Token: in.Token, Tags: in.Tags})
		}
		slices.SortFunc(p.Projects, func(a, b Project) int { return strings.Compare(a.Name, b.Name) })
		return nil
	})
	if err != nil {
		return nil, err
	}

	type scoped struct {
		key   ScopeKey
		scope mend.Scope
	}
	var scopes []scoped
	if governs(ScopeKey{}) {
		scopes = append(scopes, scoped{ScopeKey{}, mend.OrgScope(orgToken)})
	}
	for _, p := range st.Products {
		if governs(ScopeKey{Product: p.Name}) {
			scopes = append(scopes, scoped{ScopeKey{Product: p.Name}, mend.ProductScope(p.Token)})
		}
		for _, j := range p.Projects {
			if k := (ScopeKey{Product: p.Name, Project: j.Name}); governs(k) {
				scopes = append(scopes, scoped{k, mend.ProjectScope(j.Token)})
			}
		}
	}
	policies := make([][]mend.Policy, len(scopes))
	err = forEach(ctx, len(scopes), func(ctx context.Context, i int) error {
		var err error
		if policies[i], err = m.Policies(ctx, scopes[i].scope); err != nil {
			return fmt.Errorf("listing the policies of %s: %w", scopes[i].key, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, s := range scopes {
		st.Policies[s.key] = policies[i]
	}
	return st, nil
}

// forEach runs f for 0..n-1, readConcurrency at a time, and returns the
// first error, after which no more start.
func forEach(ctx context.Context, n int, f func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	slots := make(chan struct{}, readConcurrency)
	for i := range n {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := f(ctx, i); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}
