package mendsim

func (s *Simulator) organizationHandlers() map[string]v1Handler {
	return map[string]v1Handler{}
}

// seedOrganization adds the demo organization's policies, In-House
// libraries and pending tasks; api is its project with an inventory.
func (s *Simulator) seedOrganization(st *state, o *org, api *project) {}
