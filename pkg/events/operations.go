package events

import (
	"net/mail"
	"regexp"
	"slices"
	"strings"
)

// Commands beyond the contract's ten: one for every other mutating
// operation of the Mend pages. Their names follow the contract's style,
// <entity>[.<part>].<verb>, and their data fields are Mend's.
const (
	CommandProductDelete        = "product.delete"
	CommandProductTagSave       = "product.tag.save"
	CommandProductTagRemove     = "product.tag.remove"
	CommandPolicyAdd            = "policy.add"
	CommandPolicyUpdate         = "policy.update"
	CommandPolicyRemove         = "policy.remove"
	CommandPolicyReorder        = "policy.reorder"
	CommandPolicyOwnerChange    = "policy.owner.change"
	CommandSetupNotificationSet = "setup.notification.set"
	CommandInHouseUnmark        = "inhouse.unmark"
	CommandPendingTaskClose     = "pending.task.close"
	CommandGlobalOrgCreate      = "globalorg.create"
	CommandGlobalOrgAssign      = "globalorg.assign"
	CommandGlobalOrgRemove      = "globalorg.remove"
	CommandGroupCreate          = "group.create"
	CommandGroupUpdate          = "group.update"
	CommandGroupDelete          = "group.delete"
	CommandGroupUsersAdd        = "group.users.add"
	CommandGroupUsersRemove     = "group.users.remove"
	CommandGroupRolesAdd        = "group.roles.add"
	CommandGroupRolesRemove     = "group.roles.remove"
)

// Result event types of the commands above; each is published on
// ResultSubject(type) like the contract's.
const (
	TypeProductDeleted              = "io.mendflow.product.deleted"
	TypeProductTagged               = "io.mendflow.product.tagged"
	TypeProductUntagged             = "io.mendflow.product.untagged"
	TypePolicyAdded                 = "io.mendflow.policy.added"
	TypePolicyUpdated               = "io.mendflow.policy.updated"
	TypePolicyRemoved               = "io.mendflow.policy.removed"
	TypePolicyReordered             = "io.mendflow.policy.reordered"
	TypePolicyOwnerChanged          = "io.mendflow.policy.owner.changed"
	TypeSetupNotificationConfigured = "io.mendflow.setup.notification.configured"
	TypeInHouseUnmarked             = "io.mendflow.inhouse.unmarked"
	TypePendingTaskClosed           = "io.mendflow.pending.task.closed"
	TypeGlobalOrgCreated            = "io.mendflow.globalorg.created"
	TypeGlobalOrgAssigned           = "io.mendflow.globalorg.assigned"
	TypeGlobalOrgRemoved            = "io.mendflow.globalorg.removed"
	TypeGroupCreated                = "io.mendflow.group.created"
	TypeGroupUpdated                = "io.mendflow.group.updated"
	TypeGroupDeleted                = "io.mendflow.group.deleted"
	TypeGroupUsersAdded             = "io.mendflow.group.users.added"
	TypeGroupUsersRemoved           = "io.mendflow.group.users.removed"
	TypeGroupRolesAdded             = "io.mendflow.group.roles.added"
	TypeGroupRolesRemoved           = "io.mendflow.group.roles.removed"
)

// ScopeGlobalOrganization is the fourth policy scope, beyond those of
// policies.apply: a global organization, named by its globalOrgToken.
const ScopeGlobalOrganization = "globalOrganization"

