package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
)

// Kind is what a change does to its target.
type Kind string

// The kinds of change, as a plan prints them: +, ~ and -.
const (
	KindCreate Kind = "create"
	KindChange Kind = "change"
	KindDelete Kind = "delete"
)

// Symbol is the kind's mark in a printed plan.
func (k Kind) Symbol() string {
	switch k {
	case KindCreate:
		return "+"
	case KindDelete:
		return "-"
	}
	return "~"
}

// Plan is every change that brings Mend to the spec's state, each carried
// out by one command.
type Plan struct {
	// Version is the version of this format: 1.
	Version int `json:"version"`
	// Organization is the spec's organization token; empty for
	// MEND_ORG_TOKEN.
	Organization string `json:"organization,omitempty"`
	// Repositories counts the repositories listed and kept; Projects the
	// projects Mend held.
	Repositories int `json:"repositories"`
	Projects     int `json:"mendProjects"`
	// Unmapped counts the projects of the pruned products that no
	// repository maps to, whatever prune does with them.
	Unmapped int      `json:"unmapped"`
	Summary  Summary  `json:"summary"`
	Changes  []Change `json:"changes"`
}

// PlanVersion is the version of the plan's JSON format.
const PlanVersion = 1

// Summary counts the changes of a plan by kind.
type Summary struct {
	Create int `json:"create"`
	Change int `json:"change"`
	Delete int `json:"delete"`
}

// Total is the number of changes.
func (s Summary) Total() int { return s.Create + s.Change + s.Delete }

// Change is one change of a plan and the command that makes it.
type Change struct {
	// ID is derived from the command and its data: planning the same
	// change again gives the same ID, which is the command's Nats-Msg-Id,
	// so that queuing it again within the duplicate window stores nothing.
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// Product is the product the change belongs to; empty for the
	// organization's.
	Product string `json:"product,omitempty"`
	// Target is what changes (project api, tag team of project api,
	// policy "x" at product acme), and Detail how.
	Target string `json:"target"`
	Detail string `json:"detail,omitempty"`
	// Command is the command's name and Data its data.
	Command string             `json:"command"`
	Data    events.CommandData `json:"data"`
	// After are the IDs of the changes this one must follow: the project
	// its policies govern, the policies a reorder orders.
	After []string `json:"after,omitempty"`
}

// PruneLimitError is a plan that would delete more projects than the spec
// allows: nothing of it is planned.
type PruneLimitError struct {
	Deletions, Max int
}

// Error implements error.
func (e *PruneLimitError) Error() string {
	return fmt.Sprintf("prune would delete %d projects, more than prune.maxDeletions (%d): nothing is planned (check the spec's sources and organization; raise maxDeletions if so many deletions are meant)", e.Deletions, e.Max)
}

// NewPlan computes the changes that bring Mend's state st to the spec's
// desired state d. It is a pure function of its arguments.
func NewPlan(spec *Spec, d *Desired, st *State) (*Plan, error) {
	pl := &planner{spec: spec, d: d, st: st, plan: &Plan{Version: PlanVersion, Organization: spec.Organization, Repositories: d.Repositories, Changes: []Change{}}}
	pl.index()
	if err := pl.policies(ScopeKey{}); err != nil {
		return nil, err
	}
	for _, product := range pl.productNames() {
		pl.planProjects(product)
		if err := pl.policies(ScopeKey{Product: product}); err != nil {
			return nil, err
		}
		for _, p := range pl.desired[product] {
			if err := pl.policies(ScopeKey{Product: product, Project: p.Project}); err != nil {
				return nil, err
			}
		}
	}
	if pl.deletions > spec.Prune.MaxDeletions {
		return nil, &PruneLimitError{Deletions: pl.deletions, Max: spec.Prune.MaxDeletions}
	}
	for _, c := range pl.plan.Changes {
		switch c.Kind {
		case KindCreate:
			pl.plan.Summary.Create++
		case KindDelete:
			pl.plan.Summary.Delete++
		default:
			pl.plan.Summary.Change++
		}
	}
	return pl.plan, nil
}

type planner struct {
	spec *Spec
	d    *Desired
	st   *State
	plan *Plan

	products  map[string]*Product
	inMend    map[ScopeKey]*Project
	desired   map[string][]*DesiredProject // by product
	created   map[ScopeKey]string          // the change creating a project or (Project "") the first of a product
	deletions int
}

