package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
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
// Repository, when set, names the repository the project was made for:
// the worker then finds the project the repository is mapped to first,
// whatever it is called now, and takes the names as the fallback.
type ProjectRef struct {
	ProjectToken string      `json:"projectToken,omitempty"`
	ProductToken string      `json:"productToken,omitempty"`
	ProductName  string      `json:"productName,omitempty"`
	ProjectName  string      `json:"projectName,omitempty"`
	Repository   *Repository `json:"repository,omitempty"`
}

func (r ProjectRef) validate(command string) error {
	if err := checkText(command, "productName", r.ProductName, "projectName", r.ProjectName); err != nil {
		return err
	}
	if err := r.Repository.validate(command); err != nil {
		return err
	}
	if !blank(r.ProjectToken) {
		return nil
	}
	if blank(r.ProjectName) || (blank(r.ProductName) && blank(r.ProductToken)) {
		return fieldError(command, "projectToken or productName+projectName is required")
	}
	return nil
}

// Repository names a repository by the stable id its SCM gives it, which a
// rename or a transfer does not change: Source says whose id it is (the
// scheme and host of a GitHub or GitLab instance, the source of a
// CDEvent's subject), ID the id there (GitHub repository.id, GitLab
// project_id or project.id, a CDEvent's subject.id). The worker maps each
// repository to the Mend project it became.
type Repository struct {
	Source string `json:"source"`
	ID     TextID `json:"id"`
}

func (r *Repository) validate(command string) error {
	if r == nil {
		return nil
	}
	if err := requireFields(command, "repository.source", r.Source, "repository.id", string(r.ID)); err != nil {
		return err
	}
	return checkText(command, "repository.source", r.Source, "repository.id", string(r.ID))
}

// TextID is an identifier that JSON may write as a string or as a number
// (GitHub's and GitLab's ids are numbers, a CDEvent's are strings): a
// number is taken as the text it is written with, so that 812345678 and
// "812345678" are the same id. It is written back as a string.
type TextID string

// UnmarshalJSON implements json.Unmarshaler.
func (id *TextID) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = TextID(s)
		return nil
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return fmt.Errorf("an id is a JSON string or number, not %s", b)
	}
	*id = TextID(n.String())
	return nil
}

// blank is how every validator tells a required field missing: empty or
// only spaces (see requireFields).
func blank(s string) bool { return strings.TrimSpace(s) == "" }

// checkText takes name, value pairs and reports the first value holding a
// control character (U+0000 to U+001F, U+007F to U+009F). No Mend name can
// hold one, and JSON lets a sender escape it ("\u0001") past any check of
// the raw bytes: product and project names, tag keys and values are
// refused with one, rather than reach Mend.
func checkText(command string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if at := strings.IndexFunc(pairs[i+1], unicode.IsControl); at >= 0 {
			r := []rune(pairs[i+1][at:])[0]
			return fieldError(command, "%s holds a control character (U+%04X at byte %d)", pairs[i], r, at)
		}
	}
	return nil
}

// ProductCreate is the data of product.create: create the product unless one
// of that name exists.
type ProductCreate struct {
	OrgToken    string `json:"orgToken,omitempty"`
	ProductName string `json:"productName"`
}

// Validate implements CommandData.
func (c *ProductCreate) Validate() error {
	if err := requireFields(CommandProductCreate, "productName", c.ProductName); err != nil {
		return err
	}
	return checkText(CommandProductCreate, "productName", c.ProductName)
}

// ProjectCreate is the data of project.create: create the project (and its
// product when CreateProduct is set, and its tags) unless it exists.
// Repository, when set, names the repository the project is made for: a
// project the repository is already mapped to is that project, whatever it
// is called now, and the project made or found is mapped to it.
type ProjectCreate struct {
	OrgToken           string            `json:"orgToken,omitempty"`
	ProductToken       string            `json:"productToken,omitempty"`
	ProductName        string            `json:"productName,omitempty"`
	ProjectName        string            `json:"projectName"`
	ProjectDescription string            `json:"projectDescription,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	CreateProduct      bool              `json:"createProduct,omitempty"`
	Repository         *Repository       `json:"repository,omitempty"`
}

// Validate implements CommandData.
func (c *ProjectCreate) Validate() error {
	if err := (ProductRef{ProductToken: c.ProductToken, ProductName: c.ProductName}).validate(CommandProjectCreate); err != nil {
		return err
	}
	if err := requireFields(CommandProjectCreate, "projectName", c.ProjectName); err != nil {
		return err
	}
	if err := checkText(CommandProjectCreate, "projectName", c.ProjectName); err != nil {
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
		if err := checkText(CommandProjectCreate, "tags: a tag key", k, fmt.Sprintf("tags: the value of tag %q", k), v); err != nil {
			return err
		}
	}
	return c.Repository.validate(CommandProjectCreate)
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
	if err := requireFields(command, "tagKey", t.TagKey, "tagValue", t.TagValue); err != nil {
		return err
	}
	return checkText(command, "tagKey", t.TagKey, "tagValue", t.TagValue)
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
// another product (changeProjectAssignment), creating that product first
// when CreateProduct is set and it is missing, and then, when
// NewProjectName is set, give it that name (as project.rename does): a
// GitLab transfer may change a project's path with its namespace.
type ProjectReassign struct {
	OrgToken string `json:"orgToken,omitempty"`
	ProjectRef
	NewProductToken string `json:"newProductToken,omitempty"`
	NewProductName  string `json:"newProductName,omitempty"`
	CreateProduct   bool   `json:"createProduct,omitempty"`
	NewProjectName  string `json:"newProjectName,omitempty"`
}

// Validate implements CommandData.
func (c *ProjectReassign) Validate() error {
	if err := c.validate(CommandProjectReassign); err != nil {
		return err
	}
	if blank(c.NewProductToken) && blank(c.NewProductName) {
		return fieldError(CommandProjectReassign, "newProductToken or newProductName is required")
	}
	if c.CreateProduct && blank(c.NewProductName) {
		return fieldError(CommandProjectReassign, "createProduct needs newProductName")
	}
	return checkText(CommandProjectReassign, "newProductName", c.NewProductName, "newProjectName", c.NewProjectName)
}

// ProjectRename is the data of project.rename: give the project a new name
// (v2.0 Rename Project), unless it has it already.
type ProjectRename struct {
	OrgToken string `json:"orgToken,omitempty"`
	ProjectRef
	NewProjectName string `json:"newProjectName"`
}

// Validate implements CommandData.
func (c *ProjectRename) Validate() error {
	if err := c.validate(CommandProjectRename); err != nil {
		return err
	}
	if err := requireFields(CommandProjectRename, "newProjectName", c.NewProjectName); err != nil {
		return err
	}
	return checkText(CommandProjectRename, "newProjectName", c.NewProjectName)
}

// ProductRename is the data of product.rename: give the product a new name
// (v2.0 Rename Product), unless it has it already.
type ProductRename struct {
	OrgToken string `json:"orgToken,omitempty"`
	ProductRef
	NewProductName string `json:"newProductName"`
}

// Validate implements CommandData.
func (c *ProductRename) Validate() error {
	if err := c.validate(CommandProductRename); err != nil {
		return err
	}
	if err := requireFields(CommandProductRename, "newProductName", c.NewProductName); err != nil {
		return err
	}
	return checkText(CommandProductRename, "newProductName", c.NewProductName)
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
