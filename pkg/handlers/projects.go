package handlers

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// listProjects lists the projects of a product as names to tokens.
func (s *Set) listProjects(product string) listFunc {
	return func(ctx context.Context) (map[string]string, error) {
		resp, _, err := s.projects.List(ctx, &mend.GetAllProjectsRequest{ProductToken: product})
		if err != nil {
			return nil, err
		}
		names := make(map[string]string, len(resp.Projects))
		for _, p := range resp.Projects {
			names[p.ProjectName] = p.ProjectToken
		}
		return names, nil
	}
}

// projectToken returns the token of the project named name in a product,
// and whether it exists. An unknown product token (1003) is a project not
// there.
func (s *Set) projectToken(ctx context.Context, product, name string) (string, bool, error) {
	tok, ok, err := s.projectNames.lookup(ctx, product, name, s.listProjects(product))
	if mend.IsCode(err, mend.CodeInvalidProductToken) {
		return "", false, nil
	}
	return tok, ok, err
}

// project is a resolved project reference.
type project struct {
	token   string
	product string // its product's token; "" when not known
}

// resolveProject finds the project ref names. A project token is taken as
// given, with its product if ref names one; names are looked up.
func (s *Set) resolveProject(ctx context.Context, org string, ref events.ProjectRef) (project, bool, error) {
	var p project
	if ref.ProductToken != "" || ref.ProductName != "" {
		tok, ok, err := s.resolveProduct(ctx, org, events.ProductRef{ProductToken: ref.ProductToken, ProductName: ref.ProductName})
		if err != nil || !ok {
			return project{}, false, err
		}
		p.product = tok
	}
	if ref.ProjectToken != "" {
		p.token = ref.ProjectToken
		return p, true, nil
	}
	tok, ok, err := s.projectToken(ctx, p.product, ref.ProjectName)
	p.token = tok
	return p, ok, err
}

// productOf finds the product of a project known by its token alone, by
// listing the organization's products and their projects: the v1.4 API
// answers no project with its product. The lists are cached.
func (s *Set) productOf(ctx context.Context, org, projectToken string) (string, bool, error) {
	products, err := s.productNames.refresh(ctx, org, s.listProducts(org))
	if err != nil {
		return "", false, err
	}
	for _, product := range slices.Sorted(maps.Values(products)) {
		names, err := s.projectNames.refresh(ctx, product, s.listProjects(product))
		if mend.IsCode(err, mend.CodeInvalidProductToken) {
			continue // deleted meanwhile
		}
		if err != nil {
			return "", false, err
		}
		if slices.Contains(slices.Collect(maps.Values(names)), projectToken) {
			return product, true, nil
		}
	}
	return "", false, nil
}

// describeProject names a project for messages.
func describeProject(ref events.ProjectRef) string {
	if ref.ProjectToken != "" {
		return "project " + ref.ProjectToken
	}
	product := ref.ProductName
	if product == "" {
		product = ref.ProductToken
	}
	return fmt.Sprintf("project %q in product %q", ref.ProjectName, product)
}

