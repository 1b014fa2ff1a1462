package ctl

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/nats-io/nats.go/jetstream"
)

// mendflowStream tells mendflow's streams (MENDFLOW_*) and key-value
// buckets (KV_MENDFLOW_*) from the others a NATS account may hold.
func mendflowStream(name string) bool {
	return strings.HasPrefix(name, "MENDFLOW_") || strings.HasPrefix(name, "KV_MENDFLOW_")
}

// status prints mendflow's streams and their durable consumers. Ordered
// consumers (tails) are ephemeral and left out.
func status(ctx context.Context, s *settings, args []string, out io.Writer) error {
	if len(args) > 0 {
		return errUsage
	}
	nc, js, err := connectNATS(s)
	if err != nil {
		return err
	}
	defer nc.Close()

	var streams []*jetstream.StreamInfo
	list := js.ListStreams(ctx)
	for si := range list.Info() {
		if mendflowStream(si.Config.Name) {
			streams = append(streams, si)
		}
	}
	if err := list.Err(); err != nil {
		return fmt.Errorf("listing streams: %w", err)
	}
	if len(streams) == 0 {
		fmt.Fprintln(out, "no mendflow streams: start ingest, the worker or the poller to create them")
		return nil
	}
	slices.SortFunc(streams, func(a, b *jetstream.StreamInfo) int { return strings.Compare(a.Config.Name, b.Config.Name) })

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tMESSAGES\tBYTES\tFIRST SEQ\tLAST SEQ\tREPLICAS\tLEADER")
	for _, si := range streams {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\t%s\n", si.Config.Name, si.State.Msgs, bytesSize(si.State.Bytes),
			si.State.FirstSeq, si.State.LastSeq, replicas(si), leader(si.Cluster))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tCONSUMER\tPENDING\tACK PENDING\tREDELIVERED\tWAITING\tLEADER")
	n := 0
	for _, si := range streams {
		st, err := js.Stream(ctx, si.Config.Name)
		if err != nil {
			return fmt.Errorf("stream %s: %w", si.Config.Name, err)
		}
		cl := st.ListConsumers(ctx)
		var cis []*jetstream.ConsumerInfo
		for ci := range cl.Info() {
			if ci.Config.Durable != "" {
				cis = append(cis, ci)
			}
		}
		if err := cl.Err(); err != nil {
			return fmt.Errorf("consumers of %s: %w", si.Config.Name, err)
		}
		slices.SortFunc(cis, func(a, b *jetstream.ConsumerInfo) int { return strings.Compare(a.Name, b.Name) })
		for _, ci := range cis {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", si.Config.Name, ci.Name, ci.NumPending, ci.NumAckPending,
				ci.NumRedelivered, ci.NumWaiting, leader(ci.Cluster))
			n++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintln(out, "no durable consumers: start the worker and the poller to create them")
	}
	return nil
}

// replicas is the configured number, with how many are behind when some
// are.
func replicas(si *jetstream.StreamInfo) string {
	r := fmt.Sprint(si.Config.Replicas)
	if si.Cluster == nil {
		return r
	}
	behind := 0
	for _, p := range si.Cluster.Replicas {
		if !p.Current || p.Offline {
			behind++
		}
	}
	if behind > 0 {
		r += fmt.Sprintf(" (%d behind)", behind)
	}
	return r
}

func leader(c *jetstream.ClusterInfo) string {
	if c == nil || c.Leader == "" {
		return "-"
	}
	return c.Leader
}

// bytesSize prints a size in bytes the way people read it.
func bytesSize(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
