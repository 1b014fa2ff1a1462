package mendsim

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mendflow/mendflow/pkg/mend"
)

// policyLevel is one of the four levels that hold policies, with its five
// request types.
type policyLevel struct {
	level   mend.ScopeLevel
	context string // policyContext of the level's policies
	token   string // the request field naming the scope
	get     string
	add     string
	update  string
	remove  string
	reorder string
}

func policyLevels() []policyLevel {
	return []policyLevel{
		{
			level: mend.GlobalOrganizationLevel, context: mend.PolicyContextGlobalOrganization, token: "globalOrgToken",
			get: mend.ReqGetGlobalOrganizationPolicies, add: mend.ReqAddGlobalOrganizationPolicy,
			update: mend.ReqUpdateGlobalOrganizationPolicy, remove: mend.ReqRemoveGlobalOrganizationPolicies,
			reorder: mend.ReqReorderGlobalOrganizationPolicyPriorities,
		},
		{
			level: mend.OrganizationLevel, context: mend.PolicyContextOrganization, token: "orgToken",
			get: mend.ReqGetOrganizationPolicies, add: mend.ReqAddOrganizationPolicy,
			update: mend.ReqUpdateOrganizationPolicy, remove: mend.ReqRemoveOrganizationPolicies,
			reorder: mend.ReqReorderOrganizationPolicyPriorities,
		},
		{
			level: mend.ProductLevel, context: mend.PolicyContextProduct, token: "productToken",
			get: mend.ReqGetProductPolicies, add: mend.ReqAddProductPolicy,
			update: mend.ReqUpdateProductPolicy, remove: mend.ReqRemoveProductPolicies,
			reorder: mend.ReqReorderProductPolicyPriorities,
		},
		{
			level: mend.ProjectLevel, context: mend.PolicyContextProject, token: "projectToken",
			get: mend.ReqGetProjectPolicies, add: mend.ReqAddProjectPolicy,
			update: mend.ReqUpdateProjectPolicy, remove: mend.ReqRemoveProjectPolicies,
			reorder: mend.ReqReorderProjectPolicyPriorities,
		},
	}
}

func (s *Simulator) policyHandlers() map[string]v1Handler {
	h := map[string]v1Handler{mend.ReqChangeOrganizationPolicyOwner: s.changeOrganizationPolicyOwner}
	for _, l := range policyLevels() {
		h[l.get] = s.getPolicies(l)
		h[l.add] = s.addPolicy(l)
		h[l.update] = s.updatePolicy(l)
		h[l.remove] = s.removePolicies(l)
		h[l.reorder] = s.reorderPolicies(l)
	}
	return h
}

// policyScope is the policy list of one global organization, organization,
// product or project, with what surrounds it.
type policyScope struct {
	level policyLevel
	list  *[]*policy
	// org is the organization whose users may own the policies; nil for a
	// global organization, where any user may.
	org *org
	// product is the product of a product or project scope.
	product *product
	// above are the policies of the levels above, nearest first, which
	// aggregatePolicies adds.
	above [][]*policy
}

func (s *Simulator) policyScopeOf(l policyLevel, t mend.ScopeTokens) (*policyScope, error) {
	sc := &policyScope{level: l}
	if l.level == mend.GlobalOrganizationLevel {
		g, err := s.globalOrgOf(t.GlobalOrgToken)
		if err != nil {
			return nil, err
		}
		sc.list = &g.policies
		return sc, nil
	}
	o, p, j, err := s.scopeOf(l.level, t)
	if err != nil {
		return nil, err
	}
	switch {
	case j != nil:
		sc.list = &j.policies
		sc.above = append(sc.above, p.policies, o.policies)
	case p != nil:
		sc.list = &p.policies
		sc.above = append(sc.above, o.policies)
	default:
		sc.list = &o.policies
	}
	sc.org, sc.product = o, p
	if g := s.st.globalOrgs[o.globalOrg]; g != nil {
		sc.above = append(sc.above, g.policies)
	}
	return sc, nil
}

func (sc *policyScope) find(id int) (int, *policy) {
	for i, p := range *sc.list {
		if p.id == id {
			return i, p
		}
	}
	return -1, nil
}

