package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/reconcile"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/handlers"
	"github.com/mendflow/mendflow/pkg/mend"
)

// runsBucket is the object store keeping each reconcile command's plan
// and how far its changes went, by command id: what a later delivery of
// the command, on any worker, goes on from.
const runsBucket = "MENDFLOW_RECONCILE_RUNS"

// reconcileSettings tune the reconcile command.
type reconcileSettings struct {
	// Poll is how often a reconcile whose commands are running looks at
	// their results again (the delay of its next delivery).
	Poll time.Duration `env:"WORKER_RECONCILE_POLL, default=2s"`
	// Keep is how long the record of a reconcile is kept.
	Keep time.Duration `env:"WORKER_RECONCILE_KEEP, default=168h"`
	// Schedule, when set, queues a reconcile of each of Specs every
	// Schedule (see schedule); Prune is the commands' prune.
	Schedule time.Duration `env:"WORKER_RECONCILE_SCHEDULE"`
	Specs    []string      `env:"WORKER_RECONCILE_SPECS"`
	Prune    bool          `env:"WORKER_RECONCILE_PRUNE"`
}

// minSchedule bounds how often a schedule may reconcile: planning reads
// every product of the organization.
const minSchedule = time.Minute

// Validate implements config.Validator.
func (s reconcileSettings) Validate() error {
	switch {
	case s.Poll < 10*time.Millisecond:
		return fmt.Errorf("WORKER_RECONCILE_POLL: must be at least 10ms, not %v", s.Poll)
	case s.Keep < time.Hour:
		return fmt.Errorf("WORKER_RECONCILE_KEEP: must be at least 1h, not %v", s.Keep)
	case s.Schedule > 0 && s.Schedule < minSchedule:
		return fmt.Errorf("WORKER_RECONCILE_SCHEDULE: must be at least %v, not %v", minSchedule, s.Schedule)
	case s.Schedule > 0 && len(s.Specs) == 0:
		return fmt.Errorf("WORKER_RECONCILE_SPECS: required with WORKER_RECONCILE_SCHEDULE: the names of the specs to reconcile")
	}
	for _, name := range s.Specs {
		if !events.SpecNameRE.MatchString(name) {
			return fmt.Errorf("WORKER_RECONCILE_SPECS: %q is not a spec name", name)
		}
	}
	return nil
}

// reconciler carries out the reconcile command: it plans (reading the
// spec's sources and Mend's state), queues one command per change through
// the worker's publisher as reconcile.Applier does for mendflowctl, and
// ends once every command it queued has ended. In between it asks to be
// delivered again (bus.Later) every Poll: its record in runsBucket makes
// a delivery after a worker's restart go on where the last one stopped.
type reconciler struct {
	js     jetstream.JetStream
	pub    *bus.Publisher
	specs  *reconcile.Specs
	runs   jetstream.ObjectStore
	client *mend.Client
	org    string // MEND_ORG_TOKEN
	src    reconcile.SourceOptions
	poll   time.Duration
	cfg    reconcileSettings
	logger *slog.Logger
}

// openReconcileStores opens the specs' bucket and the runs' object store,
// creating them when missing.
func openReconcileStores(ctx context.Context, js jetstream.JetStream, cfg settings) (*reconcile.Specs, jetstream.ObjectStore, error) {
	specs, err := reconcile.OpenSpecs(ctx, js, true, cfg.Streams.Replicas)
	if err != nil {
		return nil, nil, err
	}
	runs, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: runsBucket, Description: "mendflow worker: the plan of each reconcile command and how far it went",
		TTL: cfg.Reconcile.Keep, Replicas: cfg.Streams.Replicas, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("object store %s: %w", runsBucket, err)
	}
	return specs, runs, nil
}

// newReconciler is the reconcile command's handler over the stores of
// openReconcileStores.
func newReconciler(js jetstream.JetStream, specs *reconcile.Specs, runs jetstream.ObjectStore, pub *bus.Publisher, client *mend.Client, cfg settings, logger *slog.Logger) *reconciler {
	getenv := cfg.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return &reconciler{
		js: js, pub: pub, specs: specs, runs: runs, client: client, org: cfg.OrgToken,
		src:  reconcile.SourceOptions{Getenv: getenv, HTTPClient: &http.Client{Timeout: time.Minute}},
		poll: cfg.Reconcile.Poll, cfg: cfg.Reconcile, logger: logger,
	}
}

// runRecord is a reconcile command's record.
type runRecord struct {
	Spec     string          `json:"spec,omitempty"`
	OrgToken string          `json:"orgToken"`
	Plan     *reconcile.Plan `json:"plan"`
	// Start is where the results of its commands begin on
	// MENDFLOW_EVENTS, Cursor where the next delivery reads on.
	Start      uint64            `json:"start"`
	Cursor     uint64            `json:"cursor"`
	LookedBack bool              `json:"lookedBack,omitempty"`
	Duplicates int               `json:"duplicates,omitempty"`
	Entries    []reconcile.Entry `json:"entries,omitempty"`
}

