package mend_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

func jsonObject(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

// wantCode fails unless err is a v1.4 error with the given code, classified
// permanent: none of the codes the tests expect can pass on a retry.
func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	if !mend.IsCode(err, code) || mend.IsTransient(err) {
		t.Fatalf("got %v, want permanent error %d", err, code)
	}
}

// demoTokens returns the tokens of the demo organization's product and of
// its project with an inventory, demo-api.
func demoTokens(t *testing.T, sim *mendsim.Server) (product, project string) {
	t.Helper()
	for _, o := range sim.Snapshot().Organizations {
		for _, p := range o.Products {
			for _, j := range p.Projects {
				if j.Name == "demo-api" {
					return p.Token, j.Token
				}
			}
		}
	}
	t.Fatal("no demo-api project in the simulator")
	return "", ""
}

func TestOrganizationDetails(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()

	got, _, err := c.Organizations.Details(ctx, &mend.GetOrganizationDetailsRequest{OrgToken: orgToken})
	if err != nil {
		t.Fatalf("Details: %v", err)
	}
	want := map[string]any{"requestType": "getOrganizationDetails", "orgToken": orgToken}
	if diff := cmp.Diff(want, sentBody(t, sim, mend.ReqGetOrganizationDetails)); diff != "" {
		t.Errorf("request body (-want, +got):\n%s", diff)
	}
	if got.OrgName != mendsim.DefaultOrgName || got.OrgToken != orgToken || len(got.CreationDate) != len("2016-01-01 12:00:00") {
		t.Errorf("details %+v: want the demo organization with a creation date", got)
	}
	// The demo organization: one product, two projects, six users.
	if got.NumberOfProducts != 1 || got.NumberOfProjects != 2 || got.NumberOfUsers != 6 {
		t.Errorf("counts %+v: want 1 product, 2 projects, 6 users", got)
	}

	if _, _, err := c.Products.Create(ctx, &mend.CreateProductRequest{OrgToken: orgToken, ProductName: "billing"}); err != nil {
		t.Fatal(err)
	}
	after, _, err := c.Organizations.Details(ctx, &mend.GetOrganizationDetailsRequest{OrgToken: orgToken})
	if err != nil {
		t.Fatal(err)
	}
	if after.NumberOfProducts != got.NumberOfProducts+1 {
		t.Errorf("numberOfProducts after a new product: got %d, want %d", after.NumberOfProducts, got.NumberOfProducts+1)
	}

	_, _, err = c.Organizations.Details(ctx, &mend.GetOrganizationDetailsRequest{OrgToken: "no-such-org"})
	wantCode(t, err, mend.CodeNotAllowed)
	_, _, err = c.Organizations.Details(ctx, &mend.GetOrganizationDetailsRequest{})
	wantCode(t, err, mend.CodeMissingFields)
}

// TestOrganizationDetailsSendsStrings checks the simulator answers the
// counts as the page does: "numberOfProducts": "1".
func TestOrganizationDetailsSendsStrings(t *testing.T) {
	t.Parallel()
	_, sim := setup(t)
	body := `{"requestType":"getOrganizationDetails","userKey":"` + mendsim.DefaultUserKey + `","orgToken":"` + orgToken + `"}`
	resp, err := (&http.Client{}).Post(sim.URL+"/api/v1.4", "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"numberOfProducts", "numberOfProjects", "numberOfGroups", "numberOfUsers"} {
		if _, ok := raw[k].(string); !ok {
			t.Errorf("%s = %#v: want a string", k, raw[k])
		}
	}
}

