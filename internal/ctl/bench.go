package ctl

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/githubsig"
	"github.com/mendflow/mendflow/internal/redact"
	"github.com/mendflow/mendflow/pkg/events"
)

// benchRun is the record of one bench run: per command, when ingest
// accepted it and when its result event arrived.
type benchRun struct {
	prefix string // of the event ids of this run: bench-<random>-
	start  time.Time
	kind   string // benchProjectCreate or benchRepositoryCreated
	secret string // GITHUB_WEBHOOK_SECRET, for benchRepositoryCreated

	answers []time.Duration // ingest's answer time of each request, under mu

	mu       sync.Mutex
	accepted []time.Time
	resulted []time.Time
	failed   int    // results that are io.mendflow.command.failed
	taken    int    // requests ingest answered 202
	refused  int    // requests ingest did not answer 202, or that failed before the timeout
	firstErr string // the first refusal, for the report
	done     int    // results arrived
	doubled  int    // results that arrived a second time
	expected int    // results to wait for: n, then those accepted
	allDone  chan struct{}
	closeAll sync.Once

	// The commands of a quiet organization (-quiet-org), sent one at a
	// time while the others drain, by index: when ingest accepted each,
	// when its result came.
	quietOrg      string
	quietAccepted map[int]time.Time
	quietResulted map[int]time.Time
	quietDoubled  int
}

// expect sets how many results to wait for, and says whether they are in;
// the caller holds mu.
func (r *benchRun) expect(n int) {
	r.expected = n
	if r.done >= r.expected {
		r.closeAll.Do(func() { close(r.allDone) })
	}
}

// bench sends n project.create commands to ingest from c connections at
// once, follows their result events, and prints the rate at which the
// pipeline carried them out and the latency from each 202 to its result
// event.
func bench(ctx context.Context, s *settings, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("n", 2000, "commands (or deliveries) to send")
	c := fs.Int("c", 16, "requests to ingest at once")
	timeout := fs.Duration("timeout", 100*time.Second, "give up waiting for results after this long")
	kind := fs.String("kind", benchProjectCreate, "what to send: project.create CloudEvents, or signed GitHub repository.created deliveries")
	over := fs.Duration("over", 0, "spread the sends evenly over this long (0: as fast as -c allows)")
	simURL := fs.String("mendsim", "", "the Mend simulator's URL: clear its call record first, report what it saw after")
	stormFlag := fs.String("storm", "", "with -mendsim: AT,FOR,RETRY-AFTER (20s,30s,10s): every call answers 429 from AT for FOR")
	quietOrg := fs.String("quiet-org", "", "also send project.create commands for this organization's token, one every -quiet-every, while the others drain")
	quietEvery := fs.Duration("quiet-every", time.Second, "with -quiet-org: the interval between its commands")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *n < 1 || *c < 1 || *timeout <= 0 || *over < 0 || *quietEvery <= 0 ||
		*kind != benchProjectCreate && *kind != benchRepositoryCreated {
		return errUsage
	}
	st, err := parseStorm(*stormFlag)
	if err != nil || st.At > 0 && *simURL == "" {
		return errUsage
	}
	if *kind == benchRepositoryCreated && s.GitHubSecret == "" {
		return errors.New("GITHUB_WEBHOOK_SECRET is empty: bench -kind repository.created signs with it")
	}
	ic, err := newIngestClient(s, &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: *c, MaxConnsPerHost: *c},
	})
	if err != nil {
		return err
	}
	nc, js, err := connectNATS(s)
	if err != nil {
		return err
	}
	defer nc.Close()
	var sim *simBench
	if *simURL != "" {
		sim = &simBench{base: strings.TrimSuffix(*simURL, "/"), http: &http.Client{Timeout: time.Minute}, storm: st}
		if err := sim.do(ctx, http.MethodDelete, "/_mendsim/calls", nil, nil); err != nil {
			return err
		}
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	r := &benchRun{
		prefix:   "bench-" + strings.ToLower(rand.Text()[:8]) + "-",
		kind:     *kind,
		secret:   s.GitHubSecret,
		start:    time.Now(),
		accepted: make([]time.Time, *n),
		resulted: make([]time.Time, *n),
		expected: *n,
		allDone:  make(chan struct{}),

		quietOrg:      *quietOrg,
		quietAccepted: make(map[int]time.Time),
		quietResulted: make(map[int]time.Time),
	}
	// Follow from a second before the first send, so that the consumer
	// need not exist before the first result; the ids tell the run's
	// events from any others.
	from := r.start.Add(-time.Second)
	followErr := make(chan error, 1)
	go func() {
		followErr <- follow(ctx, js, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{events.ResultSubject("io.mendflow.>")},
			DeliverPolicy:  jetstream.DeliverByStartTimePolicy, OptStartTime: &from,
		}, r.result)
	}()

	if sim != nil {
		sim.startStorm(ctx, r.start, out)
	}
	fmt.Fprintf(out, "sending %d %s to %s, %d at once…\n", *n, *kind, redact.URL(ic.base.String()), *c)
	quietSent := make(chan struct{})
	if r.quietOrg != "" {
		fmt.Fprintf(out, "and one project.create of another organization every %v until they are done…\n", *quietEvery)
		go func() { defer close(quietSent); r.sendQuiet(ctx, ic, *quietEvery) }()
	} else {
		close(quietSent)
	}
	sent := r.send(ctx, ic, *n, *c, *over)
	r.mu.Lock()
	r.expect(r.taken) // no result comes for a command refused or never sent
	r.mu.Unlock()
	select {
	case <-r.allDone:
	case <-ctx.Done():
	case err := <-followErr:
		if err != nil {
			return err
		}
	}
	<-quietSent
	r.waitQuiet(ctx)
	cancel()
	r.report(out, *n, sent)
	r.reportQuiet(out)
	if sim != nil {
		r.mu.Lock()
		done := r.done
		r.mu.Unlock()
		return sim.report(context.WithoutCancel(ctx), out, strings.TrimSuffix(r.prefix, "-"), done)
	}
	return nil
}

