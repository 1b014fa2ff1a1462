package handlers

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// listProjects lists the projects of a product as names to tokens, and
// notes the product of each.
func (s *Set) listProjects(product string) listFunc {
	return func(ctx context.Context) (map[string]string, error) {
		resp, _, err := s.projects.List(ctx, &mend.GetAllProjectsRequest{ProductToken: product})
		if err != nil {
			return nil, err
		}
		names := make(map[string]string, len(resp.Projects))
		for _, p := range resp.Projects {
			names[p.ProjectName] = p.ProjectToken
			s.homes.put(p.ProjectToken, product)
		}
		return names, nil
	}
}

// listProjectTags lists the projects of a product with their tags
// (getProductProjectTags): the list of names listProjects gives, in the
// same one call, with the tags of each, which it keeps in *tags.
func (s *Set) listProjectTags(product string, tags *map[string]mend.Tags) listFunc {
	return func(ctx context.Context) (map[string]string, error) {
		resp, _, err := s.projects.GetProductTags(ctx, &mend.GetProductProjectTagsRequest{ProductToken: product})
		if err != nil {
			return nil, err
		}
		names := make(map[string]string, len(resp.ProjectTags))
		*tags = make(map[string]mend.Tags, len(resp.ProjectTags))
		for _, p := range resp.ProjectTags {
			names[p.Name] = p.Token
			(*tags)[p.Token] = p.Tags
			s.homes.put(p.Token, product)
		}
		return names, nil
	}
}

// projectToken returns the token of the project named name in a product,
// and whether it exists. A product not there (1003, or 5001 for one out
// of sight) has no project.
func (s *Set) projectToken(ctx context.Context, product, name string) (string, bool, error) {
	return s.projectTokenWith(ctx, product, name, s.listProjects(product))
}

func (s *Set) projectTokenWith(ctx context.Context, product, name string, list listFunc) (string, bool, error) {
	tok, ok, err := s.projectNames.lookup(ctx, product, name, list)
	if mend.IsNotFound(err) {
		return "", false, nil
	}
	return tok, ok, err
}

// project is a resolved project reference.
type project struct {
	token   string
	product string // its product's token; "" when not known
	// current is set when product was looked up, or listed, by this
	// command: what Mend holds now, not what a cache remembers.
	current bool
	// name is the project's name as Mend answered it to this command;
	// "" when not known.
	name string
	// mapped is set when the project was found by its repository's entry
	// in the map (Repositories).
	mapped bool
}

// resolveProject finds the project ref names: the project its repository
// is mapped to, if any; else a project token is taken as given, with its
// product if ref names one; names are looked up.
func (s *Set) resolveProject(ctx context.Context, org string, ref events.ProjectRef) (project, bool, error) {
	return s.resolveProjectWith(ctx, org, ref, s.listProjects)
}

// resolveProjectWith is resolveProject listing a product's projects, when
// it must, with list.
func (s *Set) resolveProjectWith(ctx context.Context, org string, ref events.ProjectRef, list func(product string) listFunc) (project, bool, error) {
	if ref.ProjectToken == "" {
		if p, ok, err := s.mappedProject(ctx, org, ref.Repository); err != nil || ok {
			return p, ok, err
		}
	}
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
	start := s.cfg.Now()
	tok, ok, err := s.projectTokenWith(ctx, p.product, ref.ProjectName, list(p.product))
	p.token, p.current = tok, s.projectNames.listedSince(p.product, start)
	return p, ok, err
}

// productOf finds the product of a project known by its token alone: from
// the products of projects seen lately, or else in one call, the v2.0
// GET /api/v2.0/projects/{projectToken}, whose answer names the product
// (the v1.4 API answers no project with its product). fresh asks for the
// call whatever the cache holds.
func (s *Set) productOf(ctx context.Context, org, projectToken string, fresh bool) (project, bool, error) {
	if product, ok := s.homes.get(projectToken); ok && !fresh {
		return project{token: projectToken, product: product}, true, nil
	}
	e, _, err := s.projects.Get(ctx, org, projectToken)
	if mend.IsNotFound(err) {
		s.homes.forget(projectToken)
		return project{}, false, nil
	}
	if err != nil {
		return project{}, false, err
	}
	// The v2.0 answer names the product by its UUID, which the v1.4
	// requests take where they ask for its token.
	s.homes.put(projectToken, e.ProductUUID)
	return project{token: projectToken, product: e.ProductUUID, current: true, name: e.Name}, true, nil
}