func (sc *policyScope) notFound(id int) error {
	return apiError(mend.CodeInvalidOptionValue, "Policy %d does not exist in this %s", id, sc.level.level)
}

func (p *policy) wire() mend.Policy {
	out := mend.Policy{
		ID:            p.id,
		Name:          p.name,
		Owner:         mend.PolicyOwner{ID: p.owner.id, Email: p.owner.email, Name: p.owner.name},
		CreationTime:  p.created.UTC().Format(time.DateOnly),
		Priority:      p.priority,
		Inclusive:     p.inclusive,
		Enabled:       p.enabled,
		PolicyContext: p.context,
	}
	// filter and action were encoded from these types when stored.
	_ = json.Unmarshal(p.filter, &out.Filter)
	_ = json.Unmarshal(p.action, &out.Action)
	return out
}

// wirePolicies answers a level's policies as Mend lists them: highest
// priority first.
func wirePolicies(list []*policy) []mend.Policy {
	sorted := append([]*policy(nil), list...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].priority > sorted[j].priority })
	out := make([]mend.Policy, 0, len(sorted))
	for _, p := range sorted {
		out = append(out, p.wire())
	}
	return out
}

// setPriorities gives the policies in set their priorities and the others
// the remaining ones from 1 up, keeping their order, so that a level's
// priorities are always 1 to n.
func setPriorities(list []*policy, set map[*policy]int) {
	taken := make(map[int]bool, len(set))
	for _, prio := range set {
		taken[prio] = true
	}
	rest := make([]*policy, 0, len(list))
	for _, p := range list {
		if _, ok := set[p]; !ok {
			rest = append(rest, p)
		}
	}
	sort.SliceStable(rest, func(i, j int) bool { return rest[i].priority < rest[j].priority })
	next := 1
	for _, p := range rest {
		for taken[next] {
			next++
		}
		p.priority = next
		next++
	}
	for p, prio := range set {
		p.priority = prio
	}
}

func (s *Simulator) getPolicies(l policyLevel) v1Handler {
	return func(c *v1Call) (any, error) {
		req, err := decodeRequired[mend.GetPoliciesRequest](c, l.token)
		if err != nil {
			return nil, err
		}
		sc, err := s.policyScopeOf(l, req.ScopeTokens)
		if err != nil {
			return nil, err
		}
		out := mend.PoliciesResponse{Policies: wirePolicies(*sc.list)}
		if req.AggregatePolicies {
			for _, above := range sc.above {
				out.Policies = append(out.Policies, wirePolicies(above)...)
			}
		}
		return out, nil
	}
}

func (s *Simulator) addPolicy(l policyLevel) v1Handler {
	return func(c *v1Call) (any, error) {
		req, err := decodeRequired[mend.PolicyRequest](c, l.token, "policy")
		if err != nil {
			return nil, err
		}
		spec := req.Policy
		if err := missingPolicyFields(spec, false); err != nil {
			return nil, err
		}
		sc, err := s.policyScopeToChange(l, req.ScopeTokens)
		if err != nil {
			return nil, err
		}
		owner, err := s.policyOwner(sc, spec.Owner)
		if err != nil {
			return nil, err
		}
		filter, err := checkPolicyFilter(spec.Filter)
		if err != nil {
			return nil, err
		}
		action, err := checkPolicyAction(spec.Action)
		if err != nil {
			return nil, err
		}
		p := &policy{
			id: s.st.id(), name: spec.Name, owner: owner, created: s.now(),
			// New policies come last in line: the highest priority.
			priority: len(*sc.list) + 1,
			filter:   filter, action: action,
			inclusive: spec.Inclusive != nil && *spec.Inclusive,
			enabled:   true, context: l.context,
		}
		*sc.list = append(*sc.list, p)
		return mend.AddPolicyResponse{AddedPolicy: p.wire(), Message: fmt.Sprintf("Successfully added policy '%s'", p.name)}, nil
	}
}