// operationCommands are the commands of this file, registered by
// NewRegistry next to the contract's.
func operationCommands() map[string]func() CommandData {
	return map[string]func() CommandData{
		CommandProductDelete:        func() CommandData { return new(ProductDelete) },
		CommandProductTagSave:       func() CommandData { return new(ProductTagSave) },
		CommandProductTagRemove:     func() CommandData { return new(ProductTagRemove) },
		CommandPolicyAdd:            func() CommandData { return new(PolicyAdd) },
		CommandPolicyUpdate:         func() CommandData { return new(PolicyUpdate) },
		CommandPolicyRemove:         func() CommandData { return new(PolicyRemove) },
		CommandPolicyReorder:        func() CommandData { return new(PolicyReorder) },
		CommandPolicyOwnerChange:    func() CommandData { return new(PolicyOwnerChange) },
		CommandSetupNotificationSet: func() CommandData { return new(SetupNotificationSet) },
		CommandInHouseUnmark:        func() CommandData { return new(InHouseUnmark) },
		CommandPendingTaskClose:     func() CommandData { return new(PendingTaskClose) },
		CommandGlobalOrgCreate:      func() CommandData { return new(GlobalOrgCreate) },
		CommandGlobalOrgAssign:      func() CommandData { return new(GlobalOrgAssign) },
		CommandGlobalOrgRemove:      func() CommandData { return new(GlobalOrgRemove) },
		CommandGroupCreate:          func() CommandData { return new(GroupCreate) },
		CommandGroupUpdate:          func() CommandData { return new(GroupUpdate) },
		CommandGroupDelete:          func() CommandData { return new(GroupDelete) },
		CommandGroupUsersAdd:        func() CommandData { return new(GroupUsersAdd) },
		CommandGroupUsersRemove:     func() CommandData { return new(GroupUsersRemove) },
		CommandGroupRolesAdd:        func() CommandData { return new(GroupRolesAdd) },
		CommandGroupRolesRemove:     func() CommandData { return new(GroupRolesRemove) },
	}
}

// ProductRef names a product by its token or its name.
type ProductRef struct {
	ProductToken string `json:"productToken,omitempty"`
	ProductName  string `json:"productName,omitempty"`
}

func (r ProductRef) validate(command string) error {
	if blank(r.ProductToken) && blank(r.ProductName) {
		return fieldError(command, "productToken or productName is required")
	}
	return checkText(command, "productName", r.ProductName)
}

// ProductDelete is the data of product.delete: delete the product with its
// projects (deleteProduct).
type ProductDelete struct {
	OrgToken string `json:"orgToken,omitempty"`
	ProductRef
}

// Validate implements CommandData.
func (c *ProductDelete) Validate() error { return c.validate(CommandProductDelete) }

// ProductTag is what product.tag.save and product.tag.remove share: the
// product and one tag value.
type ProductTag struct {
	OrgToken string `json:"orgToken,omitempty"`
	ProductRef
	TagKey   string `json:"tagKey"`
	TagValue string `json:"tagValue"`
}

func (t *ProductTag) validate(command string) error {
	if err := t.ProductRef.validate(command); err != nil {
		return err
	}
	if err := requireFields(command, "tagKey", t.TagKey, "tagValue", t.TagValue); err != nil {
		return err
	}
	return checkText(command, "tagKey", t.TagKey, "tagValue", t.TagValue)
}

// ProductTagSave is the data of product.tag.save (saveProductTag).
type ProductTagSave struct{ ProductTag }

// Validate implements CommandData.
func (c *ProductTagSave) Validate() error { return c.validate(CommandProductTagSave) }

// ProductTagRemove is the data of product.tag.remove (removeProductTag).
type ProductTagRemove struct{ ProductTag }

// Validate implements CommandData.
func (c *ProductTagRemove) Validate() error { return c.validate(CommandProductTagRemove) }

// PolicyScope names where policy.* commands act: a scope (globalOrganization,
// organization, product or project) and the token of that scope. For the
// organization scope the token may be left out and defaults to orgToken,
// then to MEND_ORG_TOKEN. A product or project scope may be named instead
// of by its token: a product by ProductName, a project by ProductName and
// ProjectName; a scope named so waits for its product or project as the
// project commands do, so that policies can be queued with the project they
// govern.
type PolicyScope struct {
	OrgToken    string `json:"orgToken,omitempty"`
	Scope       string `json:"scope"`
	Token       string `json:"token,omitempty"`
	ProductName string `json:"productName,omitempty"`
	ProjectName string `json:"projectName,omitempty"`
}

