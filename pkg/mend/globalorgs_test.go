package mend_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// newGlobalOrg creates a global organization administered by the demo user.
func newGlobalOrg(t *testing.T, c *mend.Client, name string) string {
	t.Helper()
	g, _, err := c.GlobalOrganizations.Create(context.Background(), &mend.CreateGlobalOrgRequest{Name: name, AccountAdminEmail: mendsim.DefaultUserEmail})
	if err != nil {
		t.Fatalf("Create global organization: %v", err)
	}
	return g.GlobalOrgToken
}

func TestGlobalOrganizations(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()

	global := newGlobalOrg(t, c, "Demo Global")
	want := map[string]any{"requestType": "createGlobalOrg", "name": "Demo Global", "accountAdminEmail": mendsim.DefaultUserEmail}
	if diff := cmp.Diff(want, sentBody(t, sim, mend.ReqCreateGlobalOrg)); diff != "" {
		t.Errorf("createGlobalOrg body (-want, +got):\n%s", diff)
	}
	other := newGlobalOrg(t, c, "Other Global")

	list := func() []mend.OrganizationRef {
		t.Helper()
		got, _, err := c.GlobalOrganizations.ListOrganizations(ctx, &mend.GetAllOrganizationsRequest{GlobalOrgToken: global})
		if err != nil {
			t.Fatalf("ListOrganizations: %v", err)
		}
		if got.Message != "Success" {
			t.Errorf("getAllOrganizations message %q", got.Message)
		}
		return got.Organizations
	}
	if got := list(); len(got) != 0 {
		t.Errorf("a new global organization holds %v", got)
	}

	assign := &mend.GlobalOrgAssignmentRequest{OrgToken: orgToken, GlobalOrgToken: global}
	got, _, err := c.GlobalOrganizations.AssignToOrg(ctx, assign)
	if err != nil {
		t.Fatalf("AssignToOrg: %v", err)
	}
	if got.Message != "Successfully assigned global organization to given organization" {
		t.Errorf("assign message %q", got.Message)
	}
	want = map[string]any{"requestType": "assignGlobalOrgToOrg", "orgToken": orgToken, "globalOrgToken": global}
	if diff := cmp.Diff(want, sentBody(t, sim, mend.ReqAssignGlobalOrgToOrg)); diff != "" {
		t.Errorf("assignGlobalOrgToOrg body (-want, +got):\n%s", diff)
	}
	if _, _, err := c.GlobalOrganizations.AssignToOrg(ctx, assign); err != nil {
		t.Errorf("assigning again: %v", err)
	}
	wantOrgs := []mend.OrganizationRef{{OrgName: mendsim.DefaultOrgName, OrgToken: orgToken}}
	if diff := cmp.Diff(wantOrgs, list()); diff != "" {
		t.Errorf("organizations (-want, +got):\n%s", diff)
	}
	want = map[string]any{"requestType": "getAllOrganizations", "globalOrgToken": global}
	if diff := cmp.Diff(want, sentBody(t, sim, mend.ReqGetAllOrganizations)); diff != "" {
		t.Errorf("getAllOrganizations body (-want, +got):\n%s", diff)
	}
	// One global organization at most.
	_, _, err = c.GlobalOrganizations.AssignToOrg(ctx, &mend.GlobalOrgAssignmentRequest{OrgToken: orgToken, GlobalOrgToken: other})
	wantCode(t, err, mend.CodeInvalidOptionValue)

	got, _, err = c.GlobalOrganizations.RemoveFromOrg(ctx, assign)
	if err != nil {
		t.Fatalf("RemoveFromOrg: %v", err)
	}
	if got.Message != "Successfully removed global organization from given organization" {
		t.Errorf("remove message %q", got.Message)
	}
	want = map[string]any{"requestType": "removeGlobalOrgFromOrg", "orgToken": orgToken, "globalOrgToken": global}
	if diff := cmp.Diff(want, sentBody(t, sim, mend.ReqRemoveGlobalOrgFromOrg)); diff != "" {
		t.Errorf("removeGlobalOrgFromOrg body (-want, +got):\n%s", diff)
	}
	if got := list(); len(got) != 0 {
		t.Errorf("organizations after removal: %v", got)
	}
	_, _, err = c.GlobalOrganizations.RemoveFromOrg(ctx, assign)
	wantCode(t, err, mend.CodeInvalidOptionValue)
	// Free again, the organization may join the other one.
	if _, _, err := c.GlobalOrganizations.AssignToOrg(ctx, &mend.GlobalOrgAssignmentRequest{OrgToken: orgToken, GlobalOrgToken: other}); err != nil {
		t.Errorf("assigning to the other global organization: %v", err)
	}
}

