package events

import "strings"

// Incoming webhook event types: GitHub types are
// com.github.<X-GitHub-Event>[.<action>], GitLab types com.gitlab.<event_name>
// (or <object_kind>). The built-in rules (internal/routing/builtin.yaml)
// route all of them but ping, which ingest answers itself.
const (
	TypeGitHubRepositoryCreated        = "com.github.repository.created"
	TypeGitHubRepositoryDeleted        = "com.github.repository.deleted"
	TypeGitHubRepositoryTransferred    = "com.github.repository.transferred"
	TypeGitHubRepositoryRenamed        = "com.github.repository.renamed"
	TypeGitHubRepositoryArchived       = "com.github.repository.archived"
	TypeGitHubRepositoryUnarchived     = "com.github.repository.unarchived"
	TypeGitHubInstallationReposAdded   = "com.github.installation_repositories.added"
	TypeGitHubInstallationReposRemoved = "com.github.installation_repositories.removed"
	TypeGitHubOrganizationRenamed      = "com.github.organization.renamed"
	TypeGitHubDeploymentStatusCreated  = "com.github.deployment_status.created"
	TypeGitHubPing                     = "com.github.ping"
	TypeGitLabProjectCreate            = "com.gitlab.project_create"
	TypeGitLabProjectDestroy           = "com.gitlab.project_destroy"
	TypeGitLabProjectTransfer          = "com.gitlab.project_transfer"
	TypeGitLabProjectRename            = "com.gitlab.project_rename"
	TypeGitLabGroupRename              = "com.gitlab.group_rename"
	TypeGitLabDeployment               = "com.gitlab.deployment"
)

// GitHubType is the CloudEvent type of a GitHub webhook delivery:
// com.github.<event>.<action>, or com.github.<event> when the payload has no
// action.
func GitHubType(event, action string) string {
	if action == "" {
		return "com.github." + event
	}
	return "com.github." + event + "." + action
}

// GitLabType is the CloudEvent type of a GitLab hook: com.gitlab.<event_name>.
func GitLabType(eventName string) string {
	return "com.gitlab." + eventName
}

// Command names fixed by the contract. The worker may register more (see
// Registry.Register).
const (
	CommandProductCreate    = "product.create"
	CommandProjectCreate    = "project.create"
	CommandProjectDelete    = "project.delete"
	CommandProjectTagSave   = "project.tag.save"
	CommandProjectTagRemove = "project.tag.remove"
	CommandProjectReassign  = "project.reassign"
	CommandProjectRename    = "project.rename"
	CommandProductRename    = "product.rename"
	CommandPoliciesApply    = "policies.apply"
	CommandRequestTrack     = "request.track"
)

// CommandTypePrefix starts the CloudEvent type of every command.
const CommandTypePrefix = "io.mendflow.command."

// CommandType is the CloudEvent type of the command name:
// io.mendflow.command.<name>.
func CommandType(name string) string { return CommandTypePrefix + name }

// CommandName is the command name of a CloudEvent type, and whether the type
// is a command type at all. TypeCommandFailed, under the same prefix, is a
// result event, not a command.
func CommandName(eventType string) (string, bool) {
	name, ok := strings.CutPrefix(eventType, CommandTypePrefix)
	if !ok || name == "" || eventType == TypeCommandFailed {
		return "", false
	}
	return name, true
}

// CommandSubject is the JetStream subject a command is stored on:
// mendflow.cmd.<name>.
func CommandSubject(name string) string { return "mendflow.cmd." + name }

// DLQSubject is the subject a command that gave up is kept on:
// mendflow.dlq.<name>.
func DLQSubject(name string) string { return "mendflow.dlq." + name }

// Result event types fixed by the contract; each is published on
// ResultSubject(type).
const (
	TypeProductCreated    = "io.mendflow.product.created"
	TypeProjectCreated    = "io.mendflow.project.created"
	TypeProjectTagged     = "io.mendflow.project.tagged"
	TypeProjectUntagged   = "io.mendflow.project.untagged"
	TypeProjectReassigned = "io.mendflow.project.reassigned"
	TypeProjectDeleted    = "io.mendflow.project.deleted"
	TypeProjectRenamed    = "io.mendflow.project.renamed"
	TypeProductRenamed    = "io.mendflow.product.renamed"
	TypePoliciesApplied   = "io.mendflow.policies.applied"
	TypePoliciesFailed    = "io.mendflow.policies.failed"
	TypeRequestFinished   = "io.mendflow.request.finished"
	TypeRequestFailed     = "io.mendflow.request.failed"
	TypeCommandFailed     = "io.mendflow.command.failed"
	resultTypePrefix      = "io.mendflow."
	resultSubjectPrefix   = "mendflow.evt."
)

// ResultSubject is the subject a result event of the given type is published
// on: io.mendflow.<entity>.<verb> goes to mendflow.evt.<entity>.<verb>.
func ResultSubject(resultType string) string {
	return resultSubjectPrefix + strings.TrimPrefix(resultType, resultTypePrefix)
}

// Stream names fixed by the contract.
const (
	StreamCommands = "MENDFLOW_COMMANDS"
	StreamEvents   = "MENDFLOW_EVENTS"
	StreamDLQ      = "MENDFLOW_DLQ"
)

// The subjects each stream of the contract holds.
const (
	SubjectsCommands = "mendflow.cmd.>"
	SubjectsEvents   = "mendflow.evt.>"
	SubjectsDLQ      = "mendflow.dlq.>"
	SubjectsTracking = "mendflow.track.>"
)
