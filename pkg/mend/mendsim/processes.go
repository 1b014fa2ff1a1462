package mendsim

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/mendflow/mendflow/pkg/mend"
)

// asyncProgress is how far asynchronous work has gone: stage 0 (just begun),
// 1 (half way) or 2 (ended), and since when it has been at that stage.
type asyncProgress struct {
	stage int
	since time.Time
}

// asyncFinal is the stage at which asynchronous work has ended.
const asyncFinal = 2

// advance moves work begun at start on to the stage it has reached by now.
// Work ends after d, or after maxPolls polls when maxPolls is set,
// whichever comes first; half way is half of either. A stage reached by
// time dates from when it was due, one reached by a poll from that poll.
func (p asyncProgress) advance(start, now time.Time, d time.Duration, polls, maxPolls int) asyncProgress {
	for next := p.stage + 1; next <= asyncFinal; next++ {
		due := start.Add(d * time.Duration(next) / asyncFinal)
		byTime := !now.Before(due)
		byPolls := maxPolls > 0 && polls*asyncFinal >= maxPolls*next
		if !byTime && !byPolls {
			break
		}
		p.stage, p.since = next, now
		if byTime {
			p.since = due
		}
	}
	return p
}

// asyncTime is how the simulator writes times: UTC, to the second, as Mend's
// examples are ("2018-02-28T17:48:19Z").
func asyncTime(t time.Time) mend.Time { return mend.Time{Time: t.UTC().Truncate(time.Second)} }

func (s *Simulator) processRoutes() []restRoute {
	return []restRoute{
		{pattern: "POST /api/v2.0/orgs/{orgToken}/policies/apply", op: "applyOrganizationPolicies", key: "retVal", h: s.applyOrganizationPolicies},
		{pattern: "POST /api/v2.0/products/{productToken}/policies/apply", op: "applyProductPolicies", key: "retVal", h: s.applyProductPolicies},
		{pattern: "POST /api/v2.0/projects/{projectToken}/policies/apply", op: "applyProjectPolicies", key: "retVal", h: s.applyProjectPolicies},
		{pattern: "GET /api/v2.0/orgs/{orgToken}/asyncProcessStatus/{statusUuid}", op: "asyncProcessStatus", key: "retVal", h: s.asyncProcessStatus},
	}
}

func (s *Simulator) applyOrganizationPolicies(c *restCall) (any, error) {
	return s.startProcess(c, c.org.token, c.org.uuid, "DOMAIN"), nil
}

func (s *Simulator) applyProductPolicies(c *restCall) (any, error) {
	p, err := s.productIn(c, c.r.PathValue("productToken"))
	if err != nil {
		return nil, err
	}
	return s.startProcess(c, p.token, p.token, "PRODUCT"), nil
}

func (s *Simulator) applyProjectPolicies(c *restCall) (any, error) {
	j, err := s.projectIn(c, c.r.PathValue("projectToken"))
	if err != nil {
		return nil, err
	}
	return s.startProcess(c, j.token, j.token, "PROJECT"), nil
}

// startProcess starts applying policies to the entity of scope (its token),
// ending as SetProcessOutcome told for that scope.
func (s *Simulator) startProcess(c *restCall, scope, contextUUID, contextType string) mend.AsyncProcess {
	now := s.now()
	outcome := s.st.outcomes[scope]
	if outcome == "" {
		outcome = string(mend.ProcessSuccess)
	}
	p := &process{
		uuid: newUUID(), contextUUID: contextUUID, contextType: contextType, org: c.org.token,
		created: now, processType: mend.ProcessTypeApplyPolicies, outcome: outcome,
		userEmail: c.email, requestTok: supportToken(), progress: asyncProgress{since: now},
	}
	s.st.processes[p.uuid] = p
	return s.processAnswer(p)
}

// asyncProcessStatus answers a process's status; each answer counts as a
// poll.
func (s *Simulator) asyncProcessStatus(c *restCall) (any, error) {
	id := c.r.PathValue("statusUuid")
	p := s.st.processes[id]
	if p == nil || p.org != c.org.token {
		return nil, badRequest("asynchronous process not found: " + id)
	}
	p.polls++
	p.progress = p.progress.advance(p.created, s.now(), s.cfg.ProcessDuration, p.polls, s.cfg.ProcessPolls)
	return s.processAnswer(p), nil
}

