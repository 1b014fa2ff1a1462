package mendsim

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/mendflow/mendflow/pkg/mend"
)

// maxPendingTasksPage is the largest pageSize of getDomainPendingTasks, and
// the page size when none is given.
const maxPendingTasksPage = 10000

func (s *Simulator) organizationHandlers() map[string]v1Handler {
	return map[string]v1Handler{
		mend.ReqGetOrganizationDetails:            s.getOrganizationDetails,
		mend.ReqGetOrganizationInHouseLibraries:   s.getInHouseLibraries(mend.OrganizationLevel, "orgToken"),
		mend.ReqGetProductInHouseLibraries:        s.getInHouseLibraries(mend.ProductLevel, "productToken"),
		mend.ReqGetProjectInHouseLibraries:        s.getInHouseLibraries(mend.ProjectLevel, "projectToken"),
		mend.ReqUnmarkManualInHouseLibrary:        s.unmarkManualInHouseLibrary,
		mend.ReqGetDomainPendingTasks:             s.getDomainPendingTasks,
		mend.ReqClosePendingTask:                  s.closePendingTask,
		mend.ReqSetProjectSetupNotificationConfig: s.setProjectSetupNotificationConfig,
	}
}

func (s *Simulator) getOrganizationDetails(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetOrganizationDetailsRequest](c, "orgToken")
	if err != nil {
		return nil, err
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, err
	}
	products := s.productsOf(o)
	// FlexInt encodes as a string: the page sends "numberOfProducts": "15".
	return mend.OrganizationDetails{
		OrgName:          o.name,
		OrgToken:         o.token,
		CreationDate:     o.created.UTC().Format(time.DateTime),
		NumberOfProducts: mend.FlexInt(len(products)),
		NumberOfProjects: mend.FlexInt(len(s.projectsOf(products...))),
		NumberOfGroups:   mend.FlexInt(len(o.groups)),
		NumberOfUsers:    mend.FlexInt(len(o.members)),
	}, nil
}

// getInHouseLibraries answers the In-House libraries of an organization,
// product or project, which field names: those of the projects within it.
func (s *Simulator) getInHouseLibraries(level mend.ScopeLevel, field string) v1Handler {
	return func(c *v1Call) (any, error) {
		req, err := decodeRequired[mend.InHouseLibrariesRequest](c, field)
		if err != nil {
			return nil, err
		}
		o, p, j, err := s.scopeOf(level, req.ScopeTokens)
		if err != nil {
			return nil, err
		}
		out := mend.InHouseLibrariesResponse{Libraries: []mend.InHouseLibrary{}}
		for _, ih := range o.inHouse {
			k := s.st.projects[ih.project]
			if (p == nil || k.product == p.token) && (j == nil || k == j) {
				out.Libraries = append(out.Libraries, s.wireInHouse(ih, k))
			}
		}
		return out, nil
	}
}

func (s *Simulator) wireInHouse(ih *inHouseLibrary, j *project) mend.InHouseLibrary {
	p := s.st.products[j.product]
	out := mend.InHouseLibrary{
		MatchType:    ih.matchType,
		KeyUUID:      ih.lib.keyUUID,
		Filename:     ih.lib.filename,
		GroupID:      ih.lib.groupID,
		ArtifactID:   ih.lib.artifactID,
		Version:      ih.lib.version,
		Sha1:         ih.lib.sha1,
		Type:         ih.lib.libType,
		Description:  ih.lib.description,
		ProductName:  p.name,
		ProductToken: p.token,
		ProjectName:  j.name,
		ProjectToken: j.token,
	}
	// "pattern parameter is not returned for a library if the matchType
	// value is manual"; "comment parameter is not returned for a library if
	// the matchType value is automatic".
	// Copies: the answer is encoded after the mutex is released.
	comment, pattern := ih.comment, ih.pattern
	if ih.matchType == mend.MatchManual {
		out.Comment = &comment
	} else {
		out.Pattern = &pattern
	}
	return out
}

