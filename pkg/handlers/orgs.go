package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// setupNotificationSet sets the organization's setup notifications; the
// same setting twice is the setting once.
func (s *Set) setupNotificationSet(ctx context.Context, _ *Delivery, d *events.SetupNotificationSet) (Result, error) {
	org := s.org(d.OrgToken)
	if _, _, err := s.orgs.SetProjectSetupNotificationConfig(ctx, &mend.SetProjectSetupNotificationConfigRequest{
		OrgToken: org, Action: d.Action, ProjectTagKeyRegex: d.ProjectTagKeyRegex, ProjectTagValueRegex: d.ProjectTagValueRegex,
	}); err != nil {
		return Result{}, err
	}
	return resultOf(events.TypeSetupNotificationConfigured, events.SetupNotificationConfigured{
		OrgToken: org, Action: d.Action, ProjectTagKeyRegex: d.ProjectTagKeyRegex, ProjectTagValueRegex: d.ProjectTagValueRegex,
	}), nil
}

// inHouseUnmark unmarks a library marked In-House by hand. Mend answers a
// library with no such mark with error 8000: unmarked already, by an
// earlier delivery or by someone else, which is what was asked.
func (s *Set) inHouseUnmark(ctx context.Context, _ *Delivery, d *events.InHouseUnmark) (Result, error) {
	org := s.org(d.OrgToken)
	res := events.InHouseUnmarked{OrgToken: org, KeyUUID: d.KeyUUID}
	_, _, err := s.orgs.UnmarkManualInHouseLibrary(ctx, &mend.UnmarkManualInHouseLibraryRequest{OrgToken: org, KeyUUID: d.KeyUUID})
	switch {
	case mend.IsCode(err, mend.CodeInvalidKeyUUID):
	case err != nil:
		return Result{}, err
	default:
		res.Unmarked = true
	}
	return resultOf(events.TypeInHouseUnmarked, res), nil
}

// pendingTaskClose closes a pending task; Mend answers one already closed
// with "Pending task not closed", which a redelivery meets.
func (s *Set) pendingTaskClose(ctx context.Context, _ *Delivery, d *events.PendingTaskClose) (Result, error) {
	org := s.org(d.OrgToken)
	resp, _, err := s.orgs.ClosePendingTask(ctx, &mend.ClosePendingTaskRequest{OrgToken: org, TaskUUID: d.TaskUUID})
	if err != nil {
		return Result{}, err
	}
	return resultOf(events.TypePendingTaskClosed, events.PendingTaskClosed{OrgToken: org, TaskUUID: d.TaskUUID, Closed: resp.Closed()}), nil
}

// errInDoubt stops a globalorg.create that an earlier delivery (or an
// earlier copy of the same command) may have carried out: Mend neither
// lists global organizations nor refuses a second one of the same name,
// so the only safe course is not to try again. The dead letter lets an
// operator check, and replay if it is missing.
var errInDoubt = errors.New("globalorg.create may have been carried out before, and Mend offers no way to look; check, then replay it if the global organization is missing")

// globalOrgMade is what a globalorg.create claim holds once Mend has
// created the global organization: the token, and which stored command
// created it.
type globalOrgMade struct {
	Seq   uint64 `json:"seq"`
	Token string `json:"globalOrgToken"`
}

// globalOrgCreate creates a global organization at most once per command:
// it claims the command before calling Mend, gives the claim back only
// when Mend's answer shows that nothing was created, and keeps the new
// token in the claim. A redelivery of the command that created it (its
// result or its ack was lost) answers with that token again; the result's
// id is derived from the delivery, so no second event is stored. A claim
// without a token, or taken by another copy of the command, is in doubt.
func (s *Set) globalOrgCreate(ctx context.Context, cmd *Delivery, d *events.GlobalOrgCreate) (Result, error) {
	key := cmd.ClaimKey()
	first, err := s.cfg.Claims.Claim(ctx, key)
	if err != nil {
		return Result{}, BusyError{Err: fmt.Errorf("command claims: %w", err)} // nothing done yet: try again
	}
	if !first {
		held, err := s.cfg.Claims.Get(ctx, key)
		if err != nil {
			return Result{}, BusyError{Err: fmt.Errorf("command claims: %w", err)} // look again later
		}
		var made globalOrgMade
		if json.Unmarshal(held, &made) != nil || made.Token == "" || made.Seq != cmd.Seq {
			return Result{}, errInDoubt
		}
		return globalOrgCreated(d, made.Token), nil
	}
	// The client sends it once (a retry within the call would create a
	// second one): what fails is this function's to judge.
	resp, _, err := s.globalOrgs.Create(ctx, &mend.CreateGlobalOrgRequest{Name: d.Name, AccountAdminEmail: d.AccountAdminEmail})
	if err != nil {
		if nothingDone(err) {
			err = errors.Join(err, s.cfg.Claims.Release(context.WithoutCancel(ctx), key))
		}
		return Result{}, err
	}
	// Should this fail, the result is still right; only a redelivery of
	// it would then be in doubt.
	if b, err := json.Marshal(globalOrgMade{Seq: cmd.Seq, Token: resp.GlobalOrgToken}); err == nil {
		_ = s.cfg.Claims.Put(context.WithoutCancel(ctx), key, b)
	}
	return globalOrgCreated(d, resp.GlobalOrgToken), nil
}

func globalOrgCreated(d *events.GlobalOrgCreate, token string) Result {
	return resultOf(events.TypeGlobalOrgCreated, events.GlobalOrgCreated{Name: d.Name, GlobalOrgToken: token, Created: true})
}

// linked reports whether an organization is in a global organization.
func (s *Set) linked(ctx context.Context, org, globalOrg string) (bool, error) {
	resp, _, err := s.globalOrgs.ListOrganizations(ctx, &mend.GetAllOrganizationsRequest{GlobalOrgToken: globalOrg})
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(resp.Organizations, func(o mend.OrganizationRef) bool { return o.OrgToken == org }), nil
}

func (s *Set) globalOrgAssign(ctx context.Context, _ *Delivery, d *events.GlobalOrgAssign) (Result, error) {
	return s.globalOrgLink(ctx, &d.GlobalOrgLink, true)
}

func (s *Set) globalOrgRemove(ctx context.Context, _ *Delivery, d *events.GlobalOrgRemove) (Result, error) {
	return s.globalOrgLink(ctx, &d.GlobalOrgLink, false)
}

// globalOrgLink puts an organization in a global one, or takes it out,
// unless it already is where it should be.
func (s *Set) globalOrgLink(ctx context.Context, d *events.GlobalOrgLink, assign bool) (Result, error) {
	org := s.org(d.OrgToken)
	typ, change := events.TypeGlobalOrgRemoved, s.globalOrgs.RemoveFromOrg
	if assign {
		typ, change = events.TypeGlobalOrgAssigned, s.globalOrgs.AssignToOrg
	}
	res := events.GlobalOrgLinked{OrgToken: org, GlobalOrgToken: d.GlobalOrgToken}
	in, err := s.linked(ctx, org, d.GlobalOrgToken)
	if err != nil {
		return Result{}, err
	}
	if in != assign {
		if _, _, err := change(ctx, &mend.GlobalOrgAssignmentRequest{OrgToken: org, GlobalOrgToken: d.GlobalOrgToken}); err != nil {
			return Result{}, err
		}
		res.Changed = true
	}
	return resultOf(typ, res), nil
}