func (s PolicyScope) validate(command string) error {
	if s.Scope == ScopeGlobalOrganization && blank(s.Token) {
		return fieldError(command, "token is required for scope %s", s.Scope)
	}
	return validateScope(command, s.Scope, s.Token, s.ProductName, s.ProjectName,
		ScopeGlobalOrganization, ScopeOrganization, ScopeProduct, ScopeProject)
}

// validateScope checks a scope of policies.apply or of the policy.*
// commands: one of the scopes allowed, with its token or names.
func validateScope(command, scope, token, productName, projectName string, allowed ...string) error {
	switch {
	case scope == "":
		return fieldError(command, "scope is required (%s)", strings.Join(allowed, "|"))
	case !slices.Contains(allowed, scope):
		return fieldError(command, "scope must be %s, not %q", strings.Join(allowed, "|"), scope)
	}
	named := !blank(productName) || !blank(projectName)
	switch {
	case named && !blank(token):
		return fieldError(command, "token and productName/projectName name the scope twice: give one")
	case scope == ScopeProduct && blank(token) && (blank(productName) || !blank(projectName)):
		return fieldError(command, "token or productName is required for scope product")
	case scope == ScopeProject && blank(token) && (blank(productName) || blank(projectName)):
		return fieldError(command, "token or productName+projectName is required for scope project")
	case named && scope != ScopeProduct && scope != ScopeProject:
		return fieldError(command, "productName and projectName name a product or project scope only")
	}
	return nil
}

// validatePolicy checks what both add and update need of a policy: a name
// and an owner by id or e-mail, and filter and action with their types
// when given.
func validatePolicy(command string, p *Policy) error {
	switch {
	case p.Name == "":
		return fieldError(command, "policy.name is required")
	case p.Owner == nil || (p.Owner.ID == 0 && p.Owner.Email == ""):
		return fieldError(command, "policy.owner needs id or email")
	case p.Filter != nil && p.Filter.Type == "":
		return fieldError(command, "policy.filter.type is required")
	case p.Action != nil && p.Action.Type == "":
		return fieldError(command, "policy.action.type is required")
	}
	return nil
}

// PolicyAdd is the data of policy.add: add a policy at a scope
// (add<Scope>Policy). The policy's name identifies it: a policy of that
// name already at the scope is taken as this one, added before.
type PolicyAdd struct {
	PolicyScope
	Policy Policy `json:"policy"`
}

// Validate implements CommandData.
func (c *PolicyAdd) Validate() error {
	if err := c.PolicyScope.validate(CommandPolicyAdd); err != nil {
		return err
	}
	if c.Policy.ID != 0 {
		return fieldError(CommandPolicyAdd, "policy.id must not be set: Mend assigns it")
	}
	if c.Policy.Filter == nil || c.Policy.Action == nil {
		return fieldError(CommandPolicyAdd, "policy.filter and policy.action are required")
	}
	return validatePolicy(CommandPolicyAdd, &c.Policy)
}

// PolicyUpdate is the data of policy.update: update the policy of that id at
// a scope (update<Scope>Policy). Mend gives the updated policy a new id.
type PolicyUpdate struct {
	PolicyScope
	Policy Policy `json:"policy"`
}

// Validate implements CommandData.
func (c *PolicyUpdate) Validate() error {
	if err := c.PolicyScope.validate(CommandPolicyUpdate); err != nil {
		return err
	}
	if c.Policy.ID <= 0 {
		return fieldError(CommandPolicyUpdate, "policy.id is required")
	}
	return validatePolicy(CommandPolicyUpdate, &c.Policy)
}

// PolicyRemove is the data of policy.remove: remove policies by id at a
// scope (remove<Scope>Policies).
type PolicyRemove struct {
	PolicyScope
	PolicyIDs []int `json:"policyIds"`
}