// projectGone reports whether Mend no longer knows the project at all
// (getProjectVitals answers 1004): after a request naming it with a
// product failed as not found, it tells a project deleted from one moved.
func (s *Set) projectGone(ctx context.Context, projectToken string) (bool, error) {
	_, _, err := s.projects.GetVitals(ctx, &mend.GetProjectVitalsRequest{ProjectToken: projectToken})
	if mend.IsNotFound(err) {
		return true, nil
	}
	return false, err
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
func (s *Set) projectCreate(ctx context.Context, cmd *Delivery, d *events.ProjectCreate) (Result, error) {
	org := s.org(d.OrgToken)
	res := events.ProjectCreated{OrgToken: org, ProductName: d.ProductName, ProjectName: d.ProjectName}

	if res, ok, err := s.projectMapped(ctx, org, d); err != nil || ok {
		return res, err
	}
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
			s.homes.put(tok, product)
		case mend.IsCode(err, mend.CodeProjectNameTaken):
			if tok, exists, err = s.projectNames.relist(ctx, product, d.ProjectName, s.listProjects(product)); err != nil {
				return Result{}, err
			}
			if !exists {
				return Result{}, notFound("project %q in product %s", d.ProjectName, product)
			}
		case mend.IsNotFound(err):
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
	if err := s.mapRepository(ctx, org, d.Repository, MappedProject{
		ProductToken: product, ProductName: res.ProductName, ProjectToken: tok, ProjectName: d.ProjectName,
	}); err != nil {
		return Result{}, err
	}
	return resultOf(events.TypeProjectCreated, res), nil
}

// projectMapped answers a project.create whose repository is mapped to a
// project Mend still has: the repository's project exists, whatever it is
// called now and wherever it is, so it is not created again; its missing
// tag values are saved. ok is false when the command is to create it.
func (s *Set) projectMapped(ctx context.Context, org string, d *events.ProjectCreate) (Result, bool, error) {
	m, ok, err := s.mapping(ctx, org, d.Repository)
	if err != nil || !ok {
		return Result{}, false, err
	}
	e, _, err := s.projects.Get(ctx, org, m.ProjectToken)
	if mend.IsNotFound(err) {
		// Gone since, which a cached list may not know: the command makes
		// the repository's project anew.
		s.projectNames.forget(m.ProductToken, m.ProjectToken)
		s.homes.forget(m.ProjectToken)
		return Result{}, false, s.unmapRepository(ctx, org, d.Repository)
	}
	if err != nil {
		return Result{}, false, err
	}
	s.homes.put(m.ProjectToken, e.ProductUUID)
	res := events.ProjectCreated{OrgToken: org, ProductToken: e.ProductUUID, ProductName: e.ProductName, ProjectToken: m.ProjectToken, ProjectName: e.Name}
	if len(d.Tags) > 0 {
		if res.TagsSaved, err = s.saveProjectTags(ctx, m.ProjectToken, d.Tags, false); err != nil {
			return Result{}, false, err
		}
	}
	return resultOf(events.TypeProjectCreated, res), true, nil
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
// project not there yet, and then counts it deleted with Deleted false. A
// project this command found (by its names, or its token's lookup) that
// deleteProject then does not find is gone: removed by an attempt of this
// call whose answer was lost, or by anyone; Deleted says so, true.
func (s *Set) projectDelete(ctx context.Context, _ *Delivery, d *events.ProjectDelete) (Result, error) {
	org := s.org(d.OrgToken)
	res := events.ProjectDeleted{OrgToken: org, ProductToken: d.ProductToken, ProductName: d.ProductName, ProjectToken: d.ProjectToken, ProjectName: d.ProjectName}
	absent := absentOr(resultOf(events.TypeProjectDeleted, res), "%s", describeProject(d.ProjectRef))
	p, ok, err := s.resolveProject(ctx, org, d.ProjectRef)
	found := ok && d.ProjectToken == ""
	if err == nil && ok && p.product == "" {
		// deleteProject needs the product too.
		p, ok, err = s.productOf(ctx, org, p.token, false)
		found = ok
	}
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, absent
	}
	_, _, err = s.projects.Delete(ctx, &mend.DeleteProjectRequest{ProductToken: p.product, ProjectToken: p.token})
	if mend.IsNotFound(err) {
		if !found {
			return Result{}, absent
		}
		// Not in that product any more: gone, or moved meanwhile.
		var gone bool
		if gone, err = s.projectGone(ctx, p.token); err == nil && !gone {
			// Moved: the next delivery looks it up afresh.
			s.projectNames.forget(p.product, p.token)
			s.homes.forget(p.token)
			return Result{}, notFound("%s in product %s", describeProject(d.ProjectRef), p.product)
		}
	}
	if err != nil {
		return Result{}, err
	}
	s.projectNames.forget(p.product, p.token)
	s.homes.forget(p.token)
	if err := s.unmapRepository(ctx, org, d.Repository); err != nil {
		return Result{}, err
	}
	if p.name != "" {
		res.ProjectName = p.name // found by its token or repository: as Mend called it
	}
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

func (s *Set) projectTagSave(ctx context.Context, _ *Delivery, d *events.ProjectTagSave) (Result, error) {
	return s.projectTag(ctx, &d.ProjectTag, saveTag)
}

func (s *Set) projectTagRemove(ctx context.Context, _ *Delivery, d *events.ProjectTagRemove) (Result, error) {
	return s.projectTag(ctx, &d.ProjectTag, removeTag)
}

// projectTag saves or removes a tag value of a project. A tag arriving
// before its project waits for it. A project named by names whose product
// is not listed lately is listed with the tags of its projects
// (getProductProjectTags), which then need no call of their own.
func (s *Set) projectTag(ctx context.Context, d *events.ProjectTag, op tagOp) (Result, error) {
	org := s.org(d.OrgToken)
	res := events.ProjectTagChanged{OrgToken: org, ProjectToken: d.ProjectToken, ProjectName: d.ProjectName, TagKey: d.TagKey, TagValue: d.TagValue}
	typ := op.pick(events.TypeProjectTagged, events.TypeProjectUntagged)
	missing := op.missing(resultOf(typ, res), describeProject(d.ProjectRef))
	var listed map[string]mend.Tags
	p, ok, err := s.resolveProjectWith(ctx, org, d.ProjectRef, func(product string) listFunc {
		return s.listProjectTags(product, &listed)
	})
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, missing
	}
	res.ProjectToken = p.token
	if p.name != "" {
		res.ProjectName = p.name // found by its token or repository: as Mend calls it
	}
	t := s.projectTags(p.token)
	if tags, ok := listed[p.token]; ok {
		t.known = &tags
	}
	res.Changed, err = changeTag(ctx, t, op, d.TagKey, d.TagValue)
	if mend.IsNotFound(err) {
		return Result{}, missing
	}
	if err != nil {
		return Result{}, err
	}
	if !p.mapped && p.product != "" {
		// Found by its names: the repository is mapped again.
		if err := s.mapRepository(ctx, org, d.Repository, MappedProject{
			ProductToken: p.product, ProductName: d.ProductName, ProjectToken: p.token, ProjectName: d.ProjectName,
		}); err != nil {
			return Result{}, err
		}
	}
	return resultOf(typ, res), nil
}

// projectReassign moves a project to another product, unless it is there
// already: found there by name after an earlier delivery moved it, or
// found in the new product by its token. Where the project is comes from
// this command's own look (a list of its product, or the v2.0 project);
// a cached one is looked at again first. A target product that is missing
// is created when the command asks, once the project is found; a new
// project name, when the command gives one, is the project's after the
// move.
func (s *Set) projectReassign(ctx context.Context, _ *Delivery, d *events.ProjectReassign) (Result, error) {
	org := s.org(d.OrgToken)
	res := events.ProjectReassigned{OrgToken: org, ProjectToken: d.ProjectToken, ProjectName: d.ProjectName, NewProductToken: d.NewProductToken, NewProductName: d.NewProductName}
	target := events.ProductRef{ProductToken: d.NewProductToken, ProductName: d.NewProductName}
	to, toFound, err := s.resolveProduct(ctx, org, target)
	if err != nil {
		return Result{}, err
	}
	if !toFound && !d.CreateProduct {
		return Result{}, notFound("%s", describeProduct(target))
	}

	p, ok, err := s.whereIs(ctx, org, d.ProjectRef, to)
	if err == nil && !ok && toFound && d.NewProjectName != "" && d.ProjectToken == "" {
		// Moved and renamed by an earlier delivery.
		var tok string
		tok, ok, err = s.projectToken(ctx, to, d.NewProjectName)
		p = project{token: tok, product: to, name: d.NewProjectName}
	}
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, notFound("%s", describeProject(d.ProjectRef))
	}
	if !toFound {
		if to, res.ProductCreated, err = s.ensureProduct(ctx, org, d.NewProductName); err != nil {
			return Result{}, err
		}
	}
	res.ProjectToken, res.OldProductToken, res.NewProductToken = p.token, p.product, to
	if p.product != to {
		_, _, err = s.projects.ChangeAssignment(ctx, &mend.ChangeProjectAssignmentRequest{OrgToken: org, ProjectToken: p.token, NewProductToken: to})
		if mend.IsNotFound(err) {
			return Result{}, notFound("%s", describeProject(d.ProjectRef))
		}
		if err != nil {
			return Result{}, err
		}
		s.moved(p, to)
		p.product, res.Reassigned = to, true
	}
	name := p.name
	if name == "" && !p.mapped && d.ProjectToken == "" {
		name = d.ProjectName // found by it
	}
	if d.NewProjectName != "" {
		if res.Renamed, err = s.renameProject(ctx, org, p, name, d.NewProjectName); err != nil {
			return Result{}, err
		}
		name = d.NewProjectName
	}
	if name != "" {
		res.ProjectName = name
	}
	if err := s.mapRepository(ctx, org, d.Repository, MappedProject{
		ProductToken: to, ProductName: d.NewProductName, ProjectToken: p.token, ProjectName: name,
	}); err != nil {
		return Result{}, err
	}
	return resultOf(events.TypeProjectReassigned, res), nil
}