func TestGlobalOrganizationsErrors(t *testing.T) {
	t.Parallel()
	c, _ := setup(t)
	ctx := context.Background()
	global := newGlobalOrg(t, c, "Demo Global")

	tests := []struct {
		name string
		call func() error
		code int
	}{
		{name: "create without name", code: mend.CodeMissingFields, call: func() error {
			_, _, err := c.GlobalOrganizations.Create(ctx, &mend.CreateGlobalOrgRequest{AccountAdminEmail: mendsim.DefaultUserEmail})
			return err
		}},
		{name: "create by an unknown administrator", code: mend.CodeUserNotFound, call: func() error {
			_, _, err := c.GlobalOrganizations.Create(ctx, &mend.CreateGlobalOrgRequest{Name: "x", AccountAdminEmail: "nobody@example.com"})
			return err
		}},
		{name: "assign an unknown global organization", code: mend.CodeNotAllowed, call: func() error {
			_, _, err := c.GlobalOrganizations.AssignToOrg(ctx, &mend.GlobalOrgAssignmentRequest{OrgToken: orgToken, GlobalOrgToken: "no-such-global"})
			return err
		}},
		{name: "assign to an unknown organization", code: mend.CodeNotAllowed, call: func() error {
			_, _, err := c.GlobalOrganizations.AssignToOrg(ctx, &mend.GlobalOrgAssignmentRequest{OrgToken: "no-such-org", GlobalOrgToken: global})
			return err
		}},
		{name: "assign without organization", code: mend.CodeMissingFields, call: func() error {
			_, _, err := c.GlobalOrganizations.AssignToOrg(ctx, &mend.GlobalOrgAssignmentRequest{GlobalOrgToken: global})
			return err
		}},
		{name: "remove from an organization outside it", code: mend.CodeInvalidOptionValue, call: func() error {
			_, _, err := c.GlobalOrganizations.RemoveFromOrg(ctx, &mend.GlobalOrgAssignmentRequest{OrgToken: orgToken, GlobalOrgToken: global})
			return err
		}},
		{name: "list an unknown global organization", code: mend.CodeNotAllowed, call: func() error {
			_, _, err := c.GlobalOrganizations.ListOrganizations(ctx, &mend.GetAllOrganizationsRequest{GlobalOrgToken: "no-such-global"})
			return err
		}},
		{name: "list without token", code: mend.CodeMissingFields, call: func() error {
			_, _, err := c.GlobalOrganizations.ListOrganizations(ctx, &mend.GetAllOrganizationsRequest{})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantCode(t, tt.call(), tt.code)
		})
	}
}

func TestGlobalOrganizationsGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		v    any
	}{
		{"createGlobalOrg.json", new(mend.CreateGlobalOrgResponse)},
		{"assignGlobalOrgToOrg.json", new(mend.MessageResponse)},
		{"removeGlobalOrgFromOrg.json", new(mend.MessageResponse)},
		{"getAllOrganizations.json", new(mend.GetAllOrganizationsResponse)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			decodeGolden(t, tt.file, tt.v)
		})
	}
}