// Validate implements CommandData.
func (c *PolicyRemove) Validate() error {
	if err := c.PolicyScope.validate(CommandPolicyRemove); err != nil {
		return err
	}
	if len(c.PolicyIDs) == 0 {
		return fieldError(CommandPolicyRemove, "policyIds is required")
	}
	for _, id := range c.PolicyIDs {
		if id <= 0 {
			return fieldError(CommandPolicyRemove, "policyIds: %d is not a policy id", id)
		}
	}
	return nil
}

// PolicyReorder is the data of policy.reorder: set the priorities of
// policies at a scope (reorder<Scope>PolicyPriorities), by id, or by name
// with PolicyNames: those policies, highest priority first, above the
// scope's others. Names let a reorder be queued with the additions it
// orders, whose ids Mend has not given yet: a name not at the scope yet is
// a target not there yet.
type PolicyReorder struct {
	PolicyScope
	PolicyPriorities []PolicyPriority `json:"policyPriorities,omitempty"`
	PolicyNames      []string         `json:"policyNames,omitempty"`
}

// Validate implements CommandData.
func (c *PolicyReorder) Validate() error {
	if err := c.PolicyScope.validate(CommandPolicyReorder); err != nil {
		return err
	}
	switch {
	case len(c.PolicyPriorities) == 0 && len(c.PolicyNames) == 0:
		return fieldError(CommandPolicyReorder, "policyPriorities or policyNames is required")
	case len(c.PolicyPriorities) > 0 && len(c.PolicyNames) > 0:
		return fieldError(CommandPolicyReorder, "policyPriorities and policyNames both order the policies: give one")
	}
	names := map[string]bool{}
	for _, n := range c.PolicyNames {
		if blank(n) {
			return fieldError(CommandPolicyReorder, "policyNames: a name is empty")
		}
		if names[n] {
			return fieldError(CommandPolicyReorder, "policyNames: %q appears twice", n)
		}
		names[n] = true
	}
	seen := map[int]bool{}
	for _, p := range c.PolicyPriorities {
		if p.PolicyID <= 0 || p.Priority <= 0 {
			return fieldError(CommandPolicyReorder, "policyPriorities: policyId and priority must be positive")
		}
		if seen[p.PolicyID] {
			return fieldError(CommandPolicyReorder, "policyPriorities: policy %d appears twice", p.PolicyID)
		}
		seen[p.PolicyID] = true
	}
	return nil
}

// PolicyOwnerChange is the data of policy.owner.change: every policy of the
// organization owned by one user passes to another
// (changeOrganizationPolicyOwner).
type PolicyOwnerChange struct {
	OrgToken                string `json:"orgToken,omitempty"`
	CurrentPolicyOwnerEmail string `json:"currentPolicyOwnerEmail"`
	NewPolicyOwnerEmail     string `json:"newPolicyOwnerEmail"`
}

// Validate implements CommandData.
func (c *PolicyOwnerChange) Validate() error {
	return requireEmails(CommandPolicyOwnerChange,
		"currentPolicyOwnerEmail", c.CurrentPolicyOwnerEmail, "newPolicyOwnerEmail", c.NewPolicyOwnerEmail)
}

// SetupNotificationSet is the data of setup.notification.set: who is told
// that a project's setup completed (setProjectSetupNotificationConfig).
type SetupNotificationSet struct {
	OrgToken             string `json:"orgToken,omitempty"`
	Action               string `json:"action"`
	ProjectTagKeyRegex   string `json:"projectTagKeyRegex,omitempty"`
	ProjectTagValueRegex string `json:"projectTagValueRegex,omitempty"`
}

