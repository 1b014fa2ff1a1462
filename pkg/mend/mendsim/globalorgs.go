package mendsim

func (s *Simulator) globalOrgHandlers() map[string]v1Handler {
	return map[string]v1Handler{}
}