func TestFlexInt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    mend.FlexInt
		wantErr bool
	}{
		{name: "string", in: `"15"`, want: 15},
		{name: "number", in: `105`, want: 105},
		{name: "null keeps zero", in: `null`, want: 0},
		{name: "not a number", in: `"many"`, wantErr: true},
		{name: "fraction", in: `1.5`, wantErr: true},
		{name: "boolean", in: `true`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got mend.FlexInt
			err := json.Unmarshal([]byte(tt.in), &got)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal(%s): err = %v, want error: %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Unmarshal(%s) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
	b, err := json.Marshal(mend.FlexInt(15))
	if err != nil || string(b) != `"15"` {
		t.Errorf("Marshal(15) = %s, %v; want \"15\"", b, err)
	}
}

func TestInHouseLibraries(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()
	product, project := demoTokens(t, sim)
	comment, pattern := "Built by the payments team", "demo-common-*"

	tests := []struct {
		name      string
		scope     mend.Scope
		wantReq   string
		wantToken string
	}{
		{name: "organization", scope: mend.OrgScope(orgToken), wantReq: mend.ReqGetOrganizationInHouseLibraries, wantToken: "orgToken"},
		{name: "product", scope: mend.ProductScope(product), wantReq: mend.ReqGetProductInHouseLibraries, wantToken: "productToken"},
		{name: "project", scope: mend.ProjectScope(project), wantReq: mend.ReqGetProjectInHouseLibraries, wantToken: "projectToken"},
	}
	// Sequential, so that the last call of each request type is this one.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := c.Organizations.InHouseLibraries(ctx, tt.scope)
			if err != nil {
				t.Fatalf("InHouseLibraries: %v", err)
			}
			want := map[string]any{"requestType": tt.wantReq, tt.wantToken: tt.scope.Token}
			if diff := cmp.Diff(want, sentBody(t, sim, tt.wantReq)); diff != "" {
				t.Errorf("request body (-want, +got):\n%s", diff)
			}
			wantLibs := []mend.InHouseLibrary{
				{
					MatchType: mend.MatchManual, Comment: &comment,
					KeyUUID: "6d1a3c52-8f0e-4b7a-9c21-5e4f3a2b1c0d", Filename: "billing-client-2.1.0.jar",
					GroupID: "com.example.billing", ArtifactID: "billing-client", Version: "2.1.0",
					Sha1: "3b9e1f7c2a5d8e0f4a6c1b3d5e7f9a0b2c4d6e8f", Type: "MAVEN_ARTIFACT",
					Description: "Client of the billing service", ProductName: "demo-product", ProductToken: product,
					ProjectName: "demo-api", ProjectToken: project,
				},
				{
					MatchType: mend.MatchAutomatic, Pattern: &pattern,
					KeyUUID: "8d3b5e1a-6c2f-4e7b-9a0d-3f1c2b4a5e6d", Filename: "demo-common-1.4.0.jar",
					GroupID: "com.example", ArtifactID: "demo-common", Version: "1.4.0",
					Sha1: "9b1c3d5e7f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c", Type: "MAVEN_ARTIFACT",
					Description: "Shared utilities of the demo services", ProductName: "demo-product", ProductToken: product,
					ProjectName: "demo-api", ProjectToken: project,
				},
			}
			if diff := cmp.Diff(wantLibs, got.Libraries); diff != "" {
				t.Errorf("libraries (-want, +got):\n%s", diff)
			}
		})
	}

	// demo-web has none.
	web := ""
	for _, p := range sim.Snapshot().Organizations[0].Products[0].Projects {
		if p.Name == "demo-web" {
			web = p.Token
		}
	}
	none, _, err := c.Organizations.InHouseLibraries(ctx, mend.ProjectScope(web))
	if err != nil || len(none.Libraries) != 0 {
		t.Errorf("demo-web: got %v, %v; want no libraries", none, err)
	}

	errTests := []struct {
		name  string
		scope mend.Scope
		code  int
	}{
		{name: "unknown organization", scope: mend.OrgScope("no-such-org"), code: mend.CodeNotAllowed},
		{name: "unknown product", scope: mend.ProductScope("no-such-product"), code: mend.CodeInvalidProductToken},
		{name: "unknown project", scope: mend.ProjectScope("no-such-project"), code: mend.CodeInvalidProjectToken},
		{name: "missing token", scope: mend.ProductScope(""), code: mend.CodeMissingFields},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := c.Organizations.InHouseLibraries(ctx, tt.scope)
			wantCode(t, err, tt.code)
		})
	}
	if _, _, err := c.Organizations.InHouseLibraries(ctx, mend.GlobalOrgScope("g")); err == nil {
		t.Error("InHouseLibraries of a global organization: want an error, as Mend has no such request")
	}
}