// handle is the reconcile command's handler.
func (r *reconciler) handle(ctx context.Context, cmd *handlers.Delivery, d *events.Reconcile) (handlers.Result, error) {
	rec, err := r.load(ctx, cmd.ID())
	if err != nil {
		return handlers.Result{}, bus.Transient(bus.ReasonTransient, err)
	}
	if rec == nil {
		if rec, err = r.start(ctx, cmd, d); err != nil || rec == nil {
			return handlers.Result{}, err
		}
	}
	progress, err := reconcile.NewProgress(rec.Plan)
	if err != nil {
		return handlers.Result{}, bus.Permanent(events.FailInvalid, err)
	}
	progress.Restore(rec.Entries)
	a := reconcile.NewApplier(progress, r.pub, r.js, bus.Answering(cmd.Event), "", rec.Start)
	a.LookedBack, a.Duplicates, a.Batch = rec.LookedBack, rec.Duplicates, 500
	next, err := reconcile.ReadResults(ctx, r.js, reconcile.From{Seq: rec.Cursor}, 0, true, a.Record)
	if err != nil {
		return handlers.Result{}, bus.Transient(bus.ReasonTransient, err)
	}
	rec.Cursor = max(rec.Cursor, next)
	_, stepErr := a.Step(ctx)
	rec.Entries, rec.LookedBack, rec.Duplicates = progress.Entries(), a.LookedBack, a.Duplicates
	if err := r.save(ctx, cmd.ID(), rec); err != nil {
		return handlers.Result{}, bus.Transient(bus.ReasonTransient, err)
	}
	if stepErr != nil {
		return handlers.Result{}, stepErr // a *bus.PublishError: queued again on the next delivery
	}
	if !progress.Finished() {
		c := progress.Counts()
		return handlers.Result{}, bus.Later(r.poll, fmt.Sprintf("reconcile: %d of %d changes not ended", len(rec.Plan.Changes)-c.Ended(), len(rec.Plan.Changes)), nil)
	}
	return handlers.Result{Type: events.TypeReconcileApplied, Data: applied(rec, a)}, nil
}

// start plans the reconcile and publishes its plan. It returns the record
// of the commands to queue, or nil when there are none (a dry run, an
// empty plan: the reconcile is done).
func (r *reconciler) start(ctx context.Context, cmd *handlers.Delivery, d *events.Reconcile) (*runRecord, error) {
	name := d.SpecName()
	var spec *reconcile.Spec
	var err error
	if name != "" {
		spec, err = r.specs.Load(ctx, name, r.src)
	} else {
		spec, err = reconcile.ParseSpec("the command's spec", d.Spec)
	}
	switch {
	case errors.Is(err, reconcile.ErrNoSpec), errors.Is(err, reconcile.ErrInvalidSpec):
		return nil, bus.Permanent(events.FailInvalid, err)
	case err != nil:
		return nil, bus.Transient(bus.ReasonTransient, err)
	}
	if !d.Prune {
		spec.Prune.Action = reconcile.PruneNone
	}
	org := d.OrgToken
	if org == "" {
		org = r.org
	}
	if spec.Organization != "" {
		org = spec.Organization
	}
	start, err := reconcile.EventsEnd(ctx, r.js)
	if err != nil {
		return nil, bus.Transient(bus.ReasonTransient, err)
	}
	plan, err := reconcile.MakePlan(ctx, spec, r.src, reconcile.ClientMend{Client: r.client, OrgToken: org}, org)
	var limit *reconcile.PruneLimitError
	switch {
	case errors.As(err, &limit):
		return nil, bus.Permanent(events.FailPermanent, err)
	case err != nil && mend.IsTransient(err):
		return nil, err // the worker's failures read Mend's Retry-After
	case err != nil:
		return nil, bus.Transient(bus.ReasonTransient, err)
	}
	rec := &runRecord{Spec: name, OrgToken: org, Plan: plan, Start: start, Cursor: start}
	planned := events.ReconcilePlanned{
		OrgToken: org, Spec: name, DryRun: d.DryRun, Repositories: plan.Repositories, MendProjects: plan.Projects,
		Create: plan.Summary.Create, Change: plan.Summary.Change, Delete: plan.Summary.Delete,
		ByCommand: map[string]int{}, Changes: []events.PlannedChange{},
	}
	for i, c := range plan.Changes {
		planned.ByCommand[c.Command]++
		if i < events.MaxReportedChanges {
			planned.Changes = append(planned.Changes, plannedChange(c))
		}
	}
	planned.Omitted = len(plan.Changes) - len(planned.Changes)
	e, err := bus.NewEvent(answerID(cmd.ID(), "planned"), source, events.TypeReconcilePlanned, planned)
	if err != nil {
		return nil, err
	}
	if _, err := r.pub.PublishEvent(ctx, events.ResultSubject(events.TypeReconcilePlanned), e, bus.Answering(cmd.Event)); err != nil {
		return nil, err
	}
	if d.DryRun {
		return nil, nil
	}
	// Recorded before any command is queued: a later delivery goes on with
	// this plan rather than one made after part of it is done.
	if err := r.save(ctx, cmd.ID(), rec); err != nil {
		return nil, bus.Transient(bus.ReasonTransient, err)
	}
	return rec, nil
}