func (s *Simulator) updatePolicy(l policyLevel) v1Handler {
	return func(c *v1Call) (any, error) {
		req, err := decodeRequired[mend.PolicyRequest](c, l.token, "policy")
		if err != nil {
			return nil, err
		}
		spec := req.Policy
		if err := missingPolicyFields(spec, true); err != nil {
			return nil, err
		}
		sc, err := s.policyScopeToChange(l, req.ScopeTokens)
		if err != nil {
			return nil, err
		}
		i, old := sc.find(spec.ID)
		if old == nil {
			return nil, sc.notFound(spec.ID)
		}
		owner, err := s.policyOwner(sc, spec.Owner)
		if err != nil {
			return nil, err
		}
		updated := *old
		if spec.Filter != nil {
			if updated.filter, err = checkPolicyFilter(spec.Filter); err != nil {
				return nil, err
			}
		}
		if spec.Action != nil {
			if updated.action, err = checkPolicyAction(spec.Action); err != nil {
				return nil, err
			}
		}
		if spec.Inclusive != nil {
			updated.inclusive = *spec.Inclusive
		}
		// "Note that a new policy ID is assigned"; the priority and the
		// creation time stay.
		updated.id, updated.name, updated.owner = s.st.id(), spec.Name, owner
		(*sc.list)[i] = &updated
		return mend.UpdatePolicyResponse{UpdatedPolicy: updated.wire(), Message: fmt.Sprintf("Successfully updated policy '%s'", updated.name)}, nil
	}
}

func (s *Simulator) removePolicies(l policyLevel) v1Handler {
	return func(c *v1Call) (any, error) {
		req, err := decodeRequired[mend.RemovePoliciesRequest](c, l.token, "policyIds")
		if err != nil {
			return nil, err
		}
		if len(req.PolicyIDs) == 0 {
			return nil, missingFieldsError("policyIds")
		}
		sc, err := s.policyScopeToChange(l, req.ScopeTokens)
		if err != nil {
			return nil, err
		}
		drop := make(map[int]bool, len(req.PolicyIDs))
		for _, id := range req.PolicyIDs {
			drop[id] = true
		}
		kept := make([]*policy, 0, len(*sc.list))
		for _, p := range *sc.list {
			if !drop[p.id] {
				kept = append(kept, p)
			}
		}
		removed := len(*sc.list) - len(kept)
		setPriorities(kept, nil)
		*sc.list = kept
		return mend.RemovePoliciesResponse{RemovedPolicies: removed}, nil
	}
}

func (s *Simulator) reorderPolicies(l policyLevel) v1Handler {
	return func(c *v1Call) (any, error) {
		req, err := decodeRequired[mend.ReorderPoliciesRequest](c, l.token, "policyPriorities")
		if err != nil {
			return nil, err
		}
		if len(req.PolicyPriorities) == 0 {
			return nil, missingFieldsError("policyPriorities")
		}
		sc, err := s.policyScopeToChange(l, req.ScopeTokens)
		if err != nil {
			return nil, err
		}
		n := len(*sc.list)
		set := make(map[*policy]int, len(req.PolicyPriorities))
		used := make(map[int]bool, len(req.PolicyPriorities))
		for _, pp := range req.PolicyPriorities {
			if pp.PolicyID == 0 || pp.Priority == 0 {
				return nil, missingFieldsError("policyPriorities.policyId", "policyPriorities.priority")
			}
			_, p := sc.find(pp.PolicyID)
			switch {
			case p == nil:
				return nil, sc.notFound(pp.PolicyID)
			case pp.Priority < 1 || pp.Priority > n:
				return nil, apiError(mend.CodeInvalidOptionValue, "Priority %d is out of range 1-%d", pp.Priority, n)
			case used[pp.Priority]:
				return nil, apiError(mend.CodeInvalidOptionValue, "Priority %d is given twice", pp.Priority)
			}
			if _, dup := set[p]; dup {
				return nil, apiError(mend.CodeInvalidOptionValue, "Policy %d is given twice", pp.PolicyID)
			}
			set[p], used[pp.Priority] = pp.Priority, true
		}
		setPriorities(*sc.list, set)
		return mend.PoliciesResponse{Policies: wirePolicies(*sc.list)}, nil
	}
}