func (s *Simulator) processAnswer(p *process) mend.AsyncProcess {
	status := [...]string{string(mend.ProcessPending), string(mend.ProcessInProgress), p.outcome}[p.progress.stage]
	sum := sha1.Sum([]byte(p.processType + ":" + p.contextType + ":" + p.contextUUID + ":" + p.uuid))
	return mend.AsyncProcess{
		UUID:               p.uuid,
		Status:             mend.ProcessStatus(status),
		ProcessType:        p.processType,
		ContextUUID:        p.contextUUID,
		ContextType:        p.contextType,
		Created:            asyncTime(p.created),
		Modified:           asyncTime(p.progress.since),
		MessageContentSha1: hex.EncodeToString(sum[:]),
		RequestToken:       p.requestTok,
		UserEmail:          p.userEmail,
	}
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
	switch mend.ProcessStatus(o.Status) {
	case "", mend.ProcessSuccess, mend.ProcessFailed, mend.ProcessFailure:
	default:
		return fmt.Errorf("process outcome %q: want SUCCESS, FAILED or FAILURE", o.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	scope := o.Token
	if org := s.orgByTokenOrUUID(o.Token); org != nil {
		scope = org.token
	} else if s.st.products[scope] == nil && s.st.projects[scope] == nil {
		return fmt.Errorf("process outcome: %q is no organization, product or project", o.Token)
	}
	if o.Status == "" || o.Status == string(mend.ProcessSuccess) {
		delete(s.st.outcomes, scope)
	} else {
		s.st.outcomes[scope] = o.Status
	}
	return nil
}

// requestStateHandlers answers getRequestState, the v1.4 request that
// follows a plugin request.
func (s *Simulator) requestStateHandlers() map[string]v1Handler {
	return map[string]v1Handler{mend.ReqGetRequestState: s.getRequestState}
}

// getRequestState answers the state of a registered plugin request; each
// answer counts as a poll. As the page says, an unknown organization or
// request token answers UNKNOWN rather than an error.
func (s *Simulator) getRequestState(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetRequestStateRequest](c, "orgToken", "requestToken")
	if err != nil {
		return nil, err
	}
	now := s.now()
	r := s.st.requests[req.RequestToken]
	if r == nil || r.org != req.OrgToken {
		return mend.GetRequestStateResponse{RequestState: mend.RequestUnknown, Timestamp: asyncTime(now)}, nil
	}
	r.polls++
	r.progress = r.progress.advance(r.created, now, s.cfg.RequestDuration, r.polls, s.cfg.RequestPolls)
	state := [...]string{string(mend.RequestInProgress), string(mend.RequestUpdated), r.outcome}[r.progress.stage]
	return mend.GetRequestStateResponse{RequestState: mend.RequestState(state), Timestamp: asyncTime(r.progress.since)}, nil
}

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
// returns its token. From now on getRequestState sees it go IN_PROGRESS,
// UPDATED, then its outcome, over Config.RequestDuration or
// Config.RequestPolls polls.
func (s *Simulator) RegisterRequest(r PluginRequest) (string, error) {
	switch mend.RequestState(r.Outcome) {
	case "":
		r.Outcome = string(mend.RequestFinished)
	case mend.RequestFinished, mend.RequestFailed, mend.RequestSkipped:
	default:
		return "", fmt.Errorf("plugin request outcome %q: want FINISHED, FAILED or SKIPPED", r.Outcome)
	}
	if r.OrgToken == "" {
		r.OrgToken = s.cfg.OrgToken
	}
	if r.RequestToken == "" {
		r.RequestToken = newToken()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.orgs[r.OrgToken] == nil {
		return "", fmt.Errorf("plugin request: no organization %q", r.OrgToken)
	}
	if s.st.requests[r.RequestToken] != nil {
		return "", errors.New("plugin request: token already registered")
	}
	now := s.now()
	s.st.requests[r.RequestToken] = &pluginRequest{
		org: r.OrgToken, created: now, outcome: r.Outcome, progress: asyncProgress{since: now},
	}
	return r.RequestToken, nil
}