// whereIs finds the project ref names, and its product as Mend holds it
// now, for a move to the product to ("" when it does not exist yet). By
// names, a project no longer under its old product may be in to already,
// moved by an earlier delivery.
func (s *Set) whereIs(ctx context.Context, org string, ref events.ProjectRef, to string) (project, bool, error) {
	p, ok, err := s.resolveProject(ctx, org, ref)
	switch {
	case err != nil:
		return project{}, false, err
	case ref.ProjectToken != "", p.mapped && !p.current:
		// The product the command names, or the one a cache remembers,
		// may be where it was: only the project itself tells.
		return s.productOf(ctx, org, p.token, true)
	case p.mapped:
		return p, true, nil
	case ok && !p.current:
		// Found in a cached list: an earlier delivery, here or in another
		// worker, may have moved it since. The product's list tells.
		start := s.cfg.Now()
		var tok string
		if tok, ok, err = s.projectNames.relist(ctx, p.product, ref.ProjectName, s.listProjects(p.product)); err != nil {
			return project{}, false, err
		}
		p.token, p.current = tok, s.projectNames.listedSince(p.product, start)
	}
	if ok || to == "" {
		return p, ok, nil
	}
	// Not under its old product: an earlier delivery may have moved it.
	tok, ok, err := s.projectToken(ctx, to, ref.ProjectName)
	return project{token: tok, product: to}, ok, err
}