func TestUnmarkManualInHouseLibrary(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()
	const manual, automatic = "6d1a3c52-8f0e-4b7a-9c21-5e4f3a2b1c0d", "8d3b5e1a-6c2f-4e7b-9a0d-3f1c2b4a5e6d"

	tests := []struct {
		name    string
		req     mend.UnmarkManualInHouseLibraryRequest
		code    int // 0: success
		wantLib []string
	}{
		{name: "automatic match", req: mend.UnmarkManualInHouseLibraryRequest{OrgToken: orgToken, KeyUUID: automatic}, code: mend.CodeInvalidOptionValue},
		{name: "unknown library", req: mend.UnmarkManualInHouseLibraryRequest{OrgToken: orgToken, KeyUUID: "00000000-0000-4000-8000-000000000000"}, code: mend.CodeInvalidKeyUUID},
		{name: "missing keyUuid", req: mend.UnmarkManualInHouseLibraryRequest{OrgToken: orgToken}, code: mend.CodeMissingFields},
		{name: "unknown organization", req: mend.UnmarkManualInHouseLibraryRequest{OrgToken: "no-such-org", KeyUUID: manual}, code: mend.CodeNotAllowed},
		{name: "manual match", req: mend.UnmarkManualInHouseLibraryRequest{OrgToken: orgToken, KeyUUID: manual}},
		{name: "manual match again", req: mend.UnmarkManualInHouseLibraryRequest{OrgToken: orgToken, KeyUUID: manual}, code: mend.CodeInvalidKeyUUID},
	}
	// Sequential: each case sees what the ones before it did.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := c.Organizations.UnmarkManualInHouseLibrary(ctx, &tt.req)
			if tt.code != 0 {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatalf("Unmark: %v", err)
			}
			if got.Message != "Successfully unmarked in-house library" {
				t.Errorf("message %q", got.Message)
			}
			want := map[string]any{"requestType": "unmarkManualInHouseLibrary", "orgToken": orgToken, "keyUuid": manual}
			if diff := cmp.Diff(want, sentBody(t, sim, mend.ReqUnmarkManualInHouseLibrary)); diff != "" {
				t.Errorf("request body (-want, +got):\n%s", diff)
			}
		})
	}
	libs, _, err := c.Organizations.InHouseLibraries(ctx, mend.OrgScope(orgToken))
	if err != nil {
		t.Fatal(err)
	}
	if len(libs.Libraries) != 1 || libs.Libraries[0].KeyUUID != automatic {
		t.Errorf("In-House libraries after unmarking %v: want only the automatic one", libs.Libraries)
	}
}