// projectCreate creates a project, its product if asked, and its tags,
// unless they exist. A first delivery trusts the cache to know whether the
// project exists and lets Mend's name conflict (2010) say so otherwise,
// which keeps a create to one call; a redelivery, which may follow a
// create whose answer was lost, looks the project up first. Tags are read
// only when the project was already there, and only missing values saved.
func (s *Set) projectCreate(ctx context.Context, cmd *Command, d *events.ProjectCreate) (Result, error) {
	org := s.org(d.OrgToken)
	res := events.ProjectCreated{OrgToken: org, ProductName: d.ProductName, ProjectName: d.ProjectName}

	product, ok, err := s.resolveProduct(ctx, org, events.ProductRef{ProductToken: d.ProductToken, ProductName: d.ProductName})
	switch {
	case err != nil:
		return Result{}, err
	case !ok && d.CreateProduct:
		if product, _, err = s.ensureProduct(ctx, org, d.ProductName); err != nil {
			return Result{}, err
		}
	case !ok:
		return Result{}, notFound("product %q", d.ProductName)
	}
	res.ProductToken = product
	if res.ProductName == "" {
		// The contract's project.created names the product, also when
		// the command gave its token alone.
		if res.ProductName, err = s.productName(ctx, org, product); err != nil {
			return Result{}, err
		}
	}

	tok, exists := s.projectNames.peek(product, d.ProjectName)
	if !exists && cmd.Attempt > 1 {
		if tok, exists, err = s.projectToken(ctx, product, d.ProjectName); err != nil {
			return Result{}, err
		}
	}
	if !exists {
		resp, _, err := s.projects.Create(ctx, &mend.CreateProjectRequest{
			ProductToken: product, ProjectName: d.ProjectName, ProjectDescription: d.ProjectDescription,
		})
		switch {
		case err == nil:
			tok, res.Created = resp.ProjectToken, true
			s.projectNames.put(product, d.ProjectName, tok)
		case mend.IsCode(err, mend.CodeProjectNameTaken):
			if tok, exists, err = s.projectNames.relist(ctx, product, d.ProjectName, s.listProjects(product)); err != nil {
				return Result{}, err
			}
			if !exists {
				return Result{}, notFound("project %q in product %s", d.ProjectName, product)
			}
		case mend.IsCode(err, mend.CodeInvalidProductToken):
			return Result{}, notFound("product %s", product)
		default:
			return Result{}, err
		}
	}
	res.ProjectToken = tok

	if len(d.Tags) > 0 {
		if res.TagsSaved, err = s.saveProjectTags(ctx, tok, d.Tags, res.Created); err != nil {
			return Result{}, err
		}
	}
	return resultOf(events.TypeProjectCreated, res), nil
}

// saveProjectTags saves the tag values a project lacks: all of them on a
// project just created, which has none.
func (s *Set) saveProjectTags(ctx context.Context, token string, tags map[string]string, fresh bool) (map[string]string, error) {
	t := s.projectTags(token)
	have := mend.Tags{}
	if !fresh {
		var err error
		if have, err = t.get(ctx); err != nil {
			return nil, err
		}
	}
	saved := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if have.Has(k, tags[k]) {
			continue
		}
		if err := t.save(ctx, k, tags[k]); err != nil {
			return nil, err
		}
		saved[k] = tags[k]
	}
	return saved, nil
}

// projectDelete deletes a project; like productDelete, it waits for a
// project not there yet, and then counts it deleted with Deleted false.
func (s *Set) projectDelete(ctx context.Context, _ *Command, d *events.ProjectDelete) (Result, error) {
	org := s.org(d.OrgToken)
	res := events.ProjectDeleted{OrgToken: org, ProductToken: d.ProductToken, ProductName: d.ProductName, ProjectToken: d.ProjectToken, ProjectName: d.ProjectName}
	absent := absentOr(resultOf(events.TypeProjectDeleted, res), "%s", describeProject(d.ProjectRef))
	p, ok, err := s.resolveProject(ctx, org, d.ProjectRef)
	if err == nil && ok && p.product == "" {
		// deleteProject needs the product too.
		p.product, ok, err = s.productOf(ctx, org, p.token)
	}
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, absent
	}
	_, _, err = s.projects.Delete(ctx, &mend.DeleteProjectRequest{ProductToken: p.product, ProjectToken: p.token})
	if mend.IsNotFound(err) {
		return Result{}, absent
	}
	if err != nil {
		return Result{}, err
	}
	s.projectNames.forget(p.product, p.token)
	res.ProductToken, res.ProjectToken, res.Deleted = p.product, p.token, true
	return resultOf(events.TypeProjectDeleted, res), nil
}

// projectTags is the project side of changeTag.
func (s *Set) projectTags(token string) tagged {
	return tagged{
		get: func(ctx context.Context) (mend.Tags, error) {
			resp, _, err := s.projects.GetTags(ctx, &mend.GetProjectTagsRequest{ProjectToken: token})
			if err != nil {
				return nil, err
			}
			return firstTags(resp.ProjectTags), nil
		},
		save: func(ctx context.Context, key, value string) error {
			_, _, err := s.projects.SaveTag(ctx, &mend.ProjectTagRequest{ProjectToken: token, TagKey: key, TagValue: value})
			return err
		},
		remove: func(ctx context.Context, key, value string) error {
			_, _, err := s.projects.RemoveTag(ctx, &mend.ProjectTagRequest{ProjectToken: token, TagKey: key, TagValue: value})
			return err
		},
	}
}

