package mendsim

import (
	"fmt"
	"sort"
	"time"

	"github.com/mendflow/mendflow/pkg/mend"
)

// The lookups below answer unknown tokens as Mend does. They run with the
// mutex held.

func (s *Simulator) orgOf(token string) (*org, error) {
	if o := s.st.orgs[token]; o != nil {
		return o, nil
	}
	// An organization the user key has no access to looks the same as one
	// that does not exist.
	return nil, apiError(mend.CodeNotAllowed, "User is not allowed to perform this action")
}

func (s *Simulator) globalOrgOf(token string) (*globalOrg, error) {
	if g := s.st.globalOrgs[token]; g != nil {
		return g, nil
	}
	return nil, apiError(mend.CodeNotAllowed, "User is not allowed to perform this action")
}

func (s *Simulator) productOf(token string) (*product, error) {
	if p := s.st.products[token]; p != nil {
		return p, nil
	}
	return nil, apiError(mend.CodeInvalidProductToken, "Invalid product token: %s", token)
}

func (s *Simulator) projectOf(token string) (*project, error) {
	if p := s.st.projects[token]; p != nil {
		return p, nil
	}
	return nil, apiError(mend.CodeInvalidProjectToken, "Invalid project token: %s", token)
}

// scopeOf finds what t names at an organization, product or project level:
// the organization always, the product at product and project level, the
// project at project level.
func (s *Simulator) scopeOf(level mend.ScopeLevel, t mend.ScopeTokens) (*org, *product, *project, error) {
	switch level {
	case mend.OrganizationLevel:
		o, err := s.orgOf(t.OrgToken)
		return o, nil, nil, err
	case mend.ProductLevel:
		p, err := s.productOf(t.ProductToken)
		if err != nil {
			return nil, nil, nil, err
		}
		return s.st.orgs[p.org], p, nil, nil
	case mend.ProjectLevel:
		j, err := s.projectOf(t.ProjectToken)
		if err != nil {
			return nil, nil, nil, err
		}
		p := s.st.products[j.product]
		return s.st.orgs[p.org], p, j, nil
	}
	return nil, nil, nil, fmt.Errorf("mendsim: no organization, product or project at level %v", level)
}

// belongsTo reports whether the organization or product that token names
// (ctxType mend.ContextOrgs or ContextProducts) is o or in o.
func (s *Simulator) belongsTo(o *org, ctxType, token string) bool {
	switch ctxType {
	case mend.ContextOrgs:
		return token == o.token
	case mend.ContextProducts:
		p := s.st.products[token]
		return p != nil && p.org == o.token
	}
	return false
}

// sortedOrgs returns the organizations in the order they were made.
func (s *Simulator) sortedOrgs() []*org {
	out := make([]*org, 0, len(s.st.orgs))
	for _, o := range s.st.orgs {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].seq < out[j].seq
	})
	return out
}

// productNamed finds a product of o by name.
func (s *Simulator) productNamed(o *org, name string) *product {
	for _, t := range o.products {
		if p := s.st.products[t]; p.name == name {
			return p
		}
	}
	return nil
}

// projectNamed finds a project of p by name.
func (s *Simulator) projectNamed(p *product, name string) *project {
	for _, t := range p.projects {
		if j := s.st.projects[t]; j.name == name {
			return j
		}
	}
	return nil
}

// addProduct creates a product in o.
func (st *state) addProduct(o *org, name string, now time.Time) *product {
	p := &product{id: st.id(), token: newToken(), name: name, org: o.token, created: now, updated: now, tags: tagSet{}}
	st.products[p.token] = p
	o.products = append(o.products, p.token)
	return p
}

// addProject creates a project in p.
func (st *state) addProject(p *product, name string, now time.Time) *project {
	j := &project{
		id: st.id(), token: newToken(), name: name, product: p.token,
		created: now, updated: now, tags: tagSet{}, lastProcess: "SETUP",
	}
	st.projects[j.token] = j
	p.projects = append(p.projects, j.token)
	p.updated = now
	return j
}

func removeString(list []string, v string) []string {
	for i, x := range list {
		if x == v {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}
