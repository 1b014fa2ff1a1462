package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/mendflow/mendflow/internal/budget"
	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/handlers"
	"github.com/mendflow/mendflow/pkg/mend"
)

// source is the CloudEvents source of what the worker publishes.
const source = "/mendflow/worker"

// executor carries out the commands the runner delivers: it hands each to
// the handlers, reads what their failure says, and publishes the result
// event and the Track item of a success.
type executor struct {
	handle   handlers.Handler
	failures failures
	pub      *bus.Publisher
	budget   *budget.Budget
}

// carryOut is the runner's handler of a command. A command that succeeded
// is done once its result is stored: a result that cannot be stored is a
// failure like any other, decided by the runner. Should the result be
// stored and the ack be lost, the command comes back later and its handler
// finds its effect already made.
func (x *executor) carryOut(ctx context.Context, d *bus.Delivery) error {
	name := commandOfSubject(d.Msg.Subject())
	span := trace.SpanFromContext(ctx)
	span.SetName("command " + name)
	span.SetAttributes(attribute.String("mendflow.command", name))
	// The command's calls take their turns, by command, in the budget of
	// the organization it names.
	ctx = mend.WithClass(ctx, name)
	org := orgOfCommand(d.Event.Data())
	if org != "" {
		ctx = mend.WithOrg(ctx, org)
	}
	cmd := &handlers.Delivery{
		Event: d.Event, Attempt: d.Attempt, Seq: d.Seq, Published: d.Published,
		Replay: d.Msg.Headers().Get(bus.HeaderReplayOf),
	}
	var (
		res handlers.Result
		err error
	)
	if held := x.budget.SetAside(org); held != nil {
		// Its organization's budget is spoken for: the command gives way
		// before it begins, at no cost to the store or to Mend, rather
		// than hold a place another organization's command could use.
		d.Label = name
		err = held
	} else {
		res, err = x.handle(ctx, cmd)
		d.Label = cmd.Name
	}
	if err != nil {
		instead, err := x.failures.read(cmd, err)
		if err != nil {
			return err
		}
		res = *instead
	}
	// The effect is made: its answer is stored even while the worker
	// stops, within the publish timeout.
	return x.answer(context.WithoutCancel(ctx), d, res)
}

// answer publishes the result event of a command that succeeded, then the
// poller's Track item. A failure to store them is a *bus.PublishError.
func (x *executor) answer(ctx context.Context, d *bus.Delivery, res handlers.Result) error {
	d.Note("result", res.Type)
	if res.Type != "" {
		if err := x.publish(ctx, d, events.ResultSubject(res.Type), res.Type, "result", res.Data); err != nil {
			return err
		}
	}
	if res.Track == nil {
		return nil
	}
	if err := res.Track.Validate(); err != nil {
		return err
	}
	return x.publish(ctx, d, events.TrackSubject(res.Track.Kind), events.TrackType(res.Track.Kind), "track", res.Track)
}

// publish publishes an event of type typ answering the command, with the
// id the delivery derives for kind.
func (x *executor) publish(ctx context.Context, d *bus.Delivery, subject, typ, kind string, data any) error {
	e, err := bus.NewEvent(d.AnswerID(kind), source, typ, data)
	if err != nil {
		return fmt.Errorf("%s: %w", typ, err)
	}
	_, err = x.pub.PublishEvent(ctx, subject, e, bus.Answering(d.Event))
	return err
}

// commandOfSubject is the command name of a subject mendflow.cmd.<name>
// (the consumer takes no other).
func commandOfSubject(subject string) string {
	name, _ := strings.CutPrefix(subject, events.CommandSubject(""))
	return name
}

// orgOfCommand is the orgToken a command's data names, which any command
// may (the contract): "" for MEND_ORG_TOKEN's.
func orgOfCommand(data []byte) string {
	var named struct {
		OrgToken string `json:"orgToken"`
	}
	_ = json.Unmarshal(data, &named) // not JSON: the handler says so
	return named.OrgToken
}