// send posts the commands from c goroutines, the i-th not before
// i/n of over, and returns when ingest answered them all, or ctx ended.
func (r *benchRun) send(ctx context.Context, ic *ingestClient, n, c int, over time.Duration) time.Duration {
	next := make(chan int)
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for i := range next {
				r.post(ctx, ic, i, false)
			}
		})
	}
send:
	for i := range n {
		if over > 0 {
			if wait := time.Until(r.start.Add(over * time.Duration(i) / time.Duration(n))); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					break send
				}
			}
		}
		select {
		case next <- i:
		case <-ctx.Done():
			break send
		}
	}
	close(next)
	wg.Wait()
	return time.Since(r.start)
}

func (r *benchRun) post(ctx context.Context, ic *ingestClient, i int, quiet bool) {
	request := r.request
	if quiet {
		request = r.quietRequest
	}
	path, header, body, err := request(i)
	sentAt := time.Now()
	var a answer
	if err == nil {
		a, err = ic.post(ctx, path, header, body, false)
	}
	now := time.Now()
	r.mu.Lock()
	r.answers = append(r.answers, now.Sub(sentAt))
	r.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err == nil && a.Status == http.StatusAccepted && quiet:
		r.quietAccepted[i] = now
		return
	case err == nil && a.Status == http.StatusAccepted:
		r.accepted[i] = now
		r.taken++
		return
	case err == nil:
		err = fmt.Errorf("ingest answered %s: %s", a.Text, excerpt(strings.TrimSpace(string(a.Body)), 200))
	case ctx.Err() != nil:
		return // cut short by the timeout: reported as not sent
	}
	if r.refused == 0 {
		r.firstErr = err.Error()
	}
	r.refused++
}

