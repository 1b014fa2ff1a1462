package mendsim

import (
	"strings"

	"github.com/mendflow/mendflow/pkg/mend"
)

func (s *Simulator) globalOrgHandlers() map[string]v1Handler {
	return map[string]v1Handler{
		mend.ReqCreateGlobalOrg:        s.createGlobalOrg,
		mend.ReqAssignGlobalOrgToOrg:   s.assignGlobalOrgToOrg,
		mend.ReqRemoveGlobalOrgFromOrg: s.removeGlobalOrgFromOrg,
		mend.ReqGetAllOrganizations:    s.getAllOrganizations,
	}
}

func (s *Simulator) createGlobalOrg(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.CreateGlobalOrgRequest](c, "name", "accountAdminEmail")
	if err != nil {
		return nil, err
	}
	// The admin must be a user; the simulator keeps nothing else of it, as
	// no request reads it back.
	if s.st.users[strings.ToLower(req.AccountAdminEmail)] == nil {
		return nil, apiError(mend.CodeUserNotFound, "User %s does not exist", req.AccountAdminEmail)
	}
	g := &globalOrg{token: newToken(), name: req.Name}
	s.st.globalOrgs[g.token] = g
	return mend.CreateGlobalOrgResponse{GlobalOrgToken: g.token}, nil
}

// globalOrgAssignment resolves the two tokens of assignGlobalOrgToOrg and
// removeGlobalOrgFromOrg.
func (s *Simulator) globalOrgAssignment(c *v1Call) (*globalOrg, *org, error) {
	req, err := decodeRequired[mend.GlobalOrgAssignmentRequest](c, "orgToken", "globalOrgToken")
	if err != nil {
		return nil, nil, err
	}
	g, err := s.globalOrgOf(req.GlobalOrgToken)
	if err != nil {
		return nil, nil, err
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, nil, err
	}
	return g, o, nil
}

func (s *Simulator) assignGlobalOrgToOrg(c *v1Call) (any, error) {
	g, o, err := s.globalOrgAssignment(c)
	if err != nil {
		return nil, err
	}
	switch o.globalOrg {
	case g.token:
		// Assigning again changes nothing.
	case "":
		o.globalOrg = g.token
		g.orgs = append(g.orgs, o.token)
	default:
		// An organization belongs to one global organization at most; it
		// must leave the one it is in first.
		return nil, apiError(mend.CodeInvalidOptionValue, "Organization %s already belongs to another global organization", o.name)
	}
	return message("Successfully assigned global organization to given organization"), nil
}

func (s *Simulator) removeGlobalOrgFromOrg(c *v1Call) (any, error) {
	g, o, err := s.globalOrgAssignment(c)
	if err != nil {
		return nil, err
	}
	if o.globalOrg != g.token {
		return nil, apiError(mend.CodeInvalidOptionValue, "Organization %s does not belong to global organization %s", o.name, g.name)
	}
	o.globalOrg = ""
	g.orgs = removeString(g.orgs, o.token)
	return message("Successfully removed global organization from given organization"), nil
}

func (s *Simulator) getAllOrganizations(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetAllOrganizationsRequest](c, "globalOrgToken")
	if err != nil {
		return nil, err
	}
	g, err := s.globalOrgOf(req.GlobalOrgToken)
	if err != nil {
		return nil, err
	}
	out := mend.GetAllOrganizationsResponse{Organizations: []mend.OrganizationRef{}, Message: "Success"}
	for _, t := range g.orgs {
		if o := s.st.orgs[t]; o != nil {
			out.Organizations = append(out.Organizations, mend.OrganizationRef{OrgName: o.name, OrgToken: o.token})
		}
	}
	return out, nil
}
