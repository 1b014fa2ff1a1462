package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// simBench is what bench does with the Mend simulator when given one
// (-mendsim): it clears the call record before the run, optionally makes
// Mend answer 429 for a while in the middle (-storm), and reads the call
// record and the state afterwards, to report the calls per second against
// the limit, the calls per project, and the projects made.
type simBench struct {
	base  string
	http  *http.Client
	storm storm
}

// storm is a spell of 429 answers with Retry-After: from At after the
// first send, for For.
type storm struct {
	At, For, RetryAfter time.Duration
}

// parseStorm reads -storm AT,FOR,RETRY-AFTER, such as 20s,30s,10s.
func parseStorm(s string) (storm, error) {
	if s == "" {
		return storm{}, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return storm{}, errUsage
	}
	var d [3]time.Duration
	for i, p := range parts {
		v, err := time.ParseDuration(strings.TrimSpace(p))
		if err != nil || v <= 0 {
			return storm{}, errUsage
		}
		d[i] = v
	}
	return storm{At: d[0], For: d[1], RetryAfter: d[2]}, nil
}

func (m *simBench) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.base+path, body)
	if err != nil {
		return err
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("simulator %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// startStorm makes every call answer 429 with Retry-After from At after
// start, for For, keeping the latency of the fault on every operation,
// and puts that fault back afterwards.
func (m *simBench) startStorm(ctx context.Context, start time.Time, out io.Writer) {
	if m.storm.At == 0 {
		return
	}
	go func() {
		select {
		case <-time.After(time.Until(start.Add(m.storm.At))):
		case <-ctx.Done():
			return
		}
		var before []mendsim.Fault
		if err := m.do(ctx, http.MethodGet, "/_mendsim/faults", nil, &before); err != nil {
			fmt.Fprintf(out, "storm: %v\n", err)
			return
		}
		f := mendsim.Fault{Op: mendsim.AnyOp, Status: http.StatusTooManyRequests, RetryAfter: m.storm.RetryAfter, For: m.storm.For}
		var kept []mendsim.Fault
		for _, b := range before {
			if b.Op == mendsim.AnyOp {
				f.Latency, f.LatencyMax = b.Latency, b.LatencyMax
				b.For = 0
				kept = append(kept, b)
			}
		}
		if err := m.do(ctx, http.MethodPost, "/_mendsim/faults", f, nil); err != nil {
			fmt.Fprintf(out, "storm: %v\n", err)
			return
		}
		fmt.Fprintf(out, "storm: 429 with Retry-After %v for %v, from %v\n", m.storm.RetryAfter, m.storm.For, time.Since(start).Round(time.Second))
		select {
		case <-time.After(m.storm.For):
		case <-ctx.Done():
			return
		}
		if len(kept) > 0 {
			if err := m.do(ctx, http.MethodPost, "/_mendsim/faults", kept, nil); err != nil {
				fmt.Fprintf(out, "storm: %v\n", err)
			}
		}
	}()
}

// report prints what Mend saw of the run: the calls per second in
// 1-second windows (the most, and the mean over the windows from the
// first call to the last), the answers 429 and the calls that came during
// the wait a 429 announced (after its answer went, before its Retry-After
// ran out), the calls per project result, and the projects of the run's
// product in Mend.
func (m *simBench) report(ctx context.Context, out io.Writer, product string, results int) error {
	var calls []mendsim.Call
	if err := m.do(ctx, http.MethodGet, "/_mendsim/calls", nil, &calls); err != nil {
		return err
	}
	if len(calls) == 0 {
		fmt.Fprintln(out, "Mend      no call")
		return nil
	}
	first, last := calls[0].Time, calls[len(calls)-1].Time
	windows := make([]int, int(last.Sub(first)/time.Second)+1)
	throttled := 0
	// The waits the 429s announced, from their answers: a call that came
	// in one had been sent after a process could know of it.
	type wait struct{ from, until time.Time }
	var waits []wait
	inWait := 0
	for _, c := range calls {
		windows[int(c.Time.Sub(first)/time.Second)]++
		for _, w := range waits {
			if c.Time.After(w.from) && c.Time.Before(w.until) {
				inWait++
				break
			}
		}
		if c.Status == http.StatusTooManyRequests {
			throttled++
			if m.storm.RetryAfter > 0 {
				waits = append(waits, wait{from: c.Answered, until: c.Answered.Add(m.storm.RetryAfter)})
			}
		}
	}
	sum := 0
	for _, n := range windows {
		sum += n
	}
	fmt.Fprintf(out, "Mend      %d calls in %v: per 1-s window max %d, mean %.1f (first to last call)\n",
		len(calls), last.Sub(first).Round(time.Millisecond), slices.Max(windows), float64(sum)/float64(len(windows)))
	if results > 0 {
		fmt.Fprintf(out, "Mend      %.2f calls per result\n", float64(len(calls))/float64(results))
	}
	if throttled > 0 {
		fmt.Fprintf(out, "Mend      %d answered 429; %d calls made during an announced wait\n", throttled, inWait)
	}
	var snap mendsim.Snapshot
	if err := m.do(ctx, http.MethodGet, "/_mendsim/state", nil, &snap); err != nil {
		return err
	}
	projects, names := 0, map[string]int{}
	for _, o := range snap.Organizations {
		for _, p := range o.Products {
			if p.Name != product {
				continue
			}
			for _, j := range p.Projects {
				projects++
				names[j.Name]++
			}
		}
	}
	doubled := 0
	for _, n := range names {
		doubled += n - 1
	}
	fmt.Fprintf(out, "Mend      %d projects in product %s, %d doubled\n", projects, product, doubled)
	return nil
}