func (s *Simulator) changeOrganizationPolicyOwner(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.ChangePolicyOwnerRequest](c, "orgToken", "currentPolicyOwnerEmail", "newPolicyOwnerEmail")
	if err != nil {
		return nil, err
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, err
	}
	// "You must be a member of the Organization Administrator group."
	if err := s.mayChangePolicies(&policyScope{org: o}); err != nil {
		return nil, err
	}
	// The current owner may have left the organization; the new one must be
	// in it.
	if s.st.users[strings.ToLower(req.CurrentPolicyOwnerEmail)] == nil {
		return nil, apiError(mend.CodeUserNotFound, "User %s does not exist", req.CurrentPolicyOwnerEmail)
	}
	newOwner, err := s.orgMemberByEmail(o, req.NewPolicyOwnerEmail)
	if err != nil {
		return nil, err
	}
	products := s.productsOf(o)
	lists := [][]*policy{o.policies}
	for _, p := range products {
		lists = append(lists, p.policies)
	}
	for _, j := range s.projectsOf(products...) {
		lists = append(lists, j.policies)
	}
	for _, list := range lists {
		for _, p := range list {
			if strings.EqualFold(p.owner.email, req.CurrentPolicyOwnerEmail) {
				p.owner = newOwner
			}
		}
	}
	return message("Successfully changed policy owners in the organization"), nil
}

// policyScopeToChange is policyScopeOf for a request that changes the
// scope's policies, which only an administrator may.
func (s *Simulator) policyScopeToChange(l policyLevel, t mend.ScopeTokens) (*policyScope, error) {
	sc, err := s.policyScopeOf(l, t)
	if err != nil {
		return nil, err
	}
	return sc, s.mayChangePolicies(sc)
}

// mayChangePolicies checks that the user of the user key may add, update,
// remove or reorder the policies of sc. The page requires the ORG Admin
// group for an organization's policies, and the Product Admin or Admin
// group for a product's or project's: here, a group of the organization,
// with the user in it, that holds the ADMIN role on the organization, or on
// the scope's product. The Global Admin group of a global organization is
// not modelled: anyone may.
func (s *Simulator) mayChangePolicies(sc *policyScope) error {
	if sc.org == nil {
		return nil
	}
	email := strings.ToLower(s.cfg.UserEmail)
	for _, g := range sc.org.groups {
		if !slices.Contains(g.users, email) {
			continue
		}
		for _, r := range g.roles {
			switch {
			case r.role != roleAdmin:
			case r.contextType == mend.ContextOrgs && r.contextToken == sc.org.token,
				r.contextType == mend.ContextProducts && sc.product != nil && r.contextToken == sc.product.token:
				return nil
			}
		}
	}
	return apiError(mend.CodeNotAllowed, "User is not allowed to perform this action")
}

// roleAdmin is the role of administrators.
const roleAdmin = "ADMIN"

// orgMemberByEmail finds a user of o by e-mail.
func (s *Simulator) orgMemberByEmail(o *org, email string) (*user, error) {
	u := s.st.users[strings.ToLower(email)]
	if u == nil {
		return nil, apiError(mend.CodeUserNotFound, "User %s does not exist", email)
	}
	for _, m := range o.members {
		if strings.EqualFold(m, u.email) {
			return u, nil
		}
	}
	return nil, apiError(mend.CodeUserNotInOrg, "User %s is not in organization %s", u.email, o.name)
}

// policyOwner finds the user a policy's owner object names, by ID or by
// e-mail, who must belong to the scope's organization.
func (s *Simulator) policyOwner(sc *policyScope, o *mend.PolicyOwner) (*user, error) {
	var u *user
	if o.ID != 0 {
		for _, x := range s.st.users {
			if x.id == o.ID {
				u = x
				break
			}
		}
		if u == nil {
			return nil, apiError(mend.CodeUserNotFound, "User %d does not exist", o.ID)
		}
		if o.Email != "" && !strings.EqualFold(o.Email, u.email) {
			return nil, apiError(mend.CodeInvalidOptionValue, "Owner id %d and email %s name different users", o.ID, o.Email)
		}
	} else if u = s.st.users[strings.ToLower(o.Email)]; u == nil {
		return nil, apiError(mend.CodeUserNotFound, "User %s does not exist", o.Email)
	}
	if sc.org == nil {
		return u, nil
	}
	return s.orgMemberByEmail(sc.org, u.email)
}

func missingFieldsError(names ...string) error {
	return apiError(mend.CodeMissingFields, "Missing fields: %s", strings.Join(names, ", "))
}

