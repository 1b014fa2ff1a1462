package handlers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// listGroups lists the groups of an organization as names (by groupKey)
// to uuids.
func (s *Set) listGroups(org string) listFunc {
	return func(ctx context.Context) (map[string]string, error) {
		names := map[string]string{}
		for g, err := range s.groups.All(ctx, org, &mend.ListOptions{PageSize: mend.MaxPageSize}) {
			if err != nil {
				return nil, err
			}
			names[groupKey(g.Name)] = g.UUID
		}
		return names, nil
	}
}

// groupKey is a group name as Mend tells groups apart: it trims the names
// it is given and refuses a name that differs from another only in letter
// case. A command naming a group with a space too many, or in other
// letters, names that group.
func groupKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// resolveGroup returns the uuid of the group ref names, and whether it
// exists. A uuid is taken as given; Mend's 404 tells whether it exists.
func (s *Set) resolveGroup(ctx context.Context, org string, ref events.GroupRef) (string, bool, error) {
	if ref.GroupUUID != "" {
		return ref.GroupUUID, true, nil
	}
	return s.groupNames.lookup(ctx, org, groupKey(ref.GroupName), s.listGroups(org))
}

// describeGroup names a group for messages.
func describeGroup(ref events.GroupRef) string {
	if ref.GroupUUID != "" {
		return "group " + ref.GroupUUID
	}
	return fmt.Sprintf("group %q", ref.GroupName)
}

// groupCreate creates a group unless one of its name exists; Mend's
// refusal of the name (IsNameTaken) says another delivery or worker
// created it first. The refusal is a 400, which may also be about
// something else: when a fresh list shows no such group, it stands.
func (s *Set) groupCreate(ctx context.Context, _ *Delivery, d *events.GroupCreate) (Result, error) {
	org := s.org(d.OrgToken)
	res := events.GroupChanged{OrgToken: org, Name: d.Name, Description: d.Description}
	uuid, ok, err := s.groupNames.lookup(ctx, org, groupKey(d.Name), s.listGroups(org))
	if err != nil {
		return Result{}, err
	}
	if !ok {
		g, _, err := s.groups.Create(ctx, org, &mend.GroupRequest{Name: d.Name, Description: d.Description})
		switch {
		case err == nil:
			uuid, res.Changed = g.UUID, true
			s.groupNames.put(org, groupKey(d.Name), uuid)
		case mend.IsNameTaken(err):
			// Only a fresh list can show the group another made just now.
			var lerr error
			if uuid, ok, lerr = s.groupNames.relist(ctx, org, groupKey(d.Name), s.listGroups(org)); lerr != nil {
				return Result{}, lerr
			}
			if !ok {
				return Result{}, err
			}
		default:
			return Result{}, err
		}
	}
	res.GroupUUID = uuid
	return resultOf(events.TypeGroupCreated, res), nil
}

// groupUpdate sets a group's name and description, unless the group has
// them already: a redelivery after a rename finds the group by its new
// name, as asked, and changes nothing.
func (s *Set) groupUpdate(ctx context.Context, _ *Delivery, d *events.GroupUpdate) (Result, error) {
	org := s.org(d.OrgToken)
	uuid, ok, err := s.resolveGroup(ctx, org, d.GroupRef)
	if err == nil && !ok {
		uuid, ok, err = s.groupNames.lookup(ctx, org, groupKey(d.Name), s.listGroups(org))
	}
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, notFound("%s", describeGroup(d.GroupRef))
	}
	res := events.GroupChanged{OrgToken: org, GroupUUID: uuid, Name: d.Name, Description: d.Description}
	g, _, err := s.groups.Get(ctx, org, uuid)
	if mend.IsNotFound(err) {
		return Result{}, notFound("%s", describeGroup(d.GroupRef))
	}
	if err != nil {
		return Result{}, err
	}
	if (g.Name == d.Name || g.Name == strings.TrimSpace(d.Name)) && g.Description == d.Description {
		return resultOf(events.TypeGroupUpdated, res), nil
	}
	if _, _, err := s.groups.Update(ctx, org, uuid, &mend.GroupRequest{Name: d.Name, Description: d.Description}); err != nil {
		if mend.IsNotFound(err) {
			return Result{}, notFound("%s", describeGroup(d.GroupRef))
		}
		return Result{}, err
	}
	s.groupNames.drop(org)
	res.Changed = true
	return resultOf(events.TypeGroupUpdated, res), nil
}

// groupDelete deletes a group; like the other deletes, it waits for a group
// not there yet and then counts it deleted, unchanged.
func (s *Set) groupDelete(ctx context.Context, _ *Delivery, d *events.GroupDelete) (Result, error) {
	org := s.org(d.OrgToken)
	res := events.GroupChanged{OrgToken: org, GroupUUID: d.GroupUUID, Name: d.GroupName}
	absent := absentOr(resultOf(events.TypeGroupDeleted, res), "%s", describeGroup(d.GroupRef))
	uuid, ok, err := s.resolveGroup(ctx, org, d.GroupRef)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, absent
	}
	if _, _, err := s.groups.Delete(ctx, org, uuid); err != nil {
		if mend.IsNotFound(err) {
			return Result{}, absent
		}
		return Result{}, err
	}
	s.groupNames.forget(org, uuid)
	res.GroupUUID, res.Changed = uuid, true
	return resultOf(events.TypeGroupDeleted, res), nil
}

