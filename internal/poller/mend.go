package poller

import (
	"context"

	"github.com/mendflow/mendflow/pkg/mend"
)

// MendSource is the StatusSource of a Mend client: asyncProcessStatus for
// processes, getRequestState for plugin requests. The client brings the
// rate limit, the quick retries and the JWT renewal. Its calls are of
// the class "poller" in the budget's fair share.
type MendSource struct {
	client *mend.Client
}

// Class is the poller's calls' class in the Mend budget's fair share.
const Class = "poller"

// NewMendSource returns the StatusSource of client.
func NewMendSource(client *mend.Client) *MendSource { return &MendSource{client: client} }

// ProcessStatus implements StatusSource.
func (m *MendSource) ProcessStatus(ctx context.Context, orgToken, processUUID string) (string, error) {
	ctx = mend.WithClass(mend.WithOrg(ctx, orgToken), Class)
	p, _, err := m.client.Organizations.ProcessStatus(ctx, orgToken, processUUID)
	if err != nil {
		return "", err
	}
	return string(p.Status), nil
}

// RequestState implements StatusSource.
func (m *MendSource) RequestState(ctx context.Context, orgToken, requestToken string) (string, error) {
	ctx = mend.WithClass(mend.WithOrg(ctx, orgToken), Class)
	r, _, err := m.client.Organizations.RequestState(ctx, &mend.GetRequestStateRequest{OrgToken: orgToken, RequestToken: requestToken})
	if err != nil {
		return "", err
	}
	return string(r.RequestState), nil
}
