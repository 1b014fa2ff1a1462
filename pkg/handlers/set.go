package handlers

import (
	"context"
	"iter"
	"reflect"
	"time"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// Config is what the handlers need besides a Mend client.
type Config struct {
	// DefaultOrg is the organization of commands that name none
	// (MEND_ORG_TOKEN).
	DefaultOrg string
	// CacheTTL is how long a list of names and tokens is trusted.
	CacheTTL time.Duration
	// Claims guard the commands whose effect cannot be looked up.
	Claims Claims
	// Repositories map repositories to the projects they became; nil
	// leaves projects to be found by their tokens and names alone.
	Repositories Repositories
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Set is the handlers of all commands. They share a Mend client and a
// cache of names and tokens.
type Set struct {
	cfg        Config
	products   productService
	projects   projectService
	policies   policyService
	orgs       orgService
	globalOrgs globalOrgService
	groups     groupService

	productNames *nameCache // organization token → product name → token
	projectNames *nameCache // product token → project name → token
	groupNames   *nameCache // organization token → groupKey(name) → uuid
	homes        *homeCache // project token → product token

	// creatingProducts lets one command at a time create a product of a
	// given name: the commands of a new product's first projects arrive
	// together, and all but the first would otherwise each call
	// createProduct, be refused (2001) and list the products again.
	creatingProducts keyLock
}

// The parts of the Mend client the handlers use, each as narrow as the
// handlers need.
type (
	productService interface {
		List(ctx context.Context, req *mend.GetAllProductsRequest) (*mend.GetAllProductsResponse, *mend.Response, error)
		Create(ctx context.Context, req *mend.CreateProductRequest) (*mend.CreateProductResponse, *mend.Response, error)
		Delete(ctx context.Context, req *mend.DeleteProductRequest) (*mend.MessageResponse, *mend.Response, error)
		GetTags(ctx context.Context, req *mend.GetProductTagsRequest) (*mend.ProductTagsResponse, *mend.Response, error)
		SaveTag(ctx context.Context, req *mend.ProductTagRequest) (*mend.SaveProductTagResponse, *mend.Response, error)
		RemoveTag(ctx context.Context, req *mend.ProductTagRequest) (*mend.MessageResponse, *mend.Response, error)
		Get(ctx context.Context, org, productToken string) (*mend.ProductEntity, *mend.Response, error)
		Rename(ctx context.Context, org, productToken, name string) (*mend.ProductEntity, *mend.Response, error)
	}
	projectService interface {
		List(ctx context.Context, req *mend.GetAllProjectsRequest) (*mend.GetAllProjectsResponse, *mend.Response, error)
		Get(ctx context.Context, org, projectToken string) (*mend.ProjectEntity, *mend.Response, error)
		GetVitals(ctx context.Context, req *mend.GetProjectVitalsRequest) (*mend.ProjectVitalsResponse, *mend.Response, error)
		GetProductTags(ctx context.Context, req *mend.GetProductProjectTagsRequest) (*mend.ProjectTagsResponse, *mend.Response, error)
		Create(ctx context.Context, req *mend.CreateProjectRequest) (*mend.CreateProjectResponse, *mend.Response, error)
		Delete(ctx context.Context, req *mend.DeleteProjectRequest) (*mend.MessageResponse, *mend.Response, error)
		GetTags(ctx context.Context, req *mend.GetProjectTagsRequest) (*mend.ProjectTagsResponse, *mend.Response, error)
		SaveTag(ctx context.Context, req *mend.ProjectTagRequest) (*mend.SaveProjectTagResponse, *mend.Response, error)
		RemoveTag(ctx context.Context, req *mend.ProjectTagRequest) (*mend.MessageResponse, *mend.Response, error)
		ChangeAssignment(ctx context.Context, req *mend.ChangeProjectAssignmentRequest) (*mend.MessageResponse, *mend.Response, error)
		Rename(ctx context.Context, org, projectToken, name string) (*mend.ProjectEntity, *mend.Response, error)
	}
	policyService interface {
		List(ctx context.Context, scope mend.Scope, opts *mend.ListPoliciesOptions) (*mend.PoliciesResponse, *mend.Response, error)
		Add(ctx context.Context, scope mend.Scope, policy *mend.PolicySpec) (*mend.AddPolicyResponse, *mend.Response, error)
		Update(ctx context.Context, scope mend.Scope, policy *mend.PolicySpec) (*mend.UpdatePolicyResponse, *mend.Response, error)
		Remove(ctx context.Context, scope mend.Scope, ids []int) (*mend.RemovePoliciesResponse, *mend.Response, error)
		Reorder(ctx context.Context, scope mend.Scope, priorities []mend.PolicyPriority) (*mend.PoliciesResponse, *mend.Response, error)
		ChangeOwner(ctx context.Context, req *mend.ChangePolicyOwnerRequest) (*mend.MessageResponse, *mend.Response, error)
		ApplyOrganization(ctx context.Context, org string) (*mend.AsyncProcess, *mend.Response, error)
		ApplyProduct(ctx context.Context, org, productToken string) (*mend.AsyncProcess, *mend.Response, error)
		ApplyProject(ctx context.Context, org, projectToken string) (*mend.AsyncProcess, *mend.Response, error)
	}
	orgService interface {
		UnmarkManualInHouseLibrary(ctx context.Context, req *mend.UnmarkManualInHouseLibraryRequest) (*mend.MessageResponse, *mend.Response, error)
		ClosePendingTask(ctx context.Context, req *mend.ClosePendingTaskRequest) (*mend.ClosePendingTaskResponse, *mend.Response, error)
		SetProjectSetupNotificationConfig(ctx context.Context, req *mend.SetProjectSetupNotificationConfigRequest) (*mend.MessageResponse, *mend.Response, error)
	}
	globalOrgService interface {
		Create(ctx context.Context, req *mend.CreateGlobalOrgRequest) (*mend.CreateGlobalOrgResponse, *mend.Response, error)
		AssignToOrg(ctx context.Context, req *mend.GlobalOrgAssignmentRequest) (*mend.MessageResponse, *mend.Response, error)
		RemoveFromOrg(ctx context.Context, req *mend.GlobalOrgAssignmentRequest) (*mend.MessageResponse, *mend.Response, error)
		ListOrganizations(ctx context.Context, req *mend.GetAllOrganizationsRequest) (*mend.GetAllOrganizationsResponse, *mend.Response, error)
	}
	groupService interface {
		All(ctx context.Context, org string, opts *mend.ListOptions) iter.Seq2[mend.GroupSummary, error]
		Get(ctx context.Context, org, groupUUID string) (*mend.Group, *mend.Response, error)
		Create(ctx context.Context, org string, req *mend.GroupRequest) (*mend.Group, *mend.Response, error)
		Update(ctx context.Context, org, groupUUID string, req *mend.GroupRequest) (*mend.Group, *mend.Response, error)
		Delete(ctx context.Context, org, groupUUID string) (*mend.MessageResponse, *mend.Response, error)
		AllUsers(ctx context.Context, org, groupUUID string, opts *mend.ListOptions) iter.Seq2[mend.UserInfo, error]
		AddUsers(ctx context.Context, org, groupUUID string, emails []string) (*mend.MessageResponse, *mend.Response, error)
		RemoveUser(ctx context.Context, org, groupUUID, userUUID string) (*mend.MessageResponse, *mend.Response, error)
		AllRoles(ctx context.Context, org, groupUUID string, opts *mend.ListOptions) iter.Seq2[mend.ContextRoles, error]
		AddRole(ctx context.Context, org, groupUUID string, role mend.RoleAssignment) (*mend.GroupRole, *mend.Response, error)
		RemoveRole(ctx context.Context, org, groupUUID string, role mend.RoleAssignment) (*mend.MessageResponse, *mend.Response, error)
	}
)

// NewSet returns the handlers acting through client.
func NewSet(client *mend.Client, cfg Config) *Set {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Set{
		cfg:          cfg,
		products:     client.Products,
		projects:     client.Projects,
		policies:     client.Policies,
		orgs:         client.Organizations,
		globalOrgs:   client.GlobalOrganizations,
		groups:       client.Groups,
		productNames: newNameCache(cfg.CacheTTL, cfg.Now),
		projectNames: newNameCache(cfg.CacheTTL, cfg.Now),
		groupNames:   newNameCache(cfg.CacheTTL, cfg.Now),
		homes:        newHomeCache(cfg.CacheTTL, cfg.Now),
	}
}

// Register sets the handler of every command on r.
func (s *Set) Register(r *Mux) error {
	for name, h := range map[string]Handler{
		events.CommandProductCreate:        Typed(s.productCreate),
		events.CommandProductDelete:        Typed(s.productDelete),
		events.CommandProductTagSave:       Typed(s.productTagSave),
		events.CommandProductTagRemove:     Typed(s.productTagRemove),
		events.CommandProjectCreate:        Typed(s.projectCreate),
		events.CommandProjectDelete:        Typed(s.projectDelete),
		events.CommandProjectTagSave:       Typed(s.projectTagSave),
		events.CommandProjectTagRemove:     Typed(s.projectTagRemove),
		events.CommandProjectReassign:      Typed(s.projectReassign),
		events.CommandProjectRename:        Typed(s.projectRename),
		events.CommandProductRename:        Typed(s.productRename),
		events.CommandPoliciesApply:        Typed(s.policiesApply),
		events.CommandRequestTrack:         Typed(s.requestTrack),
		events.CommandPolicyAdd:            Typed(s.policyAdd),
		events.CommandPolicyUpdate:         Typed(s.policyUpdate),
		events.CommandPolicyRemove:         Typed(s.policyRemove),
		events.CommandPolicyReorder:        Typed(s.policyReorder),
		events.CommandPolicyOwnerChange:    Typed(s.policyOwnerChange),
		events.CommandSetupNotificationSet: Typed(s.setupNotificationSet),
		events.CommandInHouseUnmark:        Typed(s.inHouseUnmark),
		events.CommandPendingTaskClose:     Typed(s.pendingTaskClose),
		events.CommandGlobalOrgCreate:      Typed(s.globalOrgCreate),
		events.CommandGlobalOrgAssign:      Typed(s.globalOrgAssign),
		events.CommandGlobalOrgRemove:      Typed(s.globalOrgRemove),
		events.CommandGroupCreate:          Typed(s.groupCreate),
		events.CommandGroupUpdate:          Typed(s.groupUpdate),
		events.CommandGroupDelete:          Typed(s.groupDelete),
		events.CommandGroupUsersAdd:        Typed(s.groupUsersAdd),
		events.CommandGroupUsersRemove:     Typed(s.groupUsersRemove),
		events.CommandGroupRolesAdd:        Typed(s.groupRolesAdd),
		events.CommandGroupRolesRemove:     Typed(s.groupRolesRemove),
	} {
		if err := r.Handle(name, s.inOrg(h)); err != nil {
			return err
		}
	}
	return nil
}

// inOrg wraps h so that its context names the organization the command
// acts on (mend.WithOrg): the Mend client's Limiter counts each call
// against that organization's budget, the v1.4 calls that name a product
// or project only among them. Every command names its organization in a
// field OrgToken, or none for the default.
func (s *Set) inOrg(h Handler) Handler {
	return func(ctx context.Context, cmd *Delivery) (Result, error) {
		token := ""
		if v := reflect.Indirect(reflect.ValueOf(cmd.Data)); v.Kind() == reflect.Struct {
			if f := v.FieldByName("OrgToken"); f.Kind() == reflect.String {
				token = f.String()
			}
		}
		return h(mend.WithOrg(ctx, s.org(token)), cmd)
	}
}

// org is the organization a command acts on.
func (s *Set) org(token string) string {
	if token != "" {
		return token
	}
	return s.cfg.DefaultOrg
}

// resultOf is a Result of a type and its data.
func resultOf(typ string, data any) Result { return Result{Type: typ, Data: data} }