// sendQuiet posts a command of the quiet organization every interval
// until the others are all done, or ctx ends.
func (r *benchRun) sendQuiet(ctx context.Context, ic *ingestClient, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for k := 0; ; k++ {
		// Each in its own goroutine: a slow answer does not delay the next.
		wg.Go(func() { r.post(ctx, ic, k, true) })
		select {
		case <-tick.C:
		case <-r.allDone:
			return
		case <-ctx.Done():
			return
		}
	}
}

// waitQuiet waits for the results of the quiet organization's commands
// that ingest accepted, until ctx ends.
func (r *benchRun) waitQuiet(ctx context.Context) {
	for {
		r.mu.Lock()
		left := len(r.quietAccepted) - len(r.quietResulted)
		r.mu.Unlock()
		if left <= 0 {
			return
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return
		}
	}
}

// quietRequest is the k-th command of the quiet organization: a
// project.create in a product of its own, in that organization.
func (r *benchRun) quietRequest(k int) (string, http.Header, []byte, error) {
	e := event.New()
	e.SetID(r.prefix + "q" + strconv.Itoa(k))
	e.SetSource(defaultSource + ":bench")
	e.SetType(events.CommandType(events.CommandProjectCreate))
	data, err := json.Marshal(events.ProjectCreate{
		OrgToken: r.quietOrg, ProductName: strings.TrimSuffix(r.prefix, "-") + "-quiet",
		ProjectName: fmt.Sprintf("quiet-%d", k), CreateProduct: true,
	})
	if err != nil {
		return "", nil, nil, err
	}
	if err := e.SetData(event.ApplicationJSON, json.RawMessage(data)); err != nil {
		return "", nil, nil, err
	}
	body, err := json.Marshal(e)
	return "/events", http.Header{"Content-Type": {contentTypeStructured}}, body, err
}

// What bench sends.
const (
	benchProjectCreate     = "project.create"
	benchRepositoryCreated = "repository.created"
)

// request is the i-th request of the run: a project.create command, or a
// signed GitHub repository.created delivery, whose delivery id is the
// correlation id of its results. Every project is new: its product is
// named after the run.
func (r *benchRun) request(i int) (string, http.Header, []byte, error) {
	id := r.prefix + strconv.Itoa(i)
	product := strings.TrimSuffix(r.prefix, "-")
	if r.kind == benchRepositoryCreated {
		name := fmt.Sprintf("repo-%d", i)
		body, err := json.Marshal(map[string]any{
			"action": "created",
			"repository": map[string]any{
				"id": 900000000 + i, "name": name, "full_name": product + "/" + name, "private": true,
				"owner":    map[string]any{"login": product, "id": 1, "type": "Organization"},
				"html_url": "https://github.com/" + product + "/" + name,
			},
			"organization": map[string]any{"login": product, "id": 1},
			"sender":       map[string]any{"login": "mendflowctl", "id": 2},
		})
		return "/webhooks/github", http.Header{
			"Content-Type":        {"application/json"},
			"User-Agent":          {"GitHub-Hookshot/mendflowctl"},
			"X-Github-Event":      {"repository"},
			"X-Github-Delivery":   {id},
			"X-Hub-Signature-256": {githubsig.Sign(body, r.secret)},
		}, body, err
	}
	e := event.New()
	e.SetID(id)
	e.SetSource(defaultSource + ":bench")
	e.SetType(events.CommandType(events.CommandProjectCreate))
	data := fmt.Sprintf(`{"productName":%q,"projectName":"project-%d","createProduct":true}`, product, i)
	if err := e.SetData(event.ApplicationJSON, json.RawMessage(data)); err != nil {
		return "", nil, nil, err
	}
	body, err := json.Marshal(e)
	return "/events", http.Header{"Content-Type": {contentTypeStructured}}, body, err
}

