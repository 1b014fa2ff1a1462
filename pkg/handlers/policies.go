package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// scopeOf turns a command's scope and token, or names, into Mend's: one
// place for the four levels, so that every policy command works at each of
// them. A product or project named but not there (yet) is a target not
// there yet, as for the project commands.
func (s *Set) scopeOf(ctx context.Context, d events.PolicyScope) (mend.Scope, error) {
	switch d.Scope {
	case events.ScopeGlobalOrganization:
		return mend.GlobalOrgScope(d.Token), nil
	case events.ScopeOrganization:
		if d.Token != "" {
			return mend.OrgScope(d.Token), nil
		}
		return mend.OrgScope(s.org(d.OrgToken)), nil
	case events.ScopeProduct:
		if d.Token != "" {
			return mend.ProductScope(d.Token), nil
		}
		ref := events.ProductRef{ProductName: d.ProductName}
		tok, ok, err := s.resolveProduct(ctx, s.org(d.OrgToken), ref)
		if err == nil && !ok {
			err = notFound("%s", describeProduct(ref))
		}
		return mend.ProductScope(tok), err
	case events.ScopeProject:
		if d.Token != "" {
			return mend.ProjectScope(d.Token), nil
		}
		ref := events.ProjectRef{ProductName: d.ProductName, ProjectName: d.ProjectName}
		p, ok, err := s.resolveProject(ctx, s.org(d.OrgToken), ref)
		if err == nil && !ok {
			err = notFound("%s", describeProject(ref))
		}
		return mend.ProjectScope(p.token), err
	}
	return mend.Scope{}, fmt.Errorf("scope %q: %w", d.Scope, events.ErrUnknownCommand)
}

// scopeMissing turns Mend's answer to a scope token it does not know into
// a target not there yet: a product or project may be created by a
// command still queued.
func scopeMissing(sc mend.Scope, err error) error {
	if mend.IsNotFound(err) {
		return notFound("%s", sc)
	}
	return err
}

// policiesAt lists the policies of a scope itself, without those above it.
func (s *Set) policiesAt(ctx context.Context, sc mend.Scope) ([]mend.Policy, error) {
	resp, _, err := s.policies.List(ctx, sc, nil)
	if err != nil {
		return nil, scopeMissing(sc, err)
	}
	return resp.Policies, nil
}

func policyNamed(ps []mend.Policy, name string) (mend.Policy, bool) {
	i := slices.IndexFunc(ps, func(p mend.Policy) bool { return p.Name == name })
	if i < 0 {
		return mend.Policy{}, false
	}
	return ps[i], true
}

// policyAdd adds a policy unless one of its name is at the scope already:
// Mend lets names repeat, so the name is what makes adding it twice a
// no-op.
func (s *Set) policyAdd(ctx context.Context, _ *Delivery, d *events.PolicyAdd) (Result, error) {
	sc, err := s.scopeOf(ctx, d.PolicyScope)
	if err != nil {
		return Result{}, err
	}
	res := events.PolicyChanged{Scope: d.Scope, Token: sc.Token, PolicyName: d.Policy.Name}
	ps, err := s.policiesAt(ctx, sc)
	if err != nil {
		return Result{}, err
	}
	if p, ok := policyNamed(ps, d.Policy.Name); ok {
		res.PolicyID = p.ID
		return resultOf(events.TypePolicyAdded, res), nil
	}
	// The client sends it once (a retry in the call could add a second
	// policy of the name); a redelivery looks first.
	spec, err := mendPolicy(d.Policy)
	if err != nil {
		return Result{}, err
	}
	resp, _, err := s.policies.Add(ctx, sc, spec)
	if err != nil {
		return Result{}, scopeMissing(sc, err)
	}
	res.PolicyID, res.Changed = resp.AddedPolicy.ID, true
	return resultOf(events.TypePolicyAdded, res), nil
}

