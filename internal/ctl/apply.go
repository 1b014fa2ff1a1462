package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/reconcile"
)

// applyConfig tunes an apply; tests shorten it.
type applyConfig struct {
	// every is how often the progress line is printed.
	every time.Duration
	// batch bounds the commands queued at once (0: every change ready).
	batch int
}

// reconcileApply plans a spec, or reads a plan saved by reconcile plan -o
// json, and carries it out through the pipeline (see applyPlan). Exit 0
// when every change succeeded, 1 when any failed or on error.
func reconcileApply(ctx context.Context, s *settings, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("reconcile apply", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("f", "", "the spec (YAML)")
	planFile := fs.String("plan", "", "a plan saved by reconcile plan -o json")
	timeout := fs.Duration("timeout", 0, "give up waiting for the results after this long (0: no limit)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || (*file == "") == (*planFile == "") || *timeout < 0 {
		return errUsage
	}
	var plan *reconcile.Plan
	if *planFile != "" {
		var err error
		if plan, err = readPlan(*planFile); err != nil {
			return err
		}
	} else {
		var err error
		if plan, err = planSpec(ctx, s, *file); err != nil {
			return err
		}
		if err := plan.WriteText(out); err != nil {
			return err
		}
	}
	if len(plan.Changes) == 0 {
		if *planFile != "" {
			fmt.Fprintln(out, "No changes: the plan is empty.")
		}
		return nil
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	return applyPlan(ctx, s, plan, out, applyConfig{every: time.Second, batch: 500})
}

// readPlan reads a plan that reconcile plan -o json wrote.
func readPlan(name string) (*reconcile.Plan, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var plan reconcile.Plan
	if err := json.Unmarshal(b, &plan); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if plan.Version != reconcile.PlanVersion {
		return nil, fmt.Errorf("%s: plan version %d, want %d (plan again with this mendflowctl)", name, plan.Version, reconcile.PlanVersion)
	}
	return &plan, nil
}

// applyPlan queues each change of plan on MENDFLOW_COMMANDS once the
// changes it follows are done, reads how each ended from MENDFLOW_EVENTS,
// prints a progress line on stderr every cfg.every, then a summary and
// the changes that failed. It fails when any change did not succeed, or
// when ctx ends first: a rerun queues nothing twice (see
// reconcile.Queue) and finds the results of what ended.
func applyPlan(ctx context.Context, s *settings, plan *reconcile.Plan, out io.Writer, cfg applyConfig) error {
	progress, err := reconcile.NewProgress(plan)
	if err != nil {
		return err
	}
	nc, js, err := connectNATS(s)
	if err != nil {
		return err
	}
	defer nc.Close()
	start, err := reconcile.EventsEnd(ctx, js)
	if err != nil {
		return fmt.Errorf("MENDFLOW_EVENTS: %w", err)
	}
	correlation := plan.ID()
	a := reconcile.NewApplier(progress, bus.NewPublisher(js, bus.WithMaxPayload(nc.MaxPayload())), js, bus.Link{}, correlation, start)
	a.Batch = cfg.batch
	fmt.Fprintf(out, "\nApplying %d changes (correlation id %s).\n", len(plan.Changes), correlation)

	// The results are read from before the first command is queued.
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	results := make(chan reconcile.Result, 256)
	readErr := make(chan error, 1)
	go func() {
		_, err := reconcile.ReadResults(readCtx, js, reconcile.From{Seq: start}, 0, false, func(r reconcile.Result) {
			select {
			case results <- r:
			case <-readCtx.Done():
			}
		})
		readErr <- err
	}()

	began := time.Now()
	tick := time.NewTicker(cfg.every)
	defer tick.Stop()
	_, err = a.Step(ctx)
	for err == nil && !progress.Finished() {
		select {
		case r := <-results:
			a.Record(r)
			for more := true; more; { // take what else is there before queuing
				select {
				case r := <-results:
					a.Record(r)
				default:
					more = false
				}
			}
			_, err = a.Step(ctx)
		case <-tick.C:
			printProgress(s.stderr, progress.Counts(), len(plan.Changes), time.Since(began))
		case err = <-readErr:
			if err == nil {
				err = ctx.Err()
			}
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	printProgress(s.stderr, progress.Counts(), len(plan.Changes), time.Since(began))
	return applySummary(out, a, time.Since(began), err)
}

func printProgress(w io.Writer, c reconcile.Counts, total int, took time.Duration) {
	fmt.Fprintf(w, "apply: %d of %d ended (%d done, %d failed, %d skipped), %d queued, %d waiting, %s\n",
		c.Ended(), total, c.Done, c.Failed, c.Skipped, c.Queued, c.Waiting, took.Round(100*time.Millisecond))
}

// applySummary prints how the apply ended and the changes that did not
// succeed, and returns why it failed: err, or the count of those changes.
func applySummary(out io.Writer, a *reconcile.Applier, took time.Duration, err error) error {
	c := a.Progress.Counts()
	total := len(a.Progress.Plan().Changes)
	fmt.Fprintf(out, "\nApplied %d of %d changes in %s: %d done, %d failed, %d skipped", c.Ended(), total, took.Round(10*time.Millisecond), c.Done, c.Failed, c.Skipped)
	if a.Duplicates > 0 {
		fmt.Fprintf(out, " (%d queued before, not queued again)", a.Duplicates)
	}
	fmt.Fprintln(out, ".")
	if bad := a.Progress.Unsuccessful(); len(bad) > 0 {
		fmt.Fprintln(out, "Not applied:")
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for _, o := range bad {
			target := o.Change.Target
			if o.Change.Product != "" {
				target += " (product " + o.Change.Product + ")"
			}
			fmt.Fprintf(tw, "  %s %s\t%s\t%s\t%s: %s\n", o.Change.Kind.Symbol(), target, o.Change.Command, o.Change.ID, o.Status, o.Why)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	switch {
	case err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return fmt.Errorf("stopped with %d of %d changes not ended (%d queued, %d not queued yet): apply again to go on; what is queued is not queued twice",
			total-c.Ended(), total, c.Queued, c.Waiting)
	case err != nil:
		return err
	case c.Failed+c.Skipped > 0:
		return fmt.Errorf("%d of %d changes failed and %d were skipped", c.Failed, total, c.Skipped)
	}
	return nil
}