func (pl *planner) index() {
	pl.products = map[string]*Product{}
	pl.inMend = map[ScopeKey]*Project{}
	pl.desired = map[string][]*DesiredProject{}
	pl.created = map[ScopeKey]string{}
	for i := range pl.st.Products {
		p := &pl.st.Products[i]
		pl.products[p.Name] = p
		for j := range p.Projects {
			pl.inMend[ScopeKey{p.Name, p.Projects[j].Name}] = &p.Projects[j]
			pl.plan.Projects++
		}
	}
	for i := range pl.d.Projects {
		p := &pl.d.Projects[i]
		pl.desired[p.Product] = append(pl.desired[p.Product], p)
	}
}

// productNames are the products of Mend and of the spec, sorted.
func (pl *planner) productNames() []string {
	names := make([]string, 0, len(pl.products)+len(pl.desired))
	for n := range pl.products {
		names = append(names, n)
	}
	for n := range pl.desired {
		if pl.products[n] == nil {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

func (pl *planner) add(c Change) string {
	c.ID = changeID(c.Command, c.Data)
	pl.plan.Changes = append(pl.plan.Changes, c)
	return c.ID
}

// changeID is the first 128 bits of SHA-256 over the command's name and
// its data as JSON, in hex.
func changeID(command string, data events.CommandData) string {
	b, _ := json.Marshal(data) // command data are plain structs
	h := sha256.New()
	h.Write([]byte("mendflow.reconcile\x00" + command + "\x00"))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// projects plans the projects of a product: those to create, the tags of
// those there, and the pruning of those no repository maps to.
func (pl *planner) planProjects(product string) {
	org := pl.spec.Organization
	prod := pl.products[product]
	wanted := map[string]bool{}
	for _, d := range pl.desired[product] {
		wanted[d.Project] = true
		k := ScopeKey{product, d.Project}
		proj := pl.inMend[k]
		if proj == nil {
			tags := map[string]string{}
			for key, v := range d.Tags {
				if v != "" {
					tags[key] = v
				}
			}
			id := pl.add(Change{
				Kind: KindCreate, Product: product, Target: "project " + d.Project, Detail: createDetail(d, prod == nil, tags),
				Command: events.CommandProjectCreate,
				Data: &events.ProjectCreate{
					OrgToken: org, ProductName: product, ProjectName: d.Project, ProjectDescription: d.Description,
					Tags: nilIfEmpty(tags), CreateProduct: prod == nil,
				},
			})
			pl.created[k] = id
			if _, ok := pl.created[ScopeKey{Product: product}]; !ok && prod == nil {
				pl.created[ScopeKey{Product: product}] = id
			}
			continue
		}
		ref := events.ProjectRef{ProjectToken: proj.Token}
		for _, t := range pl.spec.Mapping.Tags {
			pl.tag(product, d.Project, ref, proj.Tags, t.Key, d.Tags[t.Key], "")
		}
		if pl.spec.Prune.Action == PruneTag && proj.Tags.Has(pl.spec.Prune.TagKey, pl.spec.Prune.TagValue) {
			pl.untag(product, d.Project, ref, pl.spec.Prune.TagKey, pl.spec.Prune.TagValue, "mapped again by "+d.Repository)
		}
	}
	if prod == nil || !pl.pruned(product) {
		return
	}
	for _, proj := range prod.Projects {
		if wanted[proj.Name] {
			continue
		}
		pl.plan.Unmapped++
		ref := events.ProjectRef{ProjectToken: proj.Token, ProductToken: prod.Token}
		switch pl.spec.Prune.Action {
		case PruneTag:
			pl.tag(product, proj.Name, events.ProjectRef{ProjectToken: proj.Token}, proj.Tags, pl.spec.Prune.TagKey, pl.spec.Prune.TagValue, "no repository maps to it")
		case PruneDelete:
			pl.deletions++
			pl.add(Change{
				Kind: KindDelete, Product: product, Target: "project " + proj.Name, Detail: "no repository maps to it",
				Command: events.CommandProjectDelete, Data: &events.ProjectDelete{OrgToken: org, ProjectRef: ref},
			})
		}
	}
}

// pruned reports whether prune looks at a product's projects: those of
// the products prune.products names, or else of the products some
// repository maps to.
func (pl *planner) pruned(product string) bool {
	if pl.spec.Prune.Products == nil {
		return len(pl.desired[product]) > 0
	}
	for _, g := range pl.spec.Prune.Products {
		if g.Match(product) {
			return true
		}
	}
	return false
}

// tag plans a managed key to hold want alone ("" for no value): its other
// values removed, want saved unless there.
func (pl *planner) tag(product, project string, ref events.ProjectRef, cur mend.Tags, key, want, why string) {
	for _, v := range cur[key] {
		if v != want {
			pl.untag(product, project, ref, key, v, why)
		}
	}
	if want != "" && !cur.Has(key, want) {
		pl.add(Change{
			Kind: KindChange, Product: product, Target: "project " + project, Detail: joinDetail("tag "+key+"="+want, why),
			Command: events.CommandProjectTagSave,
			Data:    &events.ProjectTagSave{ProjectTag: events.ProjectTag{OrgToken: pl.spec.Organization, ProjectRef: ref, TagKey: key, TagValue: want}},
		})
	}
}

func (pl *planner) untag(product, project string, ref events.ProjectRef, key, value, why string) {
	pl.add(Change{
		Kind: KindChange, Product: product, Target: "project " + project, Detail: joinDetail("untag "+key+"="+value, why),
		Command: events.CommandProjectTagRemove,
		Data:    &events.ProjectTagRemove{ProjectTag: events.ProjectTag{OrgToken: pl.spec.Organization, ProjectRef: ref, TagKey: key, TagValue: value}},
	})
}

func joinDetail(what, why string) string {
	if why == "" {
		return what
	}
	return what + " (" + why + ")"
}

func createDetail(d *DesiredProject, newProduct bool, tags map[string]string) string {
	var parts []string
	if newProduct {
		parts = append(parts, "new product")
	}
	parts = append(parts, "from "+d.Repository)
	for _, k := range sortedKeys(tags) {
		parts = append(parts, "tag "+k+"="+tags[k])
	}
	return strings.Join(parts, ", ")
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// policies plans the policies of one scope, when the spec governs it:
// those Mend holds and the spec does not are removed, those that differ
// updated, those missing added, then all put in the spec's order and
// applied.
func (pl *planner) policies(k ScopeKey) error {
	want, governed, err := pl.wantPolicies(k)
	if err != nil || !governed {
		return err
	}
	scope, after := pl.scopeOf(k)
	have := pl.st.Policies[k]
	target := func(name string) string { return fmt.Sprintf("policy %q at %s", name, k) }
	var ids []string

	for _, p := range have {
		if !slices.ContainsFunc(want, func(w events.Policy) bool { return w.Name == p.Name }) {
			ids = append(ids, pl.add(Change{
				Kind: KindDelete, Product: k.Product, Target: target(p.Name), Detail: "not in the spec",
				Command: events.CommandPolicyRemove, Data: &events.PolicyRemove{PolicyScope: scope, PolicyIDs: []int{p.ID}}, After: after,
			}))
		}
	}
	var kept, added []string
	for _, w := range want {
		i := slices.IndexFunc(have, func(p mend.Policy) bool { return p.Name == w.Name })
		if i < 0 {
			added = append(added, w.Name)
			ids = append(ids, pl.add(Change{
				Kind: KindCreate, Product: k.Product, Target: target(w.Name), Detail: policyDetail(w),
				Command: events.CommandPolicyAdd, Data: &events.PolicyAdd{PolicyScope: scope, Policy: w}, After: after,
			}))
			continue
		}
		kept = append(kept, w.Name)
		if samePolicy(have[i], w) {
			continue
		}
		upd := w
		upd.ID = have[i].ID
		ids = append(ids, pl.add(Change{
			Kind: KindChange, Product: k.Product, Target: target(w.Name), Detail: policyDetail(w),
			Command: events.CommandPolicyUpdate, Data: &events.PolicyUpdate{PolicyScope: scope, Policy: upd}, After: after,
		}))
	}
	if needsReorder(have, want, kept, added) {
		names := make([]string, len(want))
		for i, w := range want {
			names[i] = w.Name
		}
		ids = append(ids, pl.add(Change{
			Kind: KindChange, Product: k.Product, Target: "the order of the policies at " + k.String(), Detail: strings.Join(quoteAll(names), " > "),
			Command: events.CommandPolicyReorder, Data: &events.PolicyReorder{PolicyScope: scope, PolicyNames: names}, After: slices.Concat(after, ids),
		}))
	}
	if len(ids) > 0 {
		level := map[bool]string{true: events.ScopeProject, false: events.ScopeProduct}[k.Project != ""]
		if k.Product == "" {
			level = events.ScopeOrganization
		}
		pl.add(Change{
			Kind: KindChange, Product: k.Product, Target: "the policies of " + k.String(), Detail: "apply them to the inventory",
			Command: events.CommandPoliciesApply,
			Data: &events.PoliciesApply{
				OrgToken: scope.OrgToken, Scope: level, Token: scope.Token, ProductName: scope.ProductName, ProjectName: scope.ProjectName,
			},
			After: slices.Concat(after, ids),
		})
	}
	return nil
}

// wantPolicies are the policies the spec gives a scope, highest priority
// first: those of every entry governing it, in the spec's order.
func (pl *planner) wantPolicies(k ScopeKey) ([]events.Policy, bool, error) {
	if k.Project != "" && !pl.d.has(k) {
		return nil, false, nil
	}
	var want []events.Policy
	from := map[string]string{}
	governed := false
	for i := range pl.spec.Policies {
		e := &pl.spec.Policies[i]
		if !e.governs(k) {
			continue
		}
		governed = true
		for _, p := range e.Policies {
			if f, dup := from[p.Name]; dup {
				return nil, false, fmt.Errorf("%s: policy %q is given to %s by %s as well: a scope's policy names must differ", e.Field, p.Name, k, f)
			}
			from[p.Name] = e.Field
			want = append(want, p)
		}
	}
	return want, governed, nil
}

// scopeOf is how the commands name a scope: by token when Mend has it, by
// names when the plan creates it, after the change that does.
func (pl *planner) scopeOf(k ScopeKey) (events.PolicyScope, []string) {
	org := pl.spec.Organization
	switch {
	case k.Product == "":
		return events.PolicyScope{OrgToken: org, Scope: events.ScopeOrganization}, nil
	case k.Project == "":
		if p := pl.products[k.Product]; p != nil {
			return events.PolicyScope{OrgToken: org, Scope: events.ScopeProduct, Token: p.Token}, nil
		}
		return events.PolicyScope{OrgToken: org, Scope: events.ScopeProduct, ProductName: k.Product}, idList(pl.created[k])
	default:
		if p := pl.inMend[k]; p != nil {
			return events.PolicyScope{OrgToken: org, Scope: events.ScopeProject, Token: p.Token}, nil
		}
		return events.PolicyScope{OrgToken: org, Scope: events.ScopeProject, ProductName: k.Product, ProjectName: k.Project}, idList(pl.created[k])
	}
}

func idList(id string) []string {
	if id == "" {
		return nil
	}
	return []string{id}
}

// needsReorder reports whether the policies would not end in the spec's
// order without a reorder. Mend gives an added policy the top priority,
// and the plan's additions may be carried out in any order: only a single
// addition at the top of the spec's list lands in its place.
func needsReorder(have []mend.Policy, want []events.Policy, kept, added []string) bool {
	if len(want) < 2 {
		return false
	}
	// The kept policies in Mend's order, highest first.
	var order []string
	for _, p := range have {
		if slices.Contains(kept, p.Name) {
			order = append(order, p.Name)
		}
	}
	switch len(added) {
	case 0:
	case 1:
		if want[0].Name != added[0] {
			return true
		}
		order = append([]string{added[0]}, order...)
	default:
		return true
	}
	for i, w := range want {
		if order[i] != w.Name {
			return true
		}
	}
	return false
}

// samePolicy reports whether a policy Mend holds is the spec's: the same
// owner, filter, action and inclusiveness. Mend answers licenses with
// their ids and every filter with score fields, which the spec leaves out.
func samePolicy(have mend.Policy, want events.Policy) bool {
	if want.Owner == nil || !strings.EqualFold(have.Owner.Email, want.Owner.Email) {
		return false
	}
	if have.Inclusive != (want.Inclusive != nil && *want.Inclusive) {
		return false
	}
	return sameJSON(comparableFilter(have.Filter), comparableFilter(*want.Filter)) && sameJSON(have.Action, *want.Action)
}

// comparableFilter is a filter as JSON without what Mend adds to it:
// license ids (the spec names licenses) and score fields.
func comparableFilter(f any) map[string]any {
	b, _ := json.Marshal(f)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	delete(m, "scoreFrom")
	delete(m, "scoreTo")
	if lics, ok := m["licenses"].([]any); ok {
		names := make([]string, 0, len(lics))
		for _, l := range lics {
			if o, ok := l.(map[string]any); ok {
				name, _ := o["name"].(string)
				names = append(names, name)
			}
		}
		slices.Sort(names)
		m["licenses"] = names
	}
	return m
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func policyDetail(p events.Policy) string {
	d := p.Filter.Type + " → " + p.Action.Type
	if p.Owner != nil && p.Owner.Email != "" {
		d += ", owner " + p.Owner.Email
	}
	return d
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}