// Validate implements CommandData.
func (c *SetupNotificationSet) Validate() error {
	const name = CommandSetupNotificationSet
	switch c.Action {
	case SetupNotificationEnabled, SetupNotificationDisabled:
		if c.ProjectTagKeyRegex != "" || c.ProjectTagValueRegex != "" {
			return fieldError(name, "projectTagKeyRegex and projectTagValueRegex go with action CUSTOM only")
		}
		return nil
	case SetupNotificationCustom:
		if err := requireFields(name, "projectTagKeyRegex", c.ProjectTagKeyRegex, "projectTagValueRegex", c.ProjectTagValueRegex); err != nil {
			return err
		}
		for field, re := range map[string]string{"projectTagKeyRegex": c.ProjectTagKeyRegex, "projectTagValueRegex": c.ProjectTagValueRegex} {
			if _, err := regexp.Compile(re); err != nil {
				return fieldError(name, "%s is not a valid regular expression: %v", field, err)
			}
		}
		return nil
	case "":
		return fieldError(name, "action is required (ENABLED|DISABLED|CUSTOM)")
	default:
		return fieldError(name, "action must be ENABLED|DISABLED|CUSTOM, not %q", c.Action)
	}
}

// InHouseUnmark is the data of inhouse.unmark: a library manually marked
// In-House is no longer (unmarkManualInHouseLibrary).
type InHouseUnmark struct {
	OrgToken string `json:"orgToken,omitempty"`
	KeyUUID  string `json:"keyUuid"`
}

// Validate implements CommandData.
func (c *InHouseUnmark) Validate() error {
	return requireFields(CommandInHouseUnmark, "keyUuid", c.KeyUUID)
}

// PendingTaskClose is the data of pending.task.close (closePendingTask).
type PendingTaskClose struct {
	OrgToken string `json:"orgToken,omitempty"`
	TaskUUID string `json:"taskUUID"`
}

// Validate implements CommandData.
func (c *PendingTaskClose) Validate() error {
	return requireFields(CommandPendingTaskClose, "taskUUID", c.TaskUUID)
}

// GlobalOrgCreate is the data of globalorg.create (createGlobalOrg).
type GlobalOrgCreate struct {
	Name              string `json:"name"`
	AccountAdminEmail string `json:"accountAdminEmail"`
}

// Validate implements CommandData.
func (c *GlobalOrgCreate) Validate() error {
	if err := requireFields(CommandGlobalOrgCreate, "name", c.Name); err != nil {
		return err
	}
	return requireEmails(CommandGlobalOrgCreate, "accountAdminEmail", c.AccountAdminEmail)
}

// GlobalOrgLink is what globalorg.assign and globalorg.remove share: an
// organization (orgToken, MEND_ORG_TOKEN by default) and a global one.
type GlobalOrgLink struct {
	OrgToken       string `json:"orgToken,omitempty"`
	GlobalOrgToken string `json:"globalOrgToken"`
}

// GlobalOrgAssign is the data of globalorg.assign (assignGlobalOrgToOrg).
type GlobalOrgAssign struct{ GlobalOrgLink }

// Validate implements CommandData.
func (c *GlobalOrgAssign) Validate() error {
	return requireFields(CommandGlobalOrgAssign, "globalOrgToken", c.GlobalOrgToken)
}

// GlobalOrgRemove is the data of globalorg.remove (removeGlobalOrgFromOrg).
type GlobalOrgRemove struct{ GlobalOrgLink }

// Validate implements CommandData.
func (c *GlobalOrgRemove) Validate() error {
	return requireFields(CommandGlobalOrgRemove, "globalOrgToken", c.GlobalOrgToken)
}

// GroupRef names an existing group by its uuid or its name.
type GroupRef struct {
	OrgToken  string `json:"orgToken,omitempty"`
	GroupUUID string `json:"groupUuid,omitempty"`
	GroupName string `json:"groupName,omitempty"`
}

func (r GroupRef) validate(command string) error {
	if blank(r.GroupUUID) && blank(r.GroupName) {
		return fieldError(command, "groupUuid or groupName is required")
	}
	return nil
}