// policyUpdate updates a policy by id. Mend gives the updated policy a new
// id, so a redelivered update finds the old id gone; a policy of the new
// name at the scope is then taken as this update, done before.
func (s *Set) policyUpdate(ctx context.Context, _ *Delivery, d *events.PolicyUpdate) (Result, error) {
	sc, err := s.scopeOf(ctx, d.PolicyScope)
	if err != nil {
		return Result{}, err
	}
	res := events.PolicyChanged{Scope: d.Scope, Token: sc.Token, PolicyName: d.Policy.Name, PreviousPolicyID: d.Policy.ID}
	ps, err := s.policiesAt(ctx, sc)
	if err != nil {
		return Result{}, err
	}
	if !slices.ContainsFunc(ps, func(p mend.Policy) bool { return p.ID == d.Policy.ID }) {
		if p, ok := policyNamed(ps, d.Policy.Name); ok {
			res.PolicyID = p.ID
			return resultOf(events.TypePolicyUpdated, res), nil
		}
		return Result{}, notFound("policy %d at %s", d.Policy.ID, sc)
	}
	// The client sends it once (Mend gives the policy a new id, so a retry
	// in the call after a lost answer is refused); a redelivery finds it
	// done.
	spec, err := mendPolicy(d.Policy)
	if err != nil {
		return Result{}, err
	}
	resp, _, err := s.policies.Update(ctx, sc, spec)
	if err != nil {
		return Result{}, scopeMissing(sc, err)
	}
	res.PolicyID, res.Changed = resp.UpdatedPolicy.ID, true
	return resultOf(events.TypePolicyUpdated, res), nil
}

// policyRemove removes the policies of the ids given that the scope still
// holds; when none is left, there is nothing to ask Mend.
func (s *Set) policyRemove(ctx context.Context, _ *Delivery, d *events.PolicyRemove) (Result, error) {
	sc, err := s.scopeOf(ctx, d.PolicyScope)
	if err != nil {
		return Result{}, err
	}
	res := events.PolicyRemoved{Scope: d.Scope, Token: sc.Token, PolicyIDs: d.PolicyIDs}
	ps, err := s.policiesAt(ctx, sc)
	if err != nil {
		return Result{}, err
	}
	var present []int
	for _, id := range d.PolicyIDs {
		if slices.ContainsFunc(ps, func(p mend.Policy) bool { return p.ID == id }) {
			present = append(present, id)
		}
	}
	if len(present) == 0 {
		return resultOf(events.TypePolicyRemoved, res), nil
	}
	// The client sends it once (a retry in the call after a lost answer
	// would remove nothing and report no policy removed); a redelivery
	// looks first.
	resp, _, err := s.policies.Remove(ctx, sc, present)
	if err != nil {
		return Result{}, scopeMissing(sc, err)
	}
	res.RemovedPolicies = resp.RemovedPolicies
	return resultOf(events.TypePolicyRemoved, res), nil
}

// policyReorder sets priorities; setting them again changes nothing, so it
// needs no look first. Policies named rather than numbered are looked up:
// they take the top priorities in the order given, and when they hold them
// already there is no call.
func (s *Set) policyReorder(ctx context.Context, _ *Delivery, d *events.PolicyReorder) (Result, error) {
	sc, err := s.scopeOf(ctx, d.PolicyScope)
	if err != nil {
		return Result{}, err
	}
	res := events.PolicyReordered{Scope: d.Scope, Token: sc.Token, PolicyPriorities: d.PolicyPriorities}
	if len(d.PolicyNames) > 0 {
		ps, err := s.policiesAt(ctx, sc)
		if err != nil {
			return Result{}, err
		}
		var inPlace bool
		if res.PolicyPriorities, inPlace, err = prioritiesByName(ps, d.PolicyNames); err != nil {
			return Result{}, err
		}
		if inPlace {
			return resultOf(events.TypePolicyReordered, res), nil
		}
	}
	if _, _, err := s.policies.Reorder(ctx, sc, mendPriorities(res.PolicyPriorities)); err != nil {
		if len(d.PolicyNames) > 0 && mend.IsCode(err, mend.CodeInvalidOptionValue) {
			// A policy updated since the listing has a new id: list again.
			return Result{}, notFound("the policies %q at %s", d.PolicyNames, sc)
		}
		return Result{}, scopeMissing(sc, err)
	}
	return resultOf(events.TypePolicyReordered, res), nil
}

