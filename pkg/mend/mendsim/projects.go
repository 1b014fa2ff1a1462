package mendsim

func (s *Simulator) projectHandlers() map[string]v1Handler {
	return map[string]v1Handler{}
}