// GroupCreate is the data of group.create (POST /orgs/{orgToken}/groups).
// A group of that name already there is taken as this one.
type GroupCreate struct {
	OrgToken    string `json:"orgToken,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Validate implements CommandData.
func (c *GroupCreate) Validate() error { return requireFields(CommandGroupCreate, "name", c.Name) }

// GroupUpdate is the data of group.update: the group's new name and
// description (PUT /orgs/{orgToken}/groups/{groupUuid}).
type GroupUpdate struct {
	GroupRef
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Validate implements CommandData.
func (c *GroupUpdate) Validate() error {
	if err := c.GroupRef.validate(CommandGroupUpdate); err != nil {
		return err
	}
	return requireFields(CommandGroupUpdate, "name", c.Name)
}

// GroupDelete is the data of group.delete.
type GroupDelete struct{ GroupRef }

// Validate implements CommandData.
func (c *GroupDelete) Validate() error { return c.GroupRef.validate(CommandGroupDelete) }

// GroupUsers is what group.users.add and group.users.remove share: the
// group and the users by e-mail.
type GroupUsers struct {
	GroupRef
	UserEmails []string `json:"userEmails"`
}

func (c *GroupUsers) validate(command string) error {
	if err := c.GroupRef.validate(command); err != nil {
		return err
	}
	if len(c.UserEmails) == 0 {
		return fieldError(command, "userEmails is required")
	}
	for _, e := range c.UserEmails {
		if err := requireEmails(command, "userEmails", e); err != nil {
			return err
		}
	}
	return nil
}

// GroupUsersAdd is the data of group.users.add.
type GroupUsersAdd struct{ GroupUsers }

// Validate implements CommandData.
func (c *GroupUsersAdd) Validate() error { return c.validate(CommandGroupUsersAdd) }

// GroupUsersRemove is the data of group.users.remove.
type GroupUsersRemove struct{ GroupUsers }

// Validate implements CommandData.
func (c *GroupUsersRemove) Validate() error { return c.validate(CommandGroupUsersRemove) }

// GroupRole is what group.roles.add and group.roles.remove share: the group
// and one role on an organization, product or project.
type GroupRole struct {
	GroupRef
	ContextToken string `json:"contextToken"`
	ContextType  string `json:"contextType"`
	Role         string `json:"role"`
}

func (c *GroupRole) validate(command string) error {
	if err := c.GroupRef.validate(command); err != nil {
		return err
	}
	if err := requireFields(command, "contextToken", c.ContextToken, "role", c.Role); err != nil {
		return err
	}
	switch c.ContextType {
	case ContextOrgs, ContextProducts:
		return nil
	default:
		return fieldError(command, "contextType must be orgs|products, not %q", c.ContextType)
	}
}

// GroupRolesAdd is the data of group.roles.add.
type GroupRolesAdd struct{ GroupRole }

// Validate implements CommandData.
func (c *GroupRolesAdd) Validate() error { return c.validate(CommandGroupRolesAdd) }

// GroupRolesRemove is the data of group.roles.remove.
type GroupRolesRemove struct{ GroupRole }

// Validate implements CommandData.
func (c *GroupRolesRemove) Validate() error { return c.validate(CommandGroupRolesRemove) }

// requireFields takes name, value pairs and reports the first empty one.
func requireFields(command string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			return fieldError(command, "%s is required", pairs[i])
		}
	}
	return nil
}

// requireEmails takes name, value pairs and reports the first value that is
// not a bare e-mail address.
func requireEmails(command string, pairs ...string) error {
	if err := requireFields(command, pairs...); err != nil {
		return err
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		a, err := mail.ParseAddress(pairs[i+1])
		if err != nil || a.Address != pairs[i+1] {
			return fieldError(command, "%s: %q is not an e-mail address", pairs[i], pairs[i+1])
		}
	}
	return nil
}
