package mend_test

import (
	"context"
	"slices"
	"testing"

	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// TestContractEveryRESTOperation sends every v2.0 and v3.0 operation of
// the client to the simulator through the checked transport (setup): each
// request must pass Mend's OpenAPI documents, and each answer too. The
// call record shows that none was left out.
func TestContractEveryRESTOperation(t *testing.T) {
	t.Parallel()
	v2, sim := setup(t)
	v3, err := mend.NewClient(sim.URL, mendsim.DefaultUserKey, mend.WithHTTPClient(contractClient(t)),
		mend.WithUserEmail(mendsim.DefaultUserEmail), mend.WithRetry(fastRetry), mend.WithLoginV3())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	product, web := demoWeb(t, sim)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("v3.0 login", get(v3.Groups.List(ctx, orgToken, nil)))
	must("getProject", get(v2.Projects.Get(ctx, orgToken, web)))
	must("getProduct", get(v2.Products.Get(ctx, orgToken, product)))
	must("renameProject", get(v2.Projects.Rename(ctx, orgToken, web, "web")))
	must("renameProduct", get(v2.Products.Rename(ctx, orgToken, product, "platform")))
	other, _, err := v2.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: orgToken, ProductName: "other"})
	must("createProduct", err)
	must("reassignProject", get(v2.Projects.Reassign(ctx, orgToken, web, other.ProductToken)))
	must("listOrganizationProjects", get(v2.Projects.ListOrganization(ctx, orgToken, &mend.PageOptions{PageSize: 1})))
	must("listOrganizationProducts", get(v2.Products.ListOrganization(ctx, orgToken, nil)))
	must("applyOrganizationPolicies", get(v2.Policies.ApplyOrganization(ctx, orgToken)))
	must("applyProductPolicies", get(v2.Policies.ApplyProduct(ctx, orgToken, product)))
	p, _, err := v2.Policies.ApplyProject(ctx, orgToken, web)
	must("applyProjectPolicies", err)
	must("asyncProcessStatus", get(v2.Organizations.ProcessStatus(ctx, orgToken, p.UUID)))
	g, _, err := v2.Groups.Create(ctx, orgToken, &mend.GroupRequest{Name: "contract", Description: "d"})
	must("createGroup", err)
	must("listGroups", get(v2.Groups.List(ctx, orgToken, &mend.ListOptions{Search: "name:like:con", Sort: "-name", PageSize: 5})))
	must("getGroup", get(v2.Groups.Get(ctx, orgToken, g.UUID)))
	must("updateGroup", get(v2.Groups.Update(ctx, orgToken, g.UUID, &mend.GroupRequest{Name: "contract 2"})))
	must("addGroupUsers", get(v2.Groups.AddUsers(ctx, orgToken, g.UUID, []string{"alice@example.com"})))
	users, _, err := v2.Groups.ListUsers(ctx, orgToken, g.UUID, nil)
	must("listGroupUsers", err)
	must("removeGroupUser", get(v2.Groups.RemoveUser(ctx, orgToken, g.UUID, users[0].UUID)))
	role := mend.RoleAssignment{ContextToken: product, ContextType: mend.ContextProducts, Role: "AUDITOR"}
	must("addGroupRole", get(v2.Groups.AddRole(ctx, orgToken, g.UUID, role)))
	must("listGroupRoles", get(v2.Groups.ListRoles(ctx, orgToken, g.UUID, nil)))
	must("removeGroupRole", get(v2.Groups.RemoveRole(ctx, orgToken, g.UUID, role)))
	must("deleteGroup", get(v2.Groups.Delete(ctx, orgToken, g.UUID)))

	var seen []string
	for _, c := range sim.Calls() {
		seen = append(seen, c.Op)
	}
	for _, op := range mend.RESTOperations() {
		if !slices.Contains(seen, op) {
			t.Errorf("no %s call was checked", op)
		}
	}
}
