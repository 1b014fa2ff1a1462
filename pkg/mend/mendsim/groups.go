package mendsim

func (s *Simulator) groupRoutes() []restRoute { return nil }

// seedGroups adds the demo organization's users and groups.
func (s *Simulator) seedGroups(st *state, o *org) {}
