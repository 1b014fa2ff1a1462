package events

import (
	"encoding/json"
	"time"
)

// The data of the result events the worker publishes, one struct per type.
// Field names are Mend's; a boolean such as Created or Saved tells whether
// this command changed Mend (false: it found the change already made, by an
// earlier delivery of the same command or by someone else).

// ProductCreated is the data of io.mendflow.product.created.
type ProductCreated struct {
	OrgToken     string `json:"orgToken"`
	ProductName  string `json:"productName"`
	ProductToken string `json:"productToken"`
	Created      bool   `json:"created"`
}

// ProductDeleted is the data of io.mendflow.product.deleted. Deleted is
// false when no such product existed.
type ProductDeleted struct {
	OrgToken     string `json:"orgToken"`
	ProductName  string `json:"productName,omitempty"`
	ProductToken string `json:"productToken,omitempty"`
	Deleted      bool   `json:"deleted"`
}

// ProductTagChanged is the data of io.mendflow.product.tagged (Changed:
// the value was saved) and io.mendflow.product.untagged (Changed: it was
// removed).
type ProductTagChanged struct {
	OrgToken     string `json:"orgToken"`
	ProductName  string `json:"productName,omitempty"`
	ProductToken string `json:"productToken"`
	TagKey       string `json:"tagKey"`
	TagValue     string `json:"tagValue"`
	Changed      bool   `json:"changed"`
}

// ProjectCreated is the data of io.mendflow.project.created. TagsSaved
// lists the tag values this command saved.
type ProjectCreated struct {
	OrgToken     string            `json:"orgToken"`
	ProductToken string            `json:"productToken"`
	ProductName  string            `json:"productName,omitempty"`
	ProjectToken string            `json:"projectToken"`
	ProjectName  string            `json:"projectName"`
	Created      bool              `json:"created"`
	TagsSaved    map[string]string `json:"tagsSaved,omitempty"`
}

// ProjectDeleted is the data of io.mendflow.project.deleted. Deleted is
// false when no such project existed.
type ProjectDeleted struct {
	OrgToken     string `json:"orgToken"`
	ProductToken string `json:"productToken,omitempty"`
	ProductName  string `json:"productName,omitempty"`
	ProjectToken string `json:"projectToken,omitempty"`
	ProjectName  string `json:"projectName,omitempty"`
	Deleted      bool   `json:"deleted"`
}

// ProjectTagChanged is the data of io.mendflow.project.tagged and
// io.mendflow.project.untagged, like ProductTagChanged.
type ProjectTagChanged struct {
	OrgToken     string `json:"orgToken"`
	ProjectToken string `json:"projectToken"`
	ProjectName  string `json:"projectName,omitempty"`
	TagKey       string `json:"tagKey"`
	TagValue     string `json:"tagValue"`
	Changed      bool   `json:"changed"`
}

// ProjectReassigned is the data of io.mendflow.project.reassigned.
// Reassigned is false when the project already was in the new product;
// ProductCreated is true when this command created that product, Renamed
// when it gave the project the command's newProjectName.
type ProjectReassigned struct {
	OrgToken        string `json:"orgToken"`
	ProjectToken    string `json:"projectToken"`
	ProjectName     string `json:"projectName,omitempty"`
	OldProductToken string `json:"oldProductToken,omitempty"`
	NewProductToken string `json:"newProductToken"`
	NewProductName  string `json:"newProductName,omitempty"`
	ProductCreated  bool   `json:"productCreated,omitempty"`
	Reassigned      bool   `json:"reassigned"`
	Renamed         bool   `json:"renamed,omitempty"`
}

// ProjectRenamed is the data of io.mendflow.project.renamed. Changed is
// false when the project already had its new name (an earlier delivery, or
// someone else, renamed it); OldProjectName is the name this command
// changed, empty when it changed none.
type ProjectRenamed struct {
	OrgToken       string `json:"orgToken"`
	ProductToken   string `json:"productToken,omitempty"`
	ProjectToken   string `json:"projectToken"`
	OldProjectName string `json:"oldProjectName,omitempty"`
	ProjectName    string `json:"projectName"`
	Changed        bool   `json:"changed"`
}

// ProductRenamed is the data of io.mendflow.product.renamed, like
// ProjectRenamed.
type ProductRenamed struct {
	OrgToken       string `json:"orgToken"`
	ProductToken   string `json:"productToken"`
	OldProductName string `json:"oldProductName,omitempty"`
	ProductName    string `json:"productName"`
	Changed        bool   `json:"changed"`
}

// PolicyChanged is the data of io.mendflow.policy.added and
// io.mendflow.policy.updated: the policy as it now is at its scope.
// PreviousPolicyID is the id an update replaced (Mend gives the updated
// policy a new id).
type PolicyChanged struct {
	Scope            string `json:"scope"`
	Token            string `json:"token"`
	PolicyID         int    `json:"policyId"`
	PolicyName       string `json:"policyName"`
	PreviousPolicyID int    `json:"previousPolicyId,omitempty"`
	Changed          bool   `json:"changed"`
}