func (s *Simulator) unmarkManualInHouseLibrary(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.UnmarkManualInHouseLibraryRequest](c, "orgToken", "keyUuid")
	if err != nil {
		return nil, err
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, err
	}
	var marked, manual bool
	kept := make([]*inHouseLibrary, 0, len(o.inHouse))
	var unmarked []*inHouseLibrary
	for _, ih := range o.inHouse {
		if ih.lib.keyUUID == req.KeyUUID {
			marked = true
			if ih.matchType == mend.MatchManual {
				manual = true
				unmarked = append(unmarked, ih)
				continue
			}
		}
		kept = append(kept, ih)
	}
	switch {
	case !marked:
		return nil, apiError(mend.CodeInvalidKeyUUID, "Invalid key UUID: %s", req.KeyUUID)
	case !manual:
		// Only an In-House rule marks it: the rule must change instead.
		return nil, apiError(mend.CodeInvalidOptionValue, "Library %s was marked In-House automatically, not manually", req.KeyUUID)
	}
	o.inHouse = kept
	// The inventory flags a library In-House while any mark remains.
	for _, ih := range unmarked {
		ih.lib.inHouse = false
	}
	for _, ih := range kept {
		if ih.lib.keyUUID == req.KeyUUID {
			ih.lib.inHouse = true
		}
	}
	return message("Successfully unmarked in-house library"), nil
}

func (s *Simulator) getDomainPendingTasks(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.GetDomainPendingTasksRequest](c, "orgToken")
	if err != nil {
		return nil, err
	}
	size := maxPendingTasksPage
	if raw, ok := c.fields["pageSize"]; ok && string(raw) != "null" {
		if req.PageSize < 1 || req.PageSize > maxPendingTasksPage {
			return nil, apiError(mend.CodeInvalidOptionValue, "pageSize must be between 1 and %d", maxPendingTasksPage)
		}
		size = req.PageSize
	}
	if req.Page < 0 {
		return nil, apiError(mend.CodeInvalidOptionValue, "page must not be negative")
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, err
	}
	out := mend.GetDomainPendingTasksResponse{PendingTaskInfos: []mend.PendingTask{}}
	start := len(o.tasks) // a page beyond the last is empty, without overflow
	if req.Page <= len(o.tasks)/size {
		start = req.Page * size
	}
	for _, t := range o.tasks[start:min(start+size, len(o.tasks))] {
		j := s.st.projects[t.project]
		out.PendingTaskInfos = append(out.PendingTaskInfos, mend.PendingTask{
			UUID: t.uuid, ProductName: s.st.products[j.product].name, ProjectName: j.name, Artifact: t.artifact,
			Sha1: t.sha1, CreationTime: t.created.UTC().Format(time.DateTime), ApproverEmail: t.approverEmail,
		})
	}
	return out, nil
}

func (s *Simulator) closePendingTask(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.ClosePendingTaskRequest](c, "orgToken", "taskUUID")
	if err != nil {
		return nil, err
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, err
	}
	for i, t := range o.tasks {
		if t.uuid == req.TaskUUID {
			o.tasks = append(o.tasks[:i:i], o.tasks[i+1:]...)
			return mend.ClosePendingTaskResponse{Message: mend.MsgPendingTaskClosed}, nil
		}
	}
	// The page answers a task it cannot close with a message, not an error.
	return mend.ClosePendingTaskResponse{Message: mend.MsgPendingTaskNotClosed}, nil
}

