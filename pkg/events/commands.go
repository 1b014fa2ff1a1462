package events

import (
	"fmt"
	"strings"
)

// CommandData is the data of one command: a struct whose JSON field names are
// those of the Mend API, and which can tell whether it is complete.
type CommandData interface {
	// Validate reports the first missing or invalid field, naming the command
	// and the field.
	Validate() error
}

// Command is one Mend operation to queue: its name (see CommandType and
// CommandSubject) and its validated data.
type Command struct {
	Name string
	Data CommandData
	// JSON is the UTF-8 JSON that Data was decoded from, which decodes to
	// Data again, when the router has it; nil when Data is to be encoded.
	JSON []byte
}

// ValidationError is command data failing its schema: a missing or invalid
// field, an unknown field, a wrong JSON type. Callers find it with errors.As
// and answer the sender with it; it is never worth retrying.
type ValidationError struct {
	// Command is the command name, e.g. project.create.
	Command string
	// Reason names the field and what is wrong with it.
	Reason string
}

// Error implements error: "<command>: <reason>".
func (e *ValidationError) Error() string { return e.Command + ": " + e.Reason }

func fieldError(command, format string, args ...any) error {
	return &ValidationError{Command: command, Reason: fmt.Sprintf(format, args...)}
}

// ProjectRef names a project, either by its token or by its product (token or
// name) and its name. Commands that act on an existing project embed it.
type ProjectRef struct {
	ProjectToken string `json:"projectToken,omitempty"`
	ProductToken string `json:"productToken,omitempty"`
	ProductName  string `json:"productName,omitempty"`
	ProjectName  string `json:"projectName,omitempty"`
}

func (r ProjectRef) validate(command string) error {
	if !blank(r.ProjectToken) {
		return nil
	}
	if blank(r.ProjectName) || (blank(r.ProductName) && blank(r.ProductToken)) {
		return fieldError(command, "projectToken or productName+projectName is required")
	}
	return nil
}

// blank is how every validator tells a required field missing: empty or
// only spaces (see requireFields).
func blank(s string) bool { return strings.TrimSpace(s) == "" }

// ProductCreate is the data of product.create: create the product unless one
// of that name exists.
type ProductCreate struct {
	OrgToken    string `json:"orgToken,omitempty"`
	ProductName string `json:"productName"`
}

// Validate implements CommandData.
func (c *ProductCreate) Validate() error {
	return requireFields(CommandProductCreate, "productName", c.ProductName)
}

// ProjectCreate is the data of project.create: create the project (and its
// product when CreateProduct is set, and its tags) unless it exists.
type ProjectCreate struct {
	OrgToken           string            `json:"orgToken,omitempty"`
	ProductToken       string            `json:"productToken,omitempty"`
	ProductName        string            `json:"productName,omitempty"`
	ProjectName        string            `json:"projectName"`
	ProjectDescription string            `json:"projectDescription,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	CreateProduct      bool              `json:"createProduct,omitempty"`
}

// Validate implements CommandData.
func (c *ProjectCreate) Validate() error {
	if err := (ProductRef{ProductToken: c.ProductToken, ProductName: c.ProductName}).validate(CommandProjectCreate); err != nil {
		return err
	}
	if err := requireFields(CommandProjectCreate, "projectName", c.ProjectName); err != nil {
		return err
	}
	if c.CreateProduct && blank(c.ProductName) {
		return fieldError(CommandProjectCreate, "createProduct needs productName")
	}
	// Each tag is one saveProjectTag, which requires tagKey and tagValue.
	for k, v := range c.Tags {
		if blank(k) {
			return fieldError(CommandProjectCreate, "tags: a tag key is empty")
		}
		if blank(v) {
			return fieldError(CommandProjectCreate, "tags: the value of tag %q is empty", k)
		}
	}
	return nil
}

// ProjectDelete is the data of project.delete.
type ProjectDelete struct {
	OrgToken string `json:"orgToken,omitempty"`
	ProjectRef
}

// Validate implements CommandData.
func (c *ProjectDelete) Validate() error { return c.validate(CommandProjectDelete) }

// ProjectTag is what project.tag.save and project.tag.remove share: the
// project and one tag value.
type ProjectTag struct {
	OrgToken string `json:"orgToken,omitempty"`
	ProjectRef
	TagKey   string `json:"tagKey"`
	TagValue string `json:"tagValue"`
}

func (t *ProjectTag) validate(command string) error {
	if err := t.ProjectRef.validate(command); err != nil {
		return err
	}
	return requireFields(command, "tagKey", t.TagKey, "tagValue", t.TagValue)
}

// ProjectTagSave is the data of project.tag.save: add a value to a tag key.
type ProjectTagSave struct{ ProjectTag }

// Validate implements CommandData.
func (c *ProjectTagSave) Validate() error { return c.validate(CommandProjectTagSave) }

// ProjectTagRemove is the data of project.tag.remove: remove that value only.
type ProjectTagRemove struct{ ProjectTag }

// Validate implements CommandData.
func (c *ProjectTagRemove) Validate() error { return c.validate(CommandProjectTagRemove) }

// ProjectReassign is the data of project.reassign: move the project to
// another product (changeProjectAssignment).
type ProjectReassign struct {
	OrgToken string `json:"orgToken,omitempty"`
	ProjectRef
	NewProductToken string `json:"newProductToken,omitempty"`
	NewProductName  string `json:"newProductName,omitempty"`
}

// Validate implements CommandData.
func (c *ProjectReassign) Validate() error {
	if err := c.validate(CommandProjectReassign); err != nil {
		return err
	}
	if blank(c.NewProductToken) && blank(c.NewProductName) {
		return fieldError(CommandProjectReassign, "newProductToken or newProductName is required")
	}
	return nil
}

// Policy application scopes of policies.apply.
const (
	ScopeOrganization = "organization"
	ScopeProduct      = "product"
	ScopeProject      = "project"
)

// PoliciesApply is the data of policies.apply: apply the policies of an
// organization, product or project (an asynchronous Mend process). Token is
// the token of that scope; for the organization scope it may be left out and
// defaults to orgToken, then to MEND_ORG_TOKEN. A product or project may be
// named instead, as in PolicyScope.
type PoliciesApply struct {
	OrgToken    string `json:"orgToken,omitempty"`
	Scope       string `json:"scope"`
	Token       string `json:"token,omitempty"`
	ProductName string `json:"productName,omitempty"`
	ProjectName string `json:"projectName,omitempty"`
}

// Validate implements CommandData.
func (c *PoliciesApply) Validate() error {
	return validateScope(CommandPoliciesApply, c.Scope, c.Token, c.ProductName, c.ProjectName,
		ScopeOrganization, ScopeProduct, ScopeProject)
}

// RequestTrack is the data of request.track: follow a plugin request
// (getRequestState) until it reaches a final state.
type RequestTrack struct {
	OrgToken     string `json:"orgToken,omitempty"`
	RequestToken string `json:"requestToken"`
}

// Validate implements CommandData.
func (c *RequestTrack) Validate() error {
	return requireFields(CommandRequestTrack, "requestToken", c.RequestToken)
}