func plannedChange(c reconcile.Change) events.PlannedChange {
	return events.PlannedChange{ID: c.ID, Kind: string(c.Kind), Product: c.Product, Target: c.Target, Detail: c.Detail, Command: c.Command}
}

// applied is the data of the reconcile's applied event.
func applied(rec *runRecord, a *reconcile.Applier) events.ReconcileApplied {
	c := a.Progress.Counts()
	out := events.ReconcileApplied{
		OrgToken: rec.OrgToken, Spec: rec.Spec, Changes: len(rec.Plan.Changes),
		Done: c.Done, Failed: c.Failed, Skipped: c.Skipped, Duplicates: a.Duplicates,
	}
	bad := a.Progress.Unsuccessful()
	for i, o := range bad {
		if i == events.MaxReportedChanges {
			out.Omitted = len(bad) - i
			break
		}
		out.Failures = append(out.Failures, events.ReconcileFailure{PlannedChange: plannedChange(o.Change), Status: string(o.Status), Error: o.Why})
	}
	return out
}

// answerID is the id of an event answering the command id, of a kind:
// the same for every delivery, so that the events stream keeps one.
func answerID(commandID, kind string) string {
	sum := sha256.Sum256([]byte(commandID + "\x00" + kind))
	return hex.EncodeToString(sum[:16])
}

// load reads the record of a reconcile command; nil when it has none.
func (r *reconciler) load(ctx context.Context, id string) (*runRecord, error) {
	b, err := r.runs.GetBytes(ctx, id)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the reconcile's record: %w", err)
	}
	var rec runRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("reading the reconcile's record: %w", err)
	}
	return &rec, nil
}

// save writes the record of a reconcile command. Deliveries of one
// command do not run at once (handlers.Serialize), so the last write is
// the record.
func (r *reconciler) save(ctx context.Context, id string, rec *runRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := r.runs.PutBytes(ctx, id, b); err != nil {
		return fmt.Errorf("writing the reconcile's record: %w", err)
	}
	return nil
}

// schedule queues a reconcile of each spec of WORKER_RECONCILE_SPECS at
// the start of every slot of WORKER_RECONCILE_SCHEDULE (slots counted from
// the zero time, so 1h slots begin on the hour, UTC), and at once for the
// slot a worker starts in, until ctx ends. Every worker does so: the
// command's id, and Nats-Msg-Id, is the spec's name and the slot
// (reconcile:NAME@2026-12-07T10:00:00Z), so that MENDFLOW_COMMANDS stores
// one per spec and slot, however many workers run (within
// STREAM_DEDUP_WINDOW, which a slot longer than the window outlasts).
func (r *reconciler) schedule(ctx context.Context) {
	if r.cfg.Schedule <= 0 {
		return
	}
	for {
		slot := time.Now().UTC().Truncate(r.cfg.Schedule)
		r.queueSlot(ctx, slot)
		t := time.NewTimer(time.Until(slot.Add(r.cfg.Schedule)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// queueSlot queues the slot's reconcile of each spec.
func (r *reconciler) queueSlot(ctx context.Context, slot time.Time) {
	for _, name := range r.cfg.Specs {
		id := "reconcile:" + name + "@" + slot.Format(time.RFC3339)
		e, err := bus.NewEvent(id, source, events.CommandType(events.CommandReconcile), events.Reconcile{Spec: json.RawMessage(strconv.Quote(name)), Prune: r.cfg.Prune})
		if err != nil {
			r.logger.Error("reconcile not scheduled", "spec", name, "error", err)
			continue
		}
		ack, err := r.pub.PublishEvent(ctx, events.CommandSubject(events.CommandReconcile), e, bus.Link{})
		if err != nil {
			// The next slot tries again; another worker may have queued it.
			r.logger.Warn("reconcile not scheduled", "spec", name, "slot", slot, "error", err)
			continue
		}
		r.logger.Info("reconcile scheduled", "spec", name, "slot", slot, "id", id, "duplicate", ack.Duplicate)
	}
}