func (s *Set) projectTagSave(ctx context.Context, _ *Command, d *events.ProjectTagSave) (Result, error) {
	return s.projectTag(ctx, &d.ProjectTag, saveTag)
}

func (s *Set) projectTagRemove(ctx context.Context, _ *Command, d *events.ProjectTagRemove) (Result, error) {
	return s.projectTag(ctx, &d.ProjectTag, removeTag)
}

// projectTag saves or removes a tag value of a project. A tag arriving
// before its project waits for it.
func (s *Set) projectTag(ctx context.Context, d *events.ProjectTag, op tagOp) (Result, error) {
	org := s.org(d.OrgToken)
	res := events.ProjectTagChanged{OrgToken: org, ProjectToken: d.ProjectToken, ProjectName: d.ProjectName, TagKey: d.TagKey, TagValue: d.TagValue}
	typ := op.pick(events.TypeProjectTagged, events.TypeProjectUntagged)
	missing := op.missing(resultOf(typ, res), describeProject(d.ProjectRef))
	p, ok, err := s.resolveProject(ctx, org, d.ProjectRef)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, missing
	}
	res.ProjectToken = p.token
	res.Changed, err = changeTag(ctx, s.projectTags(p.token), op, d.TagKey, d.TagValue)
	if mend.IsCode(err, mend.CodeInvalidProjectToken) {
		return Result{}, missing
	}
	if err != nil {
		return Result{}, err
	}
	return resultOf(typ, res), nil
}

// projectReassign moves a project to another product, unless it is there
// already: found there by name after an earlier delivery moved it, or
// found in the new product by its token.
func (s *Set) projectReassign(ctx context.Context, _ *Command, d *events.ProjectReassign) (Result, error) {
	org := s.org(d.OrgToken)
	res := events.ProjectReassigned{OrgToken: org, ProjectToken: d.ProjectToken, ProjectName: d.ProjectName, NewProductToken: d.NewProductToken, NewProductName: d.NewProductName}
	target := events.ProductRef{ProductToken: d.NewProductToken, ProductName: d.NewProductName}
	to, ok, err := s.resolveProduct(ctx, org, target)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, notFound("%s", describeProduct(target))
	}
	res.NewProductToken = to

	p, ok, err := s.resolveProject(ctx, org, d.ProjectRef)
	if err == nil && !ok && d.ProjectToken == "" {
		// Not in its old product: an earlier delivery may have moved it.
		var tok string
		if tok, ok, err = s.projectToken(ctx, to, d.ProjectName); ok {
			p = project{token: tok, product: to}
		}
	}
	if err == nil && ok && p.product == "" {
		p.product, ok, err = s.productOf(ctx, org, p.token)
	}
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, notFound("%s", describeProject(d.ProjectRef))
	}
	if p.product != to {
		// The old product came from the command or from a cached list:
		// an earlier delivery, here or in another worker, may have moved
		// the project since. Only a fresh list of the new product tells.
		names, err := s.projectNames.refresh(ctx, to, s.listProjects(to))
		if err != nil {
			return Result{}, err
		}
		if _, ok := nameOfToken(names, p.token); ok {
			p.product = to
		}
	}
	res.ProjectToken, res.OldProductToken = p.token, p.product
	if p.product == to {
		return resultOf(events.TypeProjectReassigned, res), nil
	}
	_, _, err = s.projects.ChangeAssignment(ctx, &mend.ChangeProjectAssignmentRequest{OrgToken: org, ProjectToken: p.token, NewProductToken: to})
	if mend.IsNotFound(err) {
		return Result{}, notFound("%s", describeProject(d.ProjectRef))
	}
	if err != nil {
		return Result{}, err
	}
	s.projectNames.forget(p.product, p.token)
	s.projectNames.drop(to) // its next lookup lists it with the project
	res.Reassigned = true
	return resultOf(events.TypeProjectReassigned, res), nil
}