func TestPendingTasks(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()

	all, _, err := c.Organizations.PendingTasks(ctx, &mend.GetDomainPendingTasksRequest{OrgToken: orgToken, Page: 0, PageSize: 1000})
	if err != nil {
		t.Fatalf("PendingTasks: %v", err)
	}
	want := map[string]any{"requestType": "getDomainPendingTasks", "orgToken": orgToken, "page": 0.0, "pageSize": 1000.0}
	if diff := cmp.Diff(want, sentBody(t, sim, mend.ReqGetDomainPendingTasks)); diff != "" {
		t.Errorf("request body (-want, +got):\n%s", diff)
	}
	if len(all.PendingTaskInfos) != 2 {
		t.Fatalf("pending tasks %v: want the two demo tasks", all.PendingTaskInfos)
	}
	first := all.PendingTaskInfos[0]
	if first.Artifact != "log4j-1.2.17.jar" || first.ProductName != "demo-product" || first.ProjectName != "demo-api" ||
		first.ApproverEmail != mendsim.DefaultUserEmail || len(first.CreationTime) != len("2022-04-18 10:28:18") {
		t.Errorf("first task %+v: want the log4j task of demo-api first", first)
	}

	pages := []struct {
		page int
		want []string
	}{
		{0, []string{first.UUID}},
		{1, []string{all.PendingTaskInfos[1].UUID}},
		{2, nil},
		{1 << 40, nil},
	}
	for _, p := range pages {
		got, _, err := c.Organizations.PendingTasks(ctx, &mend.GetDomainPendingTasksRequest{OrgToken: orgToken, Page: p.page, PageSize: 1})
		if err != nil {
			t.Fatalf("page %d: %v", p.page, err)
		}
		var uuids []string
		for _, task := range got.PendingTaskInfos {
			uuids = append(uuids, task.UUID)
		}
		if diff := cmp.Diff(p.want, uuids); diff != "" {
			t.Errorf("page %d of size 1 (-want, +got):\n%s", p.page, diff)
		}
	}

	errTests := []struct {
		name string
		req  mend.GetDomainPendingTasksRequest
		code int
	}{
		{name: "page size over 10000", req: mend.GetDomainPendingTasksRequest{OrgToken: orgToken, PageSize: 10001}, code: mend.CodeInvalidOptionValue},
		{name: "negative page size", req: mend.GetDomainPendingTasksRequest{OrgToken: orgToken, PageSize: -1}, code: mend.CodeInvalidOptionValue},
		{name: "negative page", req: mend.GetDomainPendingTasksRequest{OrgToken: orgToken, Page: -1}, code: mend.CodeInvalidOptionValue},
		{name: "missing organization", req: mend.GetDomainPendingTasksRequest{}, code: mend.CodeMissingFields},
		{name: "unknown organization", req: mend.GetDomainPendingTasksRequest{OrgToken: "no-such-org"}, code: mend.CodeNotAllowed},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := c.Organizations.PendingTasks(ctx, &tt.req)
			wantCode(t, err, tt.code)
		})
	}

	// closePendingTask: the first close closes, the second cannot.
	for i, wantClosed := range []bool{true, false} {
		got, _, err := c.Organizations.ClosePendingTask(ctx, &mend.ClosePendingTaskRequest{OrgToken: orgToken, TaskUUID: first.UUID})
		if err != nil {
			t.Fatalf("ClosePendingTask #%d: %v", i+1, err)
		}
		if got.Closed() != wantClosed {
			t.Errorf("ClosePendingTask #%d: message %q, want closed: %v", i+1, got.Message, wantClosed)
		}
	}
	want = map[string]any{"requestType": "closePendingTask", "orgToken": orgToken, "taskUUID": first.UUID}
	if diff := cmp.Diff(want, sentBody(t, sim, mend.ReqClosePendingTask)); diff != "" {
		t.Errorf("request body (-want, +got):\n%s", diff)
	}
	left, _, err := c.Organizations.PendingTasks(ctx, &mend.GetDomainPendingTasksRequest{OrgToken: orgToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.PendingTaskInfos) != 1 || left.PendingTaskInfos[0].UUID == first.UUID {
		t.Errorf("pending tasks after closing one: %v", left.PendingTaskInfos)
	}
	_, _, err = c.Organizations.ClosePendingTask(ctx, &mend.ClosePendingTaskRequest{OrgToken: orgToken})
	wantCode(t, err, mend.CodeMissingFields)
}