func (s *Set) groupUsersAdd(ctx context.Context, _ *Delivery, d *events.GroupUsersAdd) (Result, error) {
	return s.groupUsers(ctx, &d.GroupUsers, true)
}

func (s *Set) groupUsersRemove(ctx context.Context, _ *Delivery, d *events.GroupUsersRemove) (Result, error) {
	return s.groupUsers(ctx, &d.GroupUsers, false)
}

// groupUsers adds the users who are not members yet, or removes those who
// still are: the group's member list is read first, so a redelivery
// changes nothing. A group not there yet is waited for; a removal from a
// group that never appears then succeeds unchanged.
func (s *Set) groupUsers(ctx context.Context, d *events.GroupUsers, add bool) (Result, error) {
	org := s.org(d.OrgToken)
	typ := events.TypeGroupUsersRemoved
	if add {
		typ = events.TypeGroupUsersAdded
	}
	res := events.GroupUsersChanged{OrgToken: org, GroupUUID: d.GroupUUID, UserEmails: d.UserEmails, Changed: []string{}}
	missing := notFound("%s", describeGroup(d.GroupRef))
	if !add {
		missing = absentOr(resultOf(typ, res), "%s", describeGroup(d.GroupRef))
	}
	uuid, ok, err := s.resolveGroup(ctx, org, d.GroupRef)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, missing
	}
	res.GroupUUID = uuid
	members := map[string]string{} // lower-case e-mail → user uuid
	for u, err := range s.groups.AllUsers(ctx, org, uuid, &mend.ListOptions{PageSize: mend.MaxPageSize}) {
		if mend.IsNotFound(err) {
			return Result{}, missing
		}
		if err != nil {
			return Result{}, err
		}
		members[strings.ToLower(u.Email)] = u.UUID
	}
	for _, e := range d.UserEmails {
		if _, in := members[strings.ToLower(e)]; in != add {
			res.Changed = append(res.Changed, e)
		}
	}
	switch {
	case len(res.Changed) == 0:
	case add:
		_, _, err = s.groups.AddUsers(ctx, org, uuid, res.Changed)
	default:
		for _, e := range res.Changed {
			_, _, err = s.groups.RemoveUser(ctx, org, uuid, members[strings.ToLower(e)])
			if mend.IsNotFound(err) {
				err = nil // removed meanwhile
			}
			if err != nil {
				break
			}
		}
	}
	if err != nil {
		return Result{}, err
	}
	return resultOf(typ, res), nil
}

func (s *Set) groupRolesAdd(ctx context.Context, _ *Delivery, d *events.GroupRolesAdd) (Result, error) {
	return s.groupRole(ctx, &d.GroupRole, true)
}

func (s *Set) groupRolesRemove(ctx context.Context, _ *Delivery, d *events.GroupRolesRemove) (Result, error) {
	return s.groupRole(ctx, &d.GroupRole, false)
}

// groupRole grants or takes away one role, unless the group's roles
// already are as asked.
func (s *Set) groupRole(ctx context.Context, d *events.GroupRole, add bool) (Result, error) {
	org := s.org(d.OrgToken)
	typ := events.TypeGroupRolesRemoved
	if add {
		typ = events.TypeGroupRolesAdded
	}
	res := events.GroupRoleChanged{OrgToken: org, GroupUUID: d.GroupUUID, ContextToken: d.ContextToken, ContextType: d.ContextType, Role: d.Role}
	missing := notFound("%s", describeGroup(d.GroupRef))
	if !add {
		missing = absentOr(resultOf(typ, res), "%s", describeGroup(d.GroupRef))
	}
	uuid, ok, err := s.resolveGroup(ctx, org, d.GroupRef)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, missing
	}
	res.GroupUUID = uuid
	has := false
	for cr, err := range s.groups.AllRoles(ctx, org, uuid, &mend.ListOptions{PageSize: mend.MaxPageSize}) {
		if mend.IsNotFound(err) {
			return Result{}, missing
		}
		if err != nil {
			return Result{}, err
		}
		// A role on an organization is on the group's own: the command
		// may name it by its token or its UUID, and Mend lists one of
		// them, not necessarily the same.
		same := cr.ContextToken == d.ContextToken || d.ContextType == mend.ContextOrgs
		has = has || same && cr.ContextType == d.ContextType && slices.Contains(cr.Roles, d.Role)
	}
	if has == add {
		return resultOf(typ, res), nil
	}
	role := mend.RoleAssignment{ContextToken: d.ContextToken, ContextType: d.ContextType, Role: d.Role}
	if add {
		_, _, err = s.groups.AddRole(ctx, org, uuid, role)
	} else {
		_, _, err = s.groups.RemoveRole(ctx, org, uuid, role)
	}
	if err != nil {
		// A product or project not there yet makes Mend answer 404 too.
		return Result{}, scopeOrGroupMissing(err, missing)
	}
	res.Changed = true
	return resultOf(typ, res), nil
}

// scopeOrGroupMissing turns a 404 into the command's missing error.
func scopeOrGroupMissing(err, missing error) error {
	if mend.IsNotFound(err) {
		return missing
	}
	return err
}
