package events

// The policy of a policy.add or policy.update command, as the command's
// JSON data holds it. Its fields are named and shaped as Mend's policy
// requests name them (page 004 of Mend's documentation), so that a command
// reads like the request it becomes; pkg/handlers turns it into the Mend
// client's request type. The vocabulary keeps a schema of its own rather
// than the client's structs: a command is what senders write and the
// stream keeps, and it must not change when the client does.

// Policy is a policy to add or update. Add needs Name, Owner, Filter and
// Action; update needs ID, Name and Owner and changes only the other
// fields that are set.
type Policy struct {
	ID        int           `json:"id,omitempty"`
	Name      string        `json:"name,omitempty"`
	Owner     *PolicyOwner  `json:"owner,omitempty"`
	Filter    *PolicyFilter `json:"filter,omitempty"`
	Inclusive *bool         `json:"inclusive,omitempty"`
	Action    *PolicyAction `json:"action,omitempty"`
}

// PolicyOwner names the user who owns a policy, by id or e-mail.
type PolicyOwner struct {
	ID    int    `json:"id,omitempty"`
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
}

// PolicyFilter says which libraries a policy matches; Type decides which
// of the other fields apply (LICENSE, VULNERABILITY_SEVERITY,
// LIBRARY_STALENESS).
type PolicyFilter struct {
	Type                         string          `json:"type"`
	Licenses                     []PolicyLicense `json:"licenses,omitempty"`
	VulnerabilitySeverity        *ScoreRange     `json:"vulnerabilitySeverity,omitempty"`
	EffectiveVulnerabilitiesOnly bool            `json:"effectiveVulnerabilitiesOnly,omitempty"`
	MonthsBack                   int             `json:"monthsBack,omitempty"`
	ScoreFrom                    float64         `json:"scoreFrom,omitempty"`
	ScoreTo                      float64         `json:"scoreTo,omitempty"`
}

// PolicyLicense is a license of a LICENSE filter, by id or name.
type PolicyLicense struct {
	ID   int    `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// ScoreRange is a range of vulnerability scores, from 0 to 10.
type ScoreRange struct {
	ScoreFrom float64 `json:"scoreFrom"`
	ScoreTo   float64 `json:"scoreTo"`
}

// PolicyAction is what a policy does to a library it matches (APPROVE,
// REJECT, REASSIGN, CONDITIONS, CREATE_ISSUE).
type PolicyAction struct {
	Type          string         `json:"type"`
	IssueSettings *IssueSettings `json:"issueSettings,omitempty"`
}

// IssueSettings is the ticket a CREATE_ISSUE action opens.
type IssueSettings struct {
	Summary            string                     `json:"summary"`
	Description        string                     `json:"description"`
	IssueTrackerType   string                     `json:"issueTrackerType"`
	IssueAssignee      *IssueAssignee             `json:"issueAssignee,omitempty"`
	IssueProject       *IssueProject              `json:"issueProject,omitempty"`
	IssueType          *IssueName                 `json:"issueType,omitempty"`
	IssuePriorityInfo  *IssueName                 `json:"issuePriorityInfo,omitempty"`
	RequiredFieldsInfo map[string]IssueFieldValue `json:"requiredFieldsInfo,omitempty"`
}

// IssueAssignee is the tracker user an issue is assigned to.
type IssueAssignee struct {
	DisplayName string `json:"displayName"`
}

// IssueProject is the tracker project an issue is opened in.
type IssueProject struct {
	Key string `json:"key"`
}

// IssueName names an issue type or priority as the tracker spells it.
type IssueName struct {
	Name string `json:"name"`
}

// IssueFieldValue is the value of a field of an issue.
type IssueFieldValue struct {
	Value string `json:"value"`
}

// PolicyPriority gives a policy, by id, its priority at a scope; 1 is the
// lowest.
type PolicyPriority struct {
	PolicyID int `json:"policyId"`
	Priority int `json:"priority"`
}

// The actions of setup.notification.set.
const (
	SetupNotificationEnabled  = "ENABLED"
	SetupNotificationDisabled = "DISABLED"
	SetupNotificationCustom   = "CUSTOM"
)

// The context types of group.roles.add and group.roles.remove.
const (
	ContextOrgs     = "orgs"
	ContextProducts = "products"
)