func TestSetProjectSetupNotificationConfig(t *testing.T) {
	t.Parallel()
	c, sim := setup(t)
	ctx := context.Background()

	// The page's example, as sent.
	if _, _, err := c.Organizations.SetProjectSetupNotificationConfig(ctx, &mend.SetProjectSetupNotificationConfigRequest{
		OrgToken: orgToken, Action: mend.SetupNotificationCustom,
		ProjectTagKeyRegex: "^[0-9]*$", ProjectTagValueRegex: "^(ProjectTagValue)",
	}); err != nil {
		t.Fatalf("SetProjectSetupNotificationConfig: %v", err)
	}
	want := jsonObject(t, `{
		"requestType" : "setProjectSetupNotificationConfig",
		"orgToken" : "`+orgToken+`",
		"action": "CUSTOM",
		"projectTagKeyRegex" : "^[0-9]*$",
		"projectTagValueRegex" : "^(ProjectTagValue)"
	}`)
	if diff := cmp.Diff(want, sentBody(t, sim, mend.ReqSetProjectSetupNotificationConfig)); diff != "" {
		t.Errorf("request body (-want, +got):\n%s", diff)
	}

	tests := []struct {
		name string
		req  mend.SetProjectSetupNotificationConfigRequest
		code int // 0: success
	}{
		{name: "enabled", req: mend.SetProjectSetupNotificationConfigRequest{OrgToken: orgToken, Action: mend.SetupNotificationEnabled}},
		{name: "disabled", req: mend.SetProjectSetupNotificationConfigRequest{OrgToken: orgToken, Action: mend.SetupNotificationDisabled}},
		{name: "action in the table's case", req: mend.SetProjectSetupNotificationConfigRequest{OrgToken: orgToken, Action: "Custom", ProjectTagKeyRegex: "^team$", ProjectTagValueRegex: ".*"}},
		{name: "custom without regexes", req: mend.SetProjectSetupNotificationConfigRequest{OrgToken: orgToken, Action: "CUSTOM"}, code: mend.CodeMissingFields},
		{name: "custom without value regex", req: mend.SetProjectSetupNotificationConfigRequest{OrgToken: orgToken, Action: "CUSTOM", ProjectTagKeyRegex: "^team$"}, code: mend.CodeMissingFields},
		{name: "invalid key regex", req: mend.SetProjectSetupNotificationConfigRequest{OrgToken: orgToken, Action: "CUSTOM", ProjectTagKeyRegex: "([", ProjectTagValueRegex: ".*"}, code: mend.CodeInvalidOptionValue},
		{name: "invalid value regex", req: mend.SetProjectSetupNotificationConfigRequest{OrgToken: orgToken, Action: "CUSTOM", ProjectTagKeyRegex: ".*", ProjectTagValueRegex: "a{2,1}"}, code: mend.CodeInvalidOptionValue},
		{name: "unknown action", req: mend.SetProjectSetupNotificationConfigRequest{OrgToken: orgToken, Action: "SOMETIMES"}, code: mend.CodeInvalidOptionValue},
		{name: "missing action", req: mend.SetProjectSetupNotificationConfigRequest{OrgToken: orgToken}, code: mend.CodeMissingFields},
		{name: "unknown organization", req: mend.SetProjectSetupNotificationConfigRequest{OrgToken: "no-such-org", Action: "ENABLED"}, code: mend.CodeNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := c.Organizations.SetProjectSetupNotificationConfig(ctx, &tt.req)
			if tt.code != 0 {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatalf("SetProjectSetupNotificationConfig: %v", err)
			}
			if got.Message != "Successfully changed project setup completion notification configuration" {
				t.Errorf("message %q", got.Message)
			}
		})
	}
}

func TestOrganizationsGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		v    any
	}{
		{"getOrganizationDetails.json", new(mend.OrganizationDetails)},
		{"getOrganizationInHouseLibraries.json", new(mend.InHouseLibrariesResponse)},
		{"getProductInHouseLibraries.json", new(mend.InHouseLibrariesResponse)},
		{"getProjectInHouseLibraries.json", new(mend.InHouseLibrariesResponse)},
		{"unmarkManualInHouseLibrary.json", new(mend.MessageResponse)},
		{"getDomainPendingTasks.json", new(mend.GetDomainPendingTasksResponse)},
		{"closePendingTask.json", new(mend.ClosePendingTaskResponse)},
		{"setProjectSetupNotificationConfig.json", new(mend.MessageResponse)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			decodeGolden(t, tt.file, tt.v)
		})
	}

	// Spot checks that the string counts and the optional fields decode.
	var details mend.OrganizationDetails
	decodeGolden(t, "getOrganizationDetails.json", &details)
	if details.NumberOfProducts != 15 || details.NumberOfProjects != 105 || details.NumberOfGroups != 2 || details.NumberOfUsers != 3 {
		t.Errorf("getOrganizationDetails.json counts: %+v", details)
	}
	var libs mend.InHouseLibrariesResponse
	decodeGolden(t, "getProjectInHouseLibraries.json", &libs)
	if l := libs.Libraries; len(l) != 2 || l[0].Comment == nil || l[0].Pattern != nil || l[1].Pattern == nil || *l[1].Pattern != "common-*" || l[1].Comment != nil {
		t.Errorf("getProjectInHouseLibraries.json: comment and pattern not as sent: %+v", libs.Libraries)
	}
	var closed mend.ClosePendingTaskResponse
	decodeGolden(t, "closePendingTask.json", &closed)
	if !closed.Closed() {
		t.Errorf("closePendingTask.json: Closed() = false for %q", closed.Message)
	}
}