// missingPolicyFields checks the policy object of an add request (name,
// owner, filter and action required) or of an update request (id, name and
// owner required; the rest only changes what it names).
func missingPolicyFields(p *mend.PolicySpec, update bool) error {
	var missing []string
	if update && p.ID == 0 {
		missing = append(missing, "policy.id")
	}
	if p.Name == "" {
		missing = append(missing, "policy.name")
	}
	if p.Owner == nil || p.Owner.ID == 0 && p.Owner.Email == "" {
		missing = append(missing, "policy.owner")
	}
	if !update && p.Filter == nil {
		missing = append(missing, "policy.filter")
	}
	if !update && p.Action == nil {
		missing = append(missing, "policy.action")
	}
	if len(missing) > 0 {
		return missingFieldsError(missing...)
	}
	return nil
}

// checkPolicyFilter validates a filter of the match types the pages
// document, fills in license IDs as Mend answers them, and encodes it.
func checkPolicyFilter(f *mend.PolicyFilter) ([]byte, error) {
	out := *f
	switch f.Type {
	case "":
		return nil, missingFieldsError("policy.filter.type")
	case mend.FilterLicense:
		if len(f.Licenses) == 0 {
			return nil, missingFieldsError("policy.filter.licenses")
		}
		out.Licenses = make([]mend.PolicyLicense, len(f.Licenses))
		for i, l := range f.Licenses {
			known, err := resolveLicense(l)
			if err != nil {
				return nil, err
			}
			out.Licenses[i] = known
		}
	case mend.FilterVulnerabilitySeverity:
		r := f.VulnerabilitySeverity
		if r == nil {
			return nil, missingFieldsError("policy.filter.vulnerabilitySeverity")
		}
		if r.ScoreFrom < 0 || r.ScoreTo > 10 || r.ScoreFrom > r.ScoreTo {
			return nil, apiError(mend.CodeInvalidOptionValue, "Invalid vulnerability score range %g-%g", r.ScoreFrom, r.ScoreTo)
		}
	case mend.FilterLibraryStaleness:
		if f.MonthsBack == 0 {
			return nil, missingFieldsError("policy.filter.monthsBack")
		}
		if f.MonthsBack < 0 {
			return nil, apiError(mend.CodeInvalidOptionValue, "Invalid monthsBack %d", f.MonthsBack)
		}
	default:
		return nil, apiError(mend.CodeInvalidOptionValue, "Invalid filter type %s", f.Type)
	}
	return json.Marshal(out)
}

// resolveLicense finds a license by name or ID. The IDs of Apache 2.0,
// Apache 1.1, AGPL 1.0 and GPL 3.0 are the pages'; the others are the
// simulator's own.
func resolveLicense(l mend.PolicyLicense) (mend.PolicyLicense, error) {
	ids := map[string]int{
		"GPL 3.0": 1, "GPL 3": 1, "GPL 2.0": 2, "GPL 1.0": 3, "Apache 2.0": 9, "BSD 2": 12, "BSD 3": 13,
		"CDDL 1.0": 16, "CDDL 1.1": 17, "Eclipse 1.0": 20, "Eclipse 2.0": 21, "LGPL 2.1": 27, "LGPL 3.0": 28,
		"MIT": 30, "MPL 1.1": 35, "MPL 2.0": 36, "ISC": 40, "Public Domain": 45, "Unlicense": 46,
		"Apache 1.1": 75, "Apache 1.0": 76, "AGPL 3.0": 217, "AGPL 1.0": 218,
	}
	if l.Name != "" {
		id, ok := ids[l.Name]
		if !ok || l.ID != 0 && l.ID != id {
			return l, apiError(mend.CodeInvalidOptionValue, "Invalid license %q", l.Name)
		}
		return mend.PolicyLicense{ID: id, Name: l.Name}, nil
	}
	for name, id := range ids {
		// "GPL 3" is the pages' alias of GPL 3.0; answer the full name.
		if id == l.ID && name != "GPL 3" {
			return mend.PolicyLicense{ID: id, Name: name}, nil
		}
	}
	return l, apiError(mend.CodeInvalidOptionValue, "Invalid license id %d", l.ID)
}

