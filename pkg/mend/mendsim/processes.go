package mendsim

import "errors"

func (s *Simulator) processRoutes() []restRoute { return nil }

// PluginRequest is a plugin (scan) request as a scan leaves it, for
// getRequestState to report on.
type PluginRequest struct {
	// RequestToken is the support token the scan printed; generated when
	// empty.
	RequestToken string `json:"requestToken,omitempty"`
	// OrgToken is the organization scanned; the demo organization when
	// empty.
	OrgToken string `json:"orgToken,omitempty"`
	// Outcome is the final state: FINISHED (the default), FAILED or SKIPPED.
	Outcome string `json:"outcome,omitempty"`
}

// RegisterRequest makes a plugin request known, as a scan would, and
// returns its token.
func (s *Simulator) RegisterRequest(r PluginRequest) (string, error) {
	return "", errors.New("not implemented")
}

// ProcessOutcome sets how asynchronous processes started on a scope end.
type ProcessOutcome struct {
	// Token is the organization, product or project token the policies are
	// applied to.
	Token string `json:"token"`
	// Status is the final status: SUCCESS (the default), FAILED or FAILURE.
	Status string `json:"status"`
}

// SetProcessOutcome makes processes started on o.Token from now on end
// with o.Status.
func (s *Simulator) SetProcessOutcome(o ProcessOutcome) error {
	return errors.New("not implemented")
}