// projectRename gives a project a new name, unless it has it already. The
// project is the one its repository is mapped to, else the one its token
// or its names find; one its names no longer find, but its new name does,
// was renamed before. A project found under neither, when the command
// names it as it is to be called (a CDEvent of a repository modified in
// ways other than its name), is waited for and then left as it is.
func (s *Set) projectRename(ctx context.Context, _ *Delivery, d *events.ProjectRename) (Result, error) {
	org := s.org(d.OrgToken)
	res := events.ProjectRenamed{OrgToken: org, ProductToken: d.ProductToken, ProjectToken: d.ProjectToken, ProjectName: d.NewProjectName}
	p, ok, err := s.resolveProject(ctx, org, d.ProjectRef)
	if err != nil {
		return Result{}, err
	}
	byNames := ok && !p.mapped && d.ProjectToken == ""
	if ok && !byNames && p.name == "" {
		// Found by its token: Mend says what it is called now.
		p, ok, err = s.productOf(ctx, org, p.token, true)
		if err != nil {
			return Result{}, err
		}
	}
	if !ok && d.ProjectToken == "" && d.ProjectName != d.NewProjectName {
		renamed := d.ProjectRef
		renamed.ProjectName, renamed.Repository = d.NewProjectName, nil
		if p, ok, err = s.resolveProject(ctx, org, renamed); err != nil {
			return Result{}, err
		}
		p.name = d.NewProjectName
	}
	if !ok {
		if d.ProjectName == d.NewProjectName {
			return Result{}, absentOr(resultOf(events.TypeProjectRenamed, res), "%s", describeProject(d.ProjectRef))
		}
		return Result{}, notFound("%s", describeProject(d.ProjectRef))
	}
	if byNames {
		p.name = d.ProjectName
	}
	res.ProductToken, res.ProjectToken = p.product, p.token
	if res.Changed, err = s.renameProject(ctx, org, p, p.name, d.NewProjectName); err != nil {
		return Result{}, err
	}
	if res.Changed {
		res.OldProjectName = p.name
	}
	if !p.mapped || res.Changed {
		if err := s.mapRepository(ctx, org, d.Repository, MappedProject{
			ProductToken: p.product, ProductName: d.ProductName, ProjectToken: p.token, ProjectName: d.NewProjectName,
		}); err != nil {
			return Result{}, err
		}
	}
	return resultOf(events.TypeProjectRenamed, res), nil
}

