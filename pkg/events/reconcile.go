package events

import (
	"bytes"
	"encoding/json"
	"regexp"
)

// CommandReconcile is the contract's reconcile command: bring Mend to a
// desired-state spec.
const CommandReconcile = "reconcile"

// The result events of a reconcile.
const (
	// TypeReconcilePlanned: the reconcile's plan (ReconcilePlanned).
	TypeReconcilePlanned = "io.mendflow.reconcile.planned"
	// TypeReconcileApplied: every command it queued has ended
	// (ReconcileApplied).
	TypeReconcileApplied = "io.mendflow.reconcile.applied"
)

// Reconcile is the data of the reconcile command. Spec is either the name
// of a spec stored with mendflowctl reconcile put (a JSON string), or the
// spec itself (a JSON object, the spec's YAML as JSON). Prune lets the
// spec's prune section act; without it, no project is tagged or deleted
// for being unmapped, whatever the spec says. DryRun plans and reports
// the plan, and queues nothing.
type Reconcile struct {
	OrgToken string          `json:"orgToken,omitempty"`
	Spec     json.RawMessage `json:"spec"`
	Prune    bool            `json:"prune,omitempty"`
	DryRun   bool            `json:"dryRun,omitempty"`
}

// SpecNameRE is the form of a stored spec's name: a key of the specs'
// key-value bucket that reads well in a command.
var SpecNameRE = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$`)

// SpecName is the name of the stored spec the command names, or "" when
// it holds its spec inline.
func (c *Reconcile) SpecName() string {
	var name string
	if json.Unmarshal(c.Spec, &name) != nil {
		return ""
	}
	return name
}

// Validate implements CommandData.
func (c *Reconcile) Validate() error {
	spec := bytes.TrimSpace(c.Spec)
	switch {
	case len(spec) == 0 || string(spec) == "null":
		return fieldError(CommandReconcile, "spec is required: the name of a stored spec, or the spec as an object")
	case spec[0] == '"':
		if name := c.SpecName(); !SpecNameRE.MatchString(name) {
			return fieldError(CommandReconcile, "spec: %q is not a spec name (letters, digits, '.', '_' and '-', at most 128)", name)
		}
	case spec[0] != '{':
		return fieldError(CommandReconcile, "spec: expected the name of a stored spec (a string) or the spec (an object)")
	}
	return nil
}

// ReconcilePlanned is the data of io.mendflow.reconcile.planned: the plan
// counted by kind and by command, and its first changes (at most
// MaxReportedChanges; Omitted counts the rest).
type ReconcilePlanned struct {
	OrgToken string `json:"orgToken"`
	// Spec is the stored spec's name; empty for a spec given inline.
	Spec         string          `json:"spec,omitempty"`
	DryRun       bool            `json:"dryRun,omitempty"`
	Repositories int             `json:"repositories"`
	MendProjects int             `json:"mendProjects"`
	Create       int             `json:"create"`
	Change       int             `json:"change"`
	Delete       int             `json:"delete"`
	ByCommand    map[string]int  `json:"byCommand,omitempty"`
	Changes      []PlannedChange `json:"changes"`
	Omitted      int             `json:"omitted,omitempty"`
}

// MaxReportedChanges bounds the changes a reconcile's events list, so that
// a large plan's event stays small.
const MaxReportedChanges = 100

// PlannedChange is one change of a reconcile's plan. ID is the id of the
// command that makes it, the causationid of that command's result.
type PlannedChange struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Product string `json:"product,omitempty"`
	Target  string `json:"target"`
	Detail  string `json:"detail,omitempty"`
	Command string `json:"command"`
}

// ReconcileApplied is the data of io.mendflow.reconcile.applied: how the
// commands a reconcile queued ended, counted, and those that did not
// succeed (at most MaxReportedChanges; Omitted counts the rest).
type ReconcileApplied struct {
	OrgToken string `json:"orgToken"`
	Spec     string `json:"spec,omitempty"`
	Changes  int    `json:"changes"`
	Done     int    `json:"done"`
	Failed   int    `json:"failed"`
	Skipped  int    `json:"skipped"`
	// Duplicates counts the commands queued before, by an earlier
	// reconcile or apply of the same change.
	Duplicates int                `json:"duplicates,omitempty"`
	Failures   []ReconcileFailure `json:"failures,omitempty"`
	Omitted    int                `json:"omitted,omitempty"`
}

// ReconcileFailure is a change of a reconcile that failed, or was skipped
// because a change it follows failed.
type ReconcileFailure struct {
	PlannedChange
	Status string `json:"status"`
	Error  string `json:"error"`
}
