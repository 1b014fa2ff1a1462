package mendsim

func (s *Simulator) policyHandlers() map[string]v1Handler {
	return map[string]v1Handler{}
}
