// Command mendflowctl is the operator's tool for mendflow. It reads its
// NATS address from NATS_URL.
//
//	mendflowctl dlq list [-command NAME]     list the dead letters
//	mendflowctl dlq inspect SEQ              show one, with its command
//	mendflowctl dlq replay [-keep] SEQ...    queue their commands again
//	mendflowctl dlq replay [-keep] -all      queue every dead letter again
//
// A replayed command goes back to mendflow.cmd.<name> as it came, marked
// as a replay, and its dead letter is removed unless -keep is given; if it
// fails again, it comes back as a new dead letter.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sethvargo/go-envconfig"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := realMain(ctx, os.Args[1:], envconfig.OsLookuper(), os.Stdout)
	switch {
	case errors.Is(err, errUsage):
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "mendflowctl:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  mendflowctl dlq list [-command NAME]
  mendflowctl dlq inspect SEQ
  mendflowctl dlq replay [-keep] SEQ... | -all
environment: NATS_URL (default nats://127.0.0.1:4222)
`

// errUsage reports a command line that names no known subcommand.
var errUsage = errors.New("usage")

// realMain runs the subcommand args names, writing its output to out.
func realMain(ctx context.Context, args []string, env envconfig.Lookuper, out io.Writer) error {
	if len(args) < 2 || args[0] != "dlq" {
		return errUsage
	}
	run, ok := map[string]func(*dlq, context.Context, []string, io.Writer) error{
		"list":    (*dlq).list,
		"inspect": (*dlq).inspect,
		"replay":  (*dlq).replay,
	}[args[1]]
	if !ok {
		return errUsage
	}
	d, err := connect(ctx, env)
	if err != nil {
		return err
	}
	defer d.close()
	return run(d, ctx, args[2:], out)
}