func (s *Simulator) setProjectSetupNotificationConfig(c *v1Call) (any, error) {
	req, err := decodeRequired[mend.SetProjectSetupNotificationConfigRequest](c, "orgToken", "action")
	if err != nil {
		return nil, err
	}
	// The page's table says "Custom, Enabled, or Disabled" and its example
	// sends "CUSTOM": take any case.
	cfg := setupNotificationConfig{action: strings.ToUpper(req.Action)}
	switch cfg.action {
	case mend.SetupNotificationEnabled, mend.SetupNotificationDisabled:
	case mend.SetupNotificationCustom:
		if err := c.require("projectTagKeyRegex", "projectTagValueRegex"); err != nil {
			return nil, err
		}
		for _, re := range []string{req.ProjectTagKeyRegex, req.ProjectTagValueRegex} {
			if _, err := regexp.Compile(re); err != nil {
				return nil, apiError(mend.CodeInvalidOptionValue, "Invalid regex %q: %v", re, err)
			}
		}
		cfg.keyRegex, cfg.valueRegex = req.ProjectTagKeyRegex, req.ProjectTagValueRegex
	default:
		return nil, apiError(mend.CodeInvalidOptionValue, "Invalid action %q: must be CUSTOM, ENABLED or DISABLED", req.Action)
	}
	o, err := s.orgOf(req.OrgToken)
	if err != nil {
		return nil, err
	}
	o.setupNotification = cfg
	return message("Successfully changed project setup completion notification configuration"), nil
}

// seedOrganization adds the demo organization's policies, In-House
// libraries and pending tasks; api is its project with an inventory.
func (s *Simulator) seedOrganization(st *state, o *org, api *project) {
	now := s.now()
	admin := st.users[strings.ToLower(s.cfg.UserEmail)]
	// A second member, so that policies can change hands.
	appsec := st.users["appsec.lead@example.com"] // seedGroups made the users

	prod := st.products[api.product]
	o.policies = append(o.policies, &policy{
		id: st.id(), name: "Reject high severity vulnerabilities", owner: admin, created: now, priority: 1,
		filter: mustJSON(mend.PolicyFilter{
			Type:                  mend.FilterVulnerabilitySeverity,
			VulnerabilitySeverity: &mend.ScoreRange{ScoreFrom: 7, ScoreTo: 10},
		}),
		action:  mustJSON(mend.PolicyAction{Type: mend.ActionReject}),
		enabled: true, context: mend.PolicyContextOrganization,
	})
	prod.policies = append(prod.policies, &policy{
		id: st.id(), name: "Approve Apache 2.0", owner: admin, created: now, priority: 1,
		filter: mustJSON(mend.PolicyFilter{
			Type:     mend.FilterLicense,
			Licenses: []mend.PolicyLicense{{ID: 9, Name: "Apache 2.0"}},
		}),
		action:    mustJSON(mend.PolicyAction{Type: mend.ActionApprove}),
		inclusive: true, enabled: true, context: mend.PolicyContextProduct,
	})

	// The In-House libraries are in demo-api's inventory (seed.go); the
	// organization lists them with how they were marked.
	manual, auto := libraryNamed(api, "billing-client"), libraryNamed(api, "demo-common")
	o.inHouse = append(o.inHouse,
		&inHouseLibrary{lib: manual, project: api.token, matchType: mend.MatchManual, comment: "Built by the payments team"},
		&inHouseLibrary{lib: auto, project: api.token, matchType: mend.MatchAutomatic, pattern: "demo-common-*"},
	)

	o.tasks = append(o.tasks,
		&pendingTask{
			uuid: newUUID(), project: api.token, artifact: "log4j-1.2.17.jar",
			sha1: "5af35056b4d257e4b64b9e8069c0746e8b08629f", created: now.Add(-48 * time.Hour), approverEmail: admin.email,
		},
		&pendingTask{
			uuid: newUUID(), project: api.token, artifact: "akka-actor_2.11-2.5.2.jar",
			sha1: "183ccaed9002bfa10628a5df48e7bac6f1c03f7b", created: now.Add(-24 * time.Hour), approverEmail: appsec.email,
		},
	)
}

// mustJSON encodes a value of a type that always encodes.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// libraryNamed finds a top-level library of p by name.
func libraryNamed(p *project, name string) *library {
	for _, l := range p.libraries {
		if l.name == name {
			return l
		}
	}
	panic("mendsim: the demo project has no library " + name)
}
