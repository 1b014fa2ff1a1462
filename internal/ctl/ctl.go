// Package ctl is mendflowctl's core: the operator's subcommands, which
// send events to ingest, follow result events, test rules files, show the
// state of the streams, replay dead letters, plan reconciles and measure
// the pipeline under load. cmd/mendflowctl's doc comment lists them.
package ctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/config"
	"github.com/mendflow/mendflow/internal/redact"
)

// Main runs mendflowctl with args (without the program's name) until it
// is done or ctx ends, and returns its exit status; see exitCode.
func Main(ctx context.Context, args []string, env envconfig.Lookuper, stdout, stderr io.Writer) int {
	return exitCode(runMain(ctx, args, env, stdout, stderr), stderr)
}

// exitCode reports err on stderr and returns the exit status: 2 with the
// usage for bad flags, 1 with one line for any other failure, whatever
// lines the error spans (errors.Join, a cause of several lines).
func exitCode(err error, stderr io.Writer) int {
	switch {
	case errors.Is(err, errDrift):
		return 2
	case errors.Is(err, errUsage):
		fmt.Fprint(stderr, usage)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "mendflowctl:", strings.Join(strings.Fields(err.Error()), " "))
		return 1
	}
	return 0
}

const usage = `usage:
  mendflowctl send [-dry-run] -file FILE                       a CloudEvent (JSON object) or a batch (JSON array)
  mendflowctl send [-dry-run] -type TYPE [-source SOURCE] [-id ID] [-subject SUBJECT] [-data JSON|@FILE]
  mendflowctl send [-dry-run] -github EVENT [-id DELIVERY] -file PAYLOAD
  mendflowctl send [-dry-run] -gitlab [-id UUID] -file PAYLOAD
  mendflowctl events tail [-since DURATION | -all] [-type GLOB] [-correlation ID[,ID...]] [-subject GLOB]
                          [-n COUNT] [-timeout DURATION] [-json]
  mendflowctl rules test [-rules FILE] -event FILE
  mendflowctl trace ID [-json] [-follow] [-interval DURATION]   an event's chain: commands, attempts, results, poller
  mendflowctl status
  mendflowctl dlq list [-command NAME]
  mendflowctl dlq inspect SEQ
  mendflowctl dlq replay [-keep] SEQ... | -all
  mendflowctl bench [-n COUNT] [-c CONCURRENCY] [-timeout DURATION] [-kind project.create|repository.created]
                    [-over DURATION] [-mendsim URL [-storm AT,FOR,RETRY-AFTER]]
                    [-quiet-org TOKEN [-quiet-every DURATION]]
  mendflowctl reconcile plan -f SPEC [-o text|json]            exit 2: changes, 0: none, 1: error
  mendflowctl reconcile apply -f SPEC | -plan PLAN.json [-timeout DURATION]
                                                               exit 0: all done, 1: any failed
  mendflowctl reconcile put NAME -f SPEC | get NAME | list | delete NAME
  mendflowctl reconcile put NAME -github OWNER/REPO | -gitlab GROUP/PROJECT -path PATH [-ref REF] [-url URL]
                          [-token-env VAR]
                                                               the specs the reconcile command reads
environment:
  NATS_URL               default nats://127.0.0.1:4222
  INGEST_URL             default http://127.0.0.1:8080
  INGEST_AUTH_TOKEN      bearer token for POST /events, when ingest requires one
  GITHUB_WEBHOOK_SECRET  signs send -github
  GITLAB_WEBHOOK_TOKEN   authenticates send -gitlab
  MEND_URL, MEND_USER_KEY, MEND_ORG_TOKEN, MEND_API_URL, MEND_RATE_LIMIT, ...
                         reconcile: Mend, as the worker reaches it
  GITHUB_TOKEN, GITLAB_TOKEN
                         reconcile: the tokens of the spec's sources (or the variables tokenEnv names)
  STREAM_REPLICAS        reconcile put: replicas of the specs' bucket when it creates it (default 1)
`

// errUsage reports a command line that names no known subcommand, or bad
// flags or arguments for one.
var errUsage = errors.New("usage")

// settings is mendflowctl's environment.
type settings struct {
	NATSURL      string `env:"NATS_URL, default=nats://127.0.0.1:4222"`
	IngestURL    string `env:"INGEST_URL, default=http://127.0.0.1:8080"`
	AuthToken    string `env:"INGEST_AUTH_TOKEN"`
	GitHubSecret string `env:"GITHUB_WEBHOOK_SECRET"`
	GitLabToken  string `env:"GITLAB_WEBHOOK_TOKEN"`

	// env is the environment itself, for the subcommands that read
	// variables of their own.
	env envconfig.Lookuper
	// stderr takes the progress of the subcommands that show it.
	stderr io.Writer
}

// subcommand runs one subcommand with its arguments (after its name).
type subcommand func(ctx context.Context, s *settings, args []string, out io.Writer) error

// lookup is the subcommand of that name, one or two words, or nil.
func lookup(name string) subcommand {
	switch name {
	case "send":
		return send
	case "events tail":
		return tail
	case "rules test":
		return rulesTest
	case "status":
		return status
	case "bench":
		return bench
	case "reconcile plan":
		return reconcilePlan
	case "reconcile apply":
		return reconcileApply
	case "reconcile put":
		return reconcilePut
	case "reconcile get":
		return reconcileGet
	case "reconcile list":
		return reconcileList
	case "reconcile delete":
		return reconcileDelete
	case "trace":
		return traceCmd
	case "dlq list":
		return withDLQ((*dlq).list)
	case "dlq inspect":
		return withDLQ((*dlq).inspect)
	case "dlq replay":
		return withDLQ((*dlq).replay)
	}
	return nil
}

// realMain runs the subcommand args names, writing its output to out and
// no progress.
func realMain(ctx context.Context, args []string, env envconfig.Lookuper, out io.Writer) error {
	return runMain(ctx, args, env, out, io.Discard)
}

// runMain is realMain showing progress on stderr.
func runMain(ctx context.Context, args []string, env envconfig.Lookuper, out, stderr io.Writer) error {
	var run subcommand
	var rest []string
	for n := min(2, len(args)); n >= 1 && run == nil; n-- { // two-word names first: "events tail"
		run, rest = lookup(strings.Join(args[:n], " ")), args[n:]
	}
	if run == nil {
		return errUsage
	}
	var s settings
	if err := config.Load(ctx, env, &s); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	s.env, s.stderr = env, stderr
	return run(ctx, &s, rest, out)
}

// connectNATS connects to NATS_URL; the caller closes the connection.
// Errors never hold the URL, which may hold a password.
func connectNATS(s *settings) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(s.NATSURL, nats.Name("mendflowctl"))
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to NATS_URL: %w", redact.Error(err))
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("JetStream: %w", err)
	}
	return nc, js, nil
}