// checkPolicyAction validates an action and encodes it. REASSIGN and
// CONDITIONS need fields the pages do not document, so the simulator
// refuses them rather than accept what Mend might not.
func checkPolicyAction(a *mend.PolicyAction) ([]byte, error) {
	switch a.Type {
	case "":
		return nil, missingFieldsError("policy.action.type")
	case mend.ActionApprove, mend.ActionReject:
		if a.IssueSettings != nil {
			return nil, apiError(mend.CodeInvalidOptionValue, "issueSettings apply to %s actions only", mend.ActionCreateIssue)
		}
	case mend.ActionCreateIssue:
		if err := checkIssueSettings(a.IssueSettings); err != nil {
			return nil, err
		}
	case mend.ActionReassign, mend.ActionConditions:
		return nil, apiError(mend.CodeInvalidOptionValue, "Action %s is not supported by the simulator: its fields are not documented", a.Type)
	default:
		return nil, apiError(mend.CodeInvalidOptionValue, "Invalid action type %s", a.Type)
	}
	return json.Marshal(a)
}

// checkIssueSettings checks the settings of a CREATE_ISSUE action: the
// legacy JIRA and WORK_ITEMS integrations need the tracker's assignee,
// project, issue type and priority; the plugin integration does not.
func checkIssueSettings(is *mend.IssueSettings) error {
	if is == nil {
		return missingFieldsError("policy.action.issueSettings")
	}
	var missing []string
	add := func(empty bool, name string) {
		if empty {
			missing = append(missing, "policy.action.issueSettings."+name)
		}
	}
	add(is.Summary == "", "summary")
	add(is.Description == "", "description")
	add(is.IssueTrackerType == "", "issueTrackerType")
	switch is.IssueTrackerType {
	case "", mend.IssueTrackerCommon:
	case mend.IssueTrackerJira, mend.IssueTrackerWorkItems:
		add(is.IssueAssignee == nil || is.IssueAssignee.DisplayName == "", "issueAssignee")
		add(is.IssueProject == nil || is.IssueProject.Key == "", "issueProject")
		add(is.IssueType == nil || is.IssueType.Name == "", "issueType")
		add(is.IssuePriorityInfo == nil || is.IssuePriorityInfo.Name == "", "issuePriorityInfo")
	default:
		return apiError(mend.CodeInvalidOptionValue, "Invalid issueTrackerType %s", is.IssueTrackerType)
	}
	if len(missing) > 0 {
		return missingFieldsError(missing...)
	}
	if is.IssueTrackerType == mend.IssueTrackerCommon {
		return nil
	}
	// The page lists the values of issueType (per tracker) and
	// issuePriorityInfo, case sensitive for a JIRA project.
	jira := is.IssueTrackerType == mend.IssueTrackerJira
	types := workItemsIssueTypes
	if jira {
		types = jiraIssueTypes
	}
	if !oneOf(is.IssueType.Name, types, jira) {
		return apiError(mend.CodeInvalidOptionValue, "Invalid issueType %q for %s: must be one of %s",
			is.IssueType.Name, is.IssueTrackerType, strings.Join(types, ", "))
	}
	if !oneOf(is.IssuePriorityInfo.Name, issuePriorities, jira) {
		return apiError(mend.CodeInvalidOptionValue, "Invalid issuePriorityInfo %q: must be one of %s",
			is.IssuePriorityInfo.Name, strings.Join(issuePriorities, ", "))
	}
	return nil
}

// The values the page gives for issueType and issuePriorityInfo of a
// legacy JIRA or WORK_ITEMS CREATE_ISSUE action.
var (
	jiraIssueTypes      = []string{"Bug", "Improvement", "Task", "New feature", "Epic", "Story"}
	workItemsIssueTypes = []string{
		"Bug", "Code Review Request", "Test Case", "Shared Steps", "Epic", "Task", "Feature",
		"Code Review Response", "Feedback Request", "Feedback Response", "Test Plan", "User Story",
		"Shared Parameter", "Test Suite", "Issue",
	}
	issuePriorities = []string{"Highest", "High", "Medium", "Low", "Lowest"}
)

// oneOf reports whether v is one of values, ignoring case unless
// caseSensitive.
func oneOf(v string, values []string, caseSensitive bool) bool {
	for _, x := range values {
		if v == x || !caseSensitive && strings.EqualFold(v, x) {
			return true
		}
	}
	return false
}