// PolicyRemoved is the data of io.mendflow.policy.removed: RemovedPolicies
// counts the ids that were still there to remove.
type PolicyRemoved struct {
	Scope           string `json:"scope"`
	Token           string `json:"token"`
	PolicyIDs       []int  `json:"policyIds"`
	RemovedPolicies int    `json:"removedPolicies"`
}

// PolicyReordered is the data of io.mendflow.policy.reordered.
type PolicyReordered struct {
	Scope            string           `json:"scope"`
	Token            string           `json:"token"`
	PolicyPriorities []PolicyPriority `json:"policyPriorities"`
}

// PolicyOwnerChanged is the data of io.mendflow.policy.owner.changed.
type PolicyOwnerChanged struct {
	OrgToken                string `json:"orgToken"`
	CurrentPolicyOwnerEmail string `json:"currentPolicyOwnerEmail"`
	NewPolicyOwnerEmail     string `json:"newPolicyOwnerEmail"`
}

// SetupNotificationConfigured is the data of
// io.mendflow.setup.notification.configured.
type SetupNotificationConfigured struct {
	OrgToken             string `json:"orgToken"`
	Action               string `json:"action"`
	ProjectTagKeyRegex   string `json:"projectTagKeyRegex,omitempty"`
	ProjectTagValueRegex string `json:"projectTagValueRegex,omitempty"`
}

// InHouseUnmarked is the data of io.mendflow.inhouse.unmarked. Unmarked is
// false when the library was not (or no longer) marked by hand.
type InHouseUnmarked struct {
	OrgToken string `json:"orgToken"`
	KeyUUID  string `json:"keyUuid"`
	Unmarked bool   `json:"unmarked"`
}

// PendingTaskClosed is the data of io.mendflow.pending.task.closed. Closed
// is false when the task was no longer pending.
type PendingTaskClosed struct {
	OrgToken string `json:"orgToken"`
	TaskUUID string `json:"taskUUID"`
	Closed   bool   `json:"closed"`
}

// GlobalOrgCreated is the data of io.mendflow.globalorg.created.
type GlobalOrgCreated struct {
	Name           string `json:"name"`
	GlobalOrgToken string `json:"globalOrgToken"`
	Created        bool   `json:"created"`
}

// GlobalOrgLinked is the data of io.mendflow.globalorg.assigned and
// io.mendflow.globalorg.removed.
type GlobalOrgLinked struct {
	OrgToken       string `json:"orgToken"`
	GlobalOrgToken string `json:"globalOrgToken"`
	Changed        bool   `json:"changed"`
}

// GroupChanged is the data of io.mendflow.group.created, .updated and
// .deleted.
type GroupChanged struct {
	OrgToken    string `json:"orgToken"`
	GroupUUID   string `json:"groupUuid,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	Changed     bool   `json:"changed"`
}

// GroupUsersChanged is the data of io.mendflow.group.users.added and
// .removed: Changed lists the users this command added or removed, the
// others already were (or were not) members.
type GroupUsersChanged struct {
	OrgToken   string   `json:"orgToken"`
	GroupUUID  string   `json:"groupUuid"`
	UserEmails []string `json:"userEmails"`
	Changed    []string `json:"changed"`
}

// GroupRoleChanged is the data of io.mendflow.group.roles.added and
// .removed.
type GroupRoleChanged struct {
	OrgToken     string `json:"orgToken"`
	GroupUUID    string `json:"groupUuid"`
	ContextToken string `json:"contextToken"`
	ContextType  string `json:"contextType"`
	Role         string `json:"role"`
	Changed      bool   `json:"changed"`
}

// Reasons a command gives up, in CommandFailed and on dead letters.
const (
	// FailPermanent: Mend refused it in a way that will not change.
	FailPermanent = "permanent"
	// FailAttemptsSpent: it kept failing in ways that might pass, too often.
	FailAttemptsSpent = "attempts spent"
	// FailNotFound: what it acts on did not appear in time.
	FailNotFound = "not found"
	// FailInvalid: the command itself is malformed or unknown.
	FailInvalid = "invalid"
	// FailPanic: the handler crashed on it.
	FailPanic = "panic"
	// FailTooLarge: what it produced (its result event, say) is larger than
	// NATS takes, which no retry can change.
	FailTooLarge = "too large"
)

// CommandFailed is the data of io.mendflow.command.failed, published when a
// command gives up. The command itself is kept on DLQSubject(Command).
type CommandFailed struct {
	Command   string    `json:"command"`
	CommandID string    `json:"commandId"`
	Reason    string    `json:"reason"`
	Error     string    `json:"error"`
	Attempts  int       `json:"attempts"`
	FailedAt  time.Time `json:"failedAt"`
	// DeadLetterSubject and DeadLetterSeq say where the command is kept:
	// its subject and its sequence in MENDFLOW_DLQ.
	DeadLetterSubject string `json:"deadLetterSubject"`
	DeadLetterSeq     uint64 `json:"deadLetterSeq"`
	// Data is the command's data as it came.
	Data json.RawMessage `json:"data,omitempty"`
	// Omitted names what this event leaves out so that it fits in a NATS
	// message: extension attributes (a correlationid of tens of kilobytes,
	// say), and "data". The dead letter keeps the command's data.
	Omitted []string `json:"omitted,omitempty"`
}