// result records a result event of the run.
func (r *benchRun) result(e event.Event) error {
	if k, err := strconv.Atoi(strings.TrimPrefix(events.Extension(e, events.ExtCorrelationID), r.prefix+"q")); err == nil &&
		strings.HasPrefix(events.Extension(e, events.ExtCorrelationID), r.prefix+"q") {
		now := time.Now()
		r.mu.Lock()
		defer r.mu.Unlock()
		if _, ok := r.quietResulted[k]; ok {
			r.quietDoubled++
		} else {
			r.quietResulted[k] = now
		}
		return nil
	}
	i, err := strconv.Atoi(strings.TrimPrefix(events.Extension(e, events.ExtCorrelationID), r.prefix))
	if err != nil || !strings.HasPrefix(events.Extension(e, events.ExtCorrelationID), r.prefix) {
		return nil // not of this run
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if i < 0 || i >= len(r.resulted) {
		return nil
	}
	if !r.resulted[i].IsZero() {
		r.doubled++
		return nil
	}
	r.resulted[i] = now
	if e.Type() == events.TypeCommandFailed {
		r.failed++
	}
	r.done++
	r.expect(r.expected)
	return nil
}

// report prints the figures of the run.
func (r *benchRun) report(out io.Writer, n int, sent time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var lat []time.Duration
	var last time.Time
	for i, at := range r.resulted {
		if at.IsZero() || r.accepted[i].IsZero() {
			continue
		}
		// A result can arrive before the 202 is read: count it as 0.
		lat = append(lat, max(0, at.Sub(r.accepted[i])))
		if at.After(last) {
			last = at
		}
	}
	accepted := r.taken
	fmt.Fprintf(out, "accepted  %d of %d in %v (%.0f events/s into ingest)\n", accepted, n, sent.Round(time.Millisecond), float64(accepted)/sent.Seconds())
	if len(r.answers) > 0 {
		slices.Sort(r.answers)
		q := func(p float64) time.Duration { return r.answers[max(0, int(math.Ceil(p*float64(len(r.answers))))-1)] }
		fmt.Fprintf(out, "ingest answer time: p50 %v  p99 %v  max %v\n",
			q(0.50).Round(time.Microsecond), q(0.99).Round(time.Microsecond), r.answers[len(r.answers)-1].Round(time.Microsecond))
	}
	if r.refused > 0 {
		fmt.Fprintf(out, "refused   %d; the first: %s\n", r.refused, r.firstErr)
	}
	if unsent := n - accepted - r.refused; unsent > 0 {
		fmt.Fprintf(out, "not sent  %d: the timeout came first\n", unsent)
	}
	fmt.Fprintf(out, "results   %d (%d io.mendflow.command.failed), %d missing, %d doubled\n", r.done, r.failed, accepted-len(lat), r.doubled)
	if len(lat) == 0 {
		return
	}
	total := last.Sub(r.start)
	fmt.Fprintf(out, "end to end %d results in %v: %.0f events/s\n", len(lat), total.Round(time.Millisecond), float64(len(lat))/total.Seconds())
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[max(0, int(math.Ceil(p*float64(len(lat))))-1)] }
	fmt.Fprintf(out, "latency, 202 to result event: p50 %v  p90 %v  p99 %v  max %v\n",
		q(0.50).Round(time.Millisecond), q(0.90).Round(time.Millisecond), q(0.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
}

// reportQuiet prints how long the quiet organization's commands took,
// from each 202 to its result event.
func (r *benchRun) reportQuiet(out io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.quietOrg == "" {
		return
	}
	var lat []time.Duration
	for k, at := range r.quietAccepted {
		if res, ok := r.quietResulted[k]; ok {
			lat = append(lat, max(0, res.Sub(at)))
		}
	}
	fmt.Fprintf(out, "quiet org %d accepted, %d results, %d missing, %d doubled\n",
		len(r.quietAccepted), len(lat), len(r.quietAccepted)-len(lat), r.quietDoubled)
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[max(0, int(math.Ceil(p*float64(len(lat))))-1)] }
	fmt.Fprintf(out, "quiet org latency, 202 to result event: p50 %v  p99 %v  max %v\n",
		q(0.50).Round(time.Millisecond), q(0.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
}