// prioritiesByName gives the named policies the top priorities of the
// scope's n policies, the first name n, and reports whether they hold them
// already.
func prioritiesByName(ps []mend.Policy, names []string) ([]events.PolicyPriority, bool, error) {
	out := make([]events.PolicyPriority, len(names))
	inPlace := true
	for i, name := range names {
		p, ok := policyNamed(ps, name)
		if !ok {
			return nil, false, notFound("policy %q", name)
		}
		out[i] = events.PolicyPriority{PolicyID: p.ID, Priority: len(ps) - i}
		inPlace = inPlace && p.Priority == out[i].Priority
	}
	return out, inPlace, nil
}

// policyOwnerChange hands policies from one owner to another; done again,
// the old owner owns none and nothing changes.
func (s *Set) policyOwnerChange(ctx context.Context, _ *Delivery, d *events.PolicyOwnerChange) (Result, error) {
	org := s.org(d.OrgToken)
	if _, _, err := s.policies.ChangeOwner(ctx, &mend.ChangePolicyOwnerRequest{
		OrgToken: org, CurrentPolicyOwnerEmail: d.CurrentPolicyOwnerEmail, NewPolicyOwnerEmail: d.NewPolicyOwnerEmail,
	}); err != nil {
		return Result{}, err
	}
	return resultOf(events.TypePolicyOwnerChanged, events.PolicyOwnerChanged{
		OrgToken: org, CurrentPolicyOwnerEmail: d.CurrentPolicyOwnerEmail, NewPolicyOwnerEmail: d.NewPolicyOwnerEmail,
	}), nil
}

// policiesApply starts Mend's asynchronous application of a scope's
// policies and hands the process to the poller, whose event reports how it
// ends. A redelivery starts another process, applying the same policies to
// the same inventory, which changes nothing more; the poller follows the
// first, since the track item keeps the id of the first delivery.
func (s *Set) policiesApply(ctx context.Context, _ *Delivery, d *events.PoliciesApply) (Result, error) {
	org := s.org(d.OrgToken)
	sc, err := s.scopeOf(ctx, events.PolicyScope{OrgToken: d.OrgToken, Scope: d.Scope, Token: d.Token, ProductName: d.ProductName, ProjectName: d.ProjectName})
	if err != nil {
		return Result{}, err
	}
	var p *mend.AsyncProcess
	switch sc.Level {
	case mend.OrganizationLevel:
		// The v2.0 API acts on the organization of the JWT: the scope's.
		org = sc.Token
		p, _, err = s.policies.ApplyOrganization(ctx, org)
	case mend.ProductLevel:
		p, _, err = s.policies.ApplyProduct(ctx, org, sc.Token)
	default:
		p, _, err = s.policies.ApplyProject(ctx, org, sc.Token)
	}
	if err != nil {
		return Result{}, scopeMissing(sc, err)
	}
	return Result{Track: &events.Track{
		Kind: events.TrackProcess, OrgToken: org, ProcessUUID: p.UUID,
		Scope: d.Scope, Token: sc.Token, Started: s.cfg.Now(),
	}}, nil
}

// requestTrack hands a plugin request to the poller; there is nothing to
// ask Mend now.
func (s *Set) requestTrack(_ context.Context, _ *Delivery, d *events.RequestTrack) (Result, error) {
	return Result{Track: &events.Track{
		Kind: events.TrackRequest, OrgToken: s.org(d.OrgToken), RequestToken: d.RequestToken, Started: s.cfg.Now(),
	}}, nil
}

// mendPolicy is a command's policy as the Mend client sends it. The two
// types name every field alike (TestPolicySchemaMatchesMend holds them so),
// so the command's JSON is the request's.
func mendPolicy(p events.Policy) (*mend.PolicySpec, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var spec mend.PolicySpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("the command's policy as Mend's: %w", err)
	}
	return &spec, nil
}

// mendPriorities are a command's priorities as the Mend client sends them.
func mendPriorities(ps []events.PolicyPriority) []mend.PolicyPriority {
	out := make([]mend.PolicyPriority, len(ps))
	for i, p := range ps {
		out[i] = mend.PolicyPriority(p)
	}
	return out
}
