package handlers

import (
	"context"
	"fmt"

	"github.com/mendflow/mendflow/pkg/events"
)

// Repositories remember the Mend project each repository became, by the
// stable id its SCM gives it (events.Repository), across deliveries,
// workers and restarts: a repository renamed or moved to another owner is
// found again whatever it is called now. The project's token is what an
// entry is trusted for, since Mend keeps it through renames and moves; its
// product and names are as the worker last saw them. An entry lost costs
// calls, not correctness: the names of the next command about the
// repository find the project, and map it again.
type Repositories interface {
	// Get returns the project the repository became in the organization
	// org, and whether it is mapped.
	Get(ctx context.Context, org string, repo events.Repository) (MappedProject, bool, error)
	// Put maps the repository to a project of org.
	Put(ctx context.Context, org string, repo events.Repository, p MappedProject) error
	// Delete forgets the repository's project in org.
	Delete(ctx context.Context, org string, repo events.Repository) error
}

// MappedProject is the project a repository became.
type MappedProject struct {
	ProductToken string `json:"productToken"`
	ProductName  string `json:"productName,omitempty"`
	ProjectToken string `json:"projectToken"`
	ProjectName  string `json:"projectName,omitempty"`
}

// storeError is a failure of the repositories' store: the command is
// tried again later, as when the store of its lock fails.
func storeError(err error) error { return BusyError{Err: fmt.Errorf("repository map: %w", err)} }

// mapping returns the entry of repo in org, if the Set has a map and repo
// an entry.
func (s *Set) mapping(ctx context.Context, org string, repo *events.Repository) (MappedProject, bool, error) {
	if repo == nil || s.cfg.Repositories == nil {
		return MappedProject{}, false, nil
	}
	m, ok, err := s.cfg.Repositories.Get(ctx, org, *repo)
	if err != nil {
		return MappedProject{}, false, storeError(err)
	}
	return m, ok, nil
}

// mappedProject returns the project repo is mapped to in org, with its
// product as Mend or the last minute knows it, when Mend still knows the
// project. An entry whose project is gone is forgotten: the names decide.
func (s *Set) mappedProject(ctx context.Context, org string, repo *events.Repository) (project, bool, error) {
	m, ok, err := s.mapping(ctx, org, repo)
	if err != nil || !ok {
		return project{}, false, err
	}
	p, ok, err := s.productOf(ctx, org, m.ProjectToken, false)
	if err != nil {
		return project{}, false, err
	}
	if !ok {
		// Gone, which a cached list may not know yet.
		s.projectNames.forget(m.ProductToken, m.ProjectToken)
		return project{}, false, s.unmapRepository(ctx, org, repo)
	}
	p.mapped = true
	return p, true, nil
}

// mapRepository maps repo, if any, to the project p is.
func (s *Set) mapRepository(ctx context.Context, org string, repo *events.Repository, p MappedProject) error {
	if repo == nil || s.cfg.Repositories == nil {
		return nil
	}
	if err := s.cfg.Repositories.Put(ctx, org, *repo, p); err != nil {
		return storeError(err)
	}
	return nil
}

// unmapRepository forgets the project of repo, if any.
func (s *Set) unmapRepository(ctx context.Context, org string, repo *events.Repository) error {
	if repo == nil || s.cfg.Repositories == nil {
		return nil
	}
	if err := s.cfg.Repositories.Delete(ctx, org, *repo); err != nil {
		return storeError(err)
	}
	return nil
}