// NameTakenError is a rename to a name that another product or project
// already has where names must be unique: among the products of an
// organization, the projects of a product. It is permanent: no retry frees
// the name.
type NameTakenError struct {
	// Kind is "product" or "project"; Token the one to rename.
	Kind, Token string
	Name        string
	// In is where the name is taken, By the token of what has it.
	In, By string
}

// Error implements error.
func (e *NameTakenError) Error() string {
	return fmt.Sprintf("cannot rename %s %s to %q: %s already has a %s of that name (%s)", e.Kind, e.Token, e.Name, e.In, e.Kind, e.By)
}

// renameProject renames the project p, called current, to name in its
// product, unless it has that name; it reports whether it renamed it. A
// name another project of the product has is refused before Mend is
// asked.
func (s *Set) renameProject(ctx context.Context, org string, p project, current, name string) (bool, error) {
	if current == name {
		return false, nil
	}
	if p.product != "" {
		tok, taken, err := s.projectToken(ctx, p.product, name)
		if err == nil && taken && tok != p.token {
			// A cached list may be out of date: only a fresh one refuses.
			tok, taken, err = s.projectNames.relist(ctx, p.product, name, s.listProjects(p.product))
		}
		if err != nil {
			return false, err
		}
		if taken && tok != p.token {
			return false, &NameTakenError{Kind: "project", Token: p.token, Name: name, In: "product " + p.product, By: tok}
		}
		if taken {
			return false, nil // renamed since the command found it
		}
	}
	_, _, err := s.projects.Rename(ctx, org, p.token, name)
	if mend.IsNotFound(err) {
		return false, notFound("project %s", p.token)
	}
	if err != nil {
		return false, err
	}
	s.projectNames.forget(p.product, p.token)
	s.projectNames.put(p.product, name, p.token)
	return true, nil
}

// moved notes that p is now in the product to.
func (s *Set) moved(p project, to string) {
	name, named := s.projectNames.nameOf(p.product, p.token)
	s.projectNames.forget(p.product, p.token)
	if named {
		s.projectNames.put(to, name, p.token)
	}
	s.homes.put(p.token, to)
}
