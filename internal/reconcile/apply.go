package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
)

// Applier carries out a plan through the pipeline: it queues each change
// once the changes it follows are done, and reads how each ended from the
// result events whose causationid is its id. mendflowctl reconcile apply
// and the worker's reconcile command share it.
type Applier struct {
	Progress *Progress
	// Start is the sequence of MENDFLOW_EVENTS from which the results of
	// the commands queued are read.
	Start uint64
	// Duplicates counts the changes found queued before, by an earlier
	// apply of the same change.
	Duplicates int
	// LookedBack is set once the results older than Start were read.
	LookedBack bool
	// Batch bounds the commands one publish stores, all acknowledged
	// within one publish timeout (0: no bound).
	Batch int

	pub         *bus.Publisher
	js          jetstream.JetStream
	link        bus.Link
	correlation string
}

// NewApplier returns an applier of progress's plan queuing through pub,
// its commands tied to link or, with the zero Link, correlated by
// correlation (see Queue). Results are read from start.
func NewApplier(progress *Progress, pub *bus.Publisher, js jetstream.JetStream, link bus.Link, correlation string, start uint64) *Applier {
	return &Applier{Progress: progress, Start: start, pub: pub, js: js, link: link, correlation: correlation}
}

// Step queues the changes ready to go, and returns how many it queued. A
// change queued before (a duplicate at the publisher: the same plan
// applied again, or a rerun after a crash) may have ended before Start:
// the first time one is met, the results of the stream's duplicate window
// before Start are read too.
func (a *Applier) Step(ctx context.Context) (int, error) {
	queued := 0
	for {
		ready := a.Progress.Ready()
		if len(ready) == 0 {
			return queued, nil
		}
		if a.Batch > 0 && len(ready) > a.Batch {
			ready = ready[:a.Batch]
		}
		stored, dups, err := Queue(ctx, a.pub, ready, a.link, a.correlation)
		for _, id := range stored {
			a.Progress.Queued(id)
		}
		queued += len(stored)
		a.Duplicates += dups
		if err != nil {
			return queued, err
		}
		if dups > 0 && !a.LookedBack {
			if err := a.LookBack(ctx); err != nil {
				return queued, err
			}
		}
		// More may be ready: the rest of a batch, or what follows changes
		// that ended before Start.
	}
}

// LookBack reads the results stored before Start within the duplicate
// window of MENDFLOW_COMMANDS.
func (a *Applier) LookBack(ctx context.Context) error {
	a.LookedBack = true
	window, err := DedupWindow(ctx, a.js)
	if err != nil {
		return fmt.Errorf("reading the duplicate window: %w", err)
	}
	_, err = ReadResults(ctx, a.js, From{Time: time.Now().Add(-window)}, a.Start, true, a.Record)
	return err
}

// Record takes a result event's news: the change whose command it answers
// ended.
func (a *Applier) Record(r Result) {
	a.Progress.End(r.CommandID, r.Type, r.Failed, r.Why)
}
