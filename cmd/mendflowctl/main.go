// Command mendflowctl is the operator's tool for mendflow: it sends events
// to ingest, follows result events and whole chains, tests rules files,
// shows the state of the streams, replays dead letters, plans and applies
// reconciles and measures the pipeline under load.
//
//	mendflowctl send [-dry-run] -file FILE                  a CloudEvent (structured JSON) or a batch (JSON array)
//	mendflowctl send [-dry-run] -type T [-source S] [-id ID] [-subject S] [-data JSON|@FILE]
//	mendflowctl send [-dry-run] -github EVENT [-id DELIVERY] -file PAYLOAD
//	mendflowctl send [-dry-run] -gitlab [-id UUID] -file PAYLOAD
//	mendflowctl events tail [-since DURATION | -all] [-type GLOB] [-correlation ID,...] [-subject GLOB] [-n N] [-timeout D] [-json]
//	mendflowctl rules test [-rules FILE] -event FILE
//	mendflowctl trace ID [-json] [-follow] [-interval D]    an event's chain: commands, attempts, results, poller
//	mendflowctl status
//	mendflowctl dlq list [-command NAME]                    list the dead letters
//	mendflowctl dlq inspect SEQ                             show one, with its command
//	mendflowctl dlq replay [-keep] SEQ... | -all            queue their commands again
//	mendflowctl bench [-n N] [-c CONCURRENCY] [-timeout D]  project.create commands end to end
//	mendflowctl reconcile plan -f SPEC [-o text|json]       the changes that bring Mend to a spec
//	mendflowctl reconcile apply -f SPEC | -plan PLAN.json [-timeout D]   queue them, follow them
//	mendflowctl reconcile put NAME -f SPEC | get NAME | list | delete NAME   the stored specs
//
// It reads NATS_URL, INGEST_URL, INGEST_AUTH_TOKEN, GITHUB_WEBHOOK_SECRET and
// GITLAB_WEBHOOK_TOKEN from the environment, reconcile the worker's MEND_*
// variables and the SCM tokens its spec names (GITHUB_TOKEN, GITLAB_TOKEN),
// and never prints the secrets.
//
// reconcile plan exits 2 when Mend differs from the spec, 0 when it does
// not, and 1 on any error; reconcile apply exits 0 when every change
// succeeded, 1 when any did not or on any error.
//
// A replayed command goes back to mendflow.cmd.<name> as it came, marked
// as a replay, and its dead letter is removed unless -keep is given; if it
// fails again, it comes back as a new dead letter.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/ctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := ctl.Main(ctx, os.Args[1:], envconfig.OsLookuper(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
