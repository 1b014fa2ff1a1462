package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mendflowtest"
)

// pipeline is mendflow as deploy/docker-compose.yaml runs it: three NATS
// nodes with streams at 3 replicas, the simulator, ingest, two workers and
// the poller, each in its own container; the test drives it from the host.
type pipeline struct {
	t       *testing.T
	c       *mendflowtest.Container
	ingest  string // host URL of ingest
	js      jetstream.JetStream
	results *results
}

// newPipeline starts the pipeline. mendflowtest starts the services when
// only the first NATS node runs, and the other two after them: in a real
// deployment the services may well start before the cluster has formed,
// and must wait for it. Every service must then be ready.
func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	c := run(t, mendflowtest.WithPipeline(), mendflowtest.WithNATSCluster(3), mendflowtest.WithWorkers(2))
	ingest, err := c.IngestURL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline{t: t, c: c, ingest: ingest}
	p.js = waitJetStream(t, connect(t, c))
	p.results = watchResults(t, p.js)
	return p
}

// delivery is one HTTP request to ingest: a CloudEvent or an SCM webhook.
type delivery struct {
	id     string // the incoming event's id, the correlationid of its results
	path   string
	header http.Header
	body   []byte
	// want is the type of the one result event the delivery must end in;
	// empty when no rule routes it.
	want string
}

// template reads a payload of testdata/ and sets the values of dotted
// paths in it, so that the test sends what GitHub, GitLab or a CDEvents
// producer sends.
func template(t *testing.T, file string, set map[string]any) map[string]any {
	t.Helper()
	return servicetest.Payload(t, filepath.Join("..", "..", "testdata", file), set)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// githubDelivery is a webhook delivery signed as GitHub signs it.
func (p *pipeline) githubDelivery(event, id string, payload map[string]any, want string) delivery {
	body := mustJSON(p.t, payload)
	req, err := p.c.GitHubDeliveryRequest(context.Background(), event, id, body)
	if err != nil {
		p.t.Fatal(err)
	}
	return delivery{id: id, path: req.URL.Path, header: req.Header, body: body, want: want}
}

// githubRepo is a repository payload of the given event (file in
// testdata/github) for owner/name. The repository's id, which the worker
// maps to its project, is one per name, as GitHub gives one per
// repository.
func githubRepo(t *testing.T, file, owner, name string, set map[string]any) map[string]any {
	id := fnv.New32a()
	id.Write([]byte(name))
	values := map[string]any{
		"repository.id":          id.Sum32(),
		"repository.name":        name,
		"repository.full_name":   owner + "/" + name,
		"repository.html_url":    "https://github.com/" + owner + "/" + name,
		"repository.owner.login": owner,
		"organization.login":     owner,
	}
	maps.Copy(values, set)
	return template(t, file, values)
}

// gitlabDelivery is a GitLab system hook with its secret token.
func (p *pipeline) gitlabDelivery(id string, payload map[string]any, want string) delivery {
	body := mustJSON(p.t, payload)
	req, err := p.c.GitLabHookRequest(context.Background(), "System Hook", id, body)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("X-Gitlab-Instance", "https://gitlab.acme.example.com")
	return delivery{id: id, path: req.URL.Path, header: req.Header, body: body, want: want}
}

// cloudEvent is a CloudEvent in structured content mode.
func cloudEvent(t *testing.T, ce map[string]any, want string) delivery {
	h := http.Header{}
	h.Set("Content-Type", "application/cloudevents+json")
	return delivery{id: ce["id"].(string), path: "/events", header: h, body: mustJSON(t, ce), want: want}
}

// cdevent is a CDEvents repository event (created or deleted) for owner/name.
func cdevent(t *testing.T, verb, id, owner, name, want string) delivery {
	return cloudEvent(t, template(t, "cdevents/repository."+verb+".json", map[string]any{
		"id":                         id,
		"data.context.id":            id,
		"data.subject.id":            owner + "/" + name,
		"data.subject.content.name":  name,
		"data.subject.content.owner": owner,
	}), want)
}

// command is a command posted directly to /events, as platform tooling does.
func command(t *testing.T, name, id string, data map[string]any, want string) delivery {
	return cloudEvent(t, map[string]any{
		"specversion": "1.0", "id": id, "source": "https://platform.acme.example.com/e2e",
		"type": events.CommandType(name), "datacontenttype": "application/json", "data": data,
	}, want)
}

// projectCreates are n repository-created events, alternately GitHub
// deliveries and CDEvents, spread over a few products.
func (p *pipeline) projectCreates(run string, n int) []delivery {
	t := p.t
	var ds []delivery
	for i := range n {
		owner, name := fmt.Sprintf("%s-org-%d", run, i%4), fmt.Sprintf("%s-repo-%03d", run, i)
		id := fmt.Sprintf("%s-%03d", run, i)
		if i%2 == 0 {
			ds = append(ds, p.githubDelivery("repository", id,
				githubRepo(t, "github/repository.created.json", owner, name, nil), events.TypeProjectCreated))
		} else {
			ds = append(ds, cdevent(t, "created", id, owner, name, events.TypeProjectCreated))
		}
	}
	return ds
}

// sendStats counts what the senders got from ingest.
type sendStats struct {
	sent     int            // deliveries
	accepted int            // answered 2xx in the end
	retried  int            // answers 503 or no answer, sent again
	statuses map[string]int // per-event status in the answers: queued, duplicate, ignored
	refused  []string       // ids given up on, with why
}

// plus is the counts of s and o together.
func (s sendStats) plus(o sendStats) sendStats {
	sum := sendStats{
		sent: s.sent + o.sent, accepted: s.accepted + o.accepted, retried: s.retried + o.retried,
		statuses: maps.Clone(s.statuses), refused: slices.Concat(s.refused, o.refused),
	}
	for k, n := range o.statuses {
		sum.statuses[k] += n
	}
	return sum
}

// load sends deliveries from several concurrent senders at a fixed overall
// rate. A sender does what a webhook sender does: on a 503 or no answer it
// sends the same delivery again, after Retry-After, until it is answered.
type load struct {
	accepted atomic.Int64
	done     chan struct{}
	mu       sync.Mutex
	stats    sendStats
	end      time.Time // when the last answer came
}

func (p *pipeline) startLoad(ds []delivery, perSecond int) *load {
	l := &load{done: make(chan struct{}), stats: sendStats{sent: len(ds), statuses: map[string]int{}}}
	jobs := make(chan delivery)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range jobs {
				p.deliver(d, l)
			}
		}()
	}
	go func() {
		tick := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tick.Stop()
		for _, d := range ds {
			<-tick.C
			jobs <- d
		}
		close(jobs)
		wg.Wait()
		l.end = time.Now()
		close(l.done)
	}()
	return l
}

// deliver sends d until ingest answers it, or for at most two minutes.
func (p *pipeline) deliver(d delivery, l *load) {
	deadline := time.Now().Add(2 * time.Minute)
	client := &http.Client{Timeout: 15 * time.Second}
	for {
		req, err := http.NewRequest(http.MethodPost, p.ingest+d.path, bytes.NewReader(d.body))
		if err != nil {
			panic(err) // the test built a bad URL
		}
		req.Header = d.header.Clone()
		resp, err := client.Do(req)
		var body []byte
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		l.mu.Lock()
		switch {
		case err == nil && resp.StatusCode/100 == 2:
			var answer struct {
				Events []struct{ Status string } `json:"events"`
			}
			_ = json.Unmarshal(body, &answer)
			for _, ev := range answer.Events {
				l.stats.statuses[ev.Status]++
			}
			l.stats.accepted++
			l.mu.Unlock()
			l.accepted.Add(1)
			return
		case time.Now().After(deadline) || (err == nil && resp.StatusCode != http.StatusServiceUnavailable):
			why := fmt.Sprint(err)
			if err == nil {
				why = fmt.Sprintf("%d %s", resp.StatusCode, body)
			}
			l.stats.refused = append(l.stats.refused, d.id+": "+why)
			l.mu.Unlock()
			return
		}
		l.stats.retried++
		l.mu.Unlock()
		wait := 500 * time.Millisecond
		if err == nil {
			if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil {
				wait = time.Duration(s) * time.Second
			}
		}
		time.Sleep(wait) // the sender's backoff, as ingest asks for it
	}
}

// wait waits for every delivery to be answered and returns the counts.
func (l *load) wait(t *testing.T) sendStats {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(5 * time.Minute):
		t.Fatal("the senders did not finish in 5 minutes")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// send sends deliveries and waits for their answers.
func (p *pipeline) send(ds []delivery) sendStats {
	p.t.Helper()
	return p.startLoad(ds, 100).wait(p.t)
}

// eventually polls cond until it holds, failing the test with what after
// timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// result is a result event as the host reads it from MENDFLOW_EVENTS.
type result struct {
	Type, ID, Correlation string
	Data                  map[string]any
}

// results reads MENDFLOW_EVENTS from its start, message by message by
// sequence: a read needs no consumer, which the loss of a node could take
// away with it.
type results struct {
	t      *testing.T
	js     jetstream.JetStream
	mu     sync.Mutex
	next   uint64 // the next sequence to read
	events []result
}

func watchResults(t *testing.T, js jetstream.JetStream) *results {
	return &results{t: t, js: js, next: 1}
}

// refresh reads the events stored since the last read. A failure (a
// leader being elected) leaves the rest for the next read.
func (r *results) refresh() {
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := r.js.Stream(ctx, events.StreamEvents)
	if err != nil {
		return
	}
	info, err := s.Info(ctx)
	if err != nil {
		return
	}
	for ; r.next <= info.State.LastSeq; r.next++ {
		m, err := s.GetMsg(ctx, r.next)
		if err != nil {
			return
		}
		e, err := bus.FromMsg(&nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data})
		if err != nil {
			r.t.Errorf("result event %d on %s is no CloudEvent: %v", m.Sequence, m.Subject, err)
			continue
		}
		res := result{Type: e.Type(), ID: e.ID(), Correlation: events.Extension(e, events.ExtCorrelationID)}
		_ = json.Unmarshal(e.Data(), &res.Data)
		r.events = append(r.events, res)
	}
}

// byCorrelation returns the result events of each correlationid.
func (r *results) byCorrelation() map[string][]result {
	out := map[string][]result{}
	for _, e := range r.all() {
		out[e.Correlation] = append(out[e.Correlation], e)
	}
	return out
}

// all returns the events stored so far.
func (r *results) all() []result {
	r.refresh()
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// answered reports whether every delivery expecting a result has one.
func (r *results) answered(ds []delivery) bool {
	got := r.byCorrelation()
	for _, d := range ds {
		if d.want != "" && len(got[d.id]) == 0 {
			return false
		}
	}
	return true
}

// streamMsgs is how many messages a stream holds.
func (p *pipeline) streamMsgs(name string) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := p.js.Stream(ctx, name)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// waitDrained waits until no command and no Track item is left: the work
// queues hold what is not done yet, so nothing can happen afterwards.
func (p *pipeline) waitDrained(timeout time.Duration) {
	p.t.Helper()
	eventually(p.t, timeout, "commands or Track items still queued", func() bool {
		for _, s := range []string{events.StreamCommands, events.StreamTracking} {
			if n, err := p.streamMsgs(s); err != nil || n > 0 {
				return false
			}
		}
		return true
	})
}

// mutating are the Mend operations that change something: each must be
// made once per target.
var mutating = []string{
	"createProduct", "createProject", "saveProjectTag", "removeProjectTag", "deleteProject",
	"changeProjectAssignment", "applyOrganizationPolicies", "applyProductPolicies", "applyProjectPolicies",
}

// callTally is the simulator's call record, counted.
type callTally struct {
	ok      map[string]int // successful calls by operation
	refused map[string]int // calls answered with an error (a fault, an errorCode) by operation
	faulted int            // calls a fault answered
	repeats []string       // targets changed by more than one successful call
}

// tallyCalls reads the call record. A mutating call's target is its
// operation, its path (REST calls name their target there) and the names
// and tokens in its body.
func (p *pipeline) tallyCalls() callTally {
	p.t.Helper()
	calls, err := p.c.Calls(context.Background())
	if err != nil {
		p.t.Fatal(err)
	}
	c := callTally{ok: map[string]int{}, refused: map[string]int{}}
	targets := map[string]int{}
	for _, call := range calls {
		if call.Fault {
			c.faulted++
		}
		if !call.OK() {
			c.refused[call.Op]++
			continue
		}
		c.ok[call.Op]++
		if !slices.Contains(mutating, call.Op) {
			continue
		}
		var body map[string]any
		_ = json.Unmarshal(call.Request, &body)
		key := call.Op + " " + call.Path
		for _, f := range []string{"productName", "productToken", "projectName", "projectToken", "newProductToken", "tagKey", "tagValue"} {
			if v, ok := body[f]; ok {
				key += fmt.Sprintf(" %s=%v", f, v)
			}
		}
		if targets[key]++; targets[key] == 2 {
			c.repeats = append(c.repeats, key)
		}
	}
	return c
}

// mutations is the successful mutating calls by operation, the ones made.
func (c callTally) mutations() map[string]int {
	out := map[string]int{}
	for _, op := range mutating {
		if c.ok[op] > 0 {
			out[op] = c.ok[op]
		}
	}
	return out
}

// check verifies what the deliveries must have led to once the pipeline
// drained, and logs the figures: each delivery ends in its one result
// event (none for one no rule routes), no command gave up, every
// mutating Mend call expected was made, and none twice. It returns the
// call record, counted.
func (p *pipeline) check(name string, ds []delivery, st sendStats, wantCalls map[string]int, drain time.Duration) callTally {
	t := p.t
	t.Helper()
	got := p.results.byCorrelation()
	var lost, duplicated, wrong []string
	wantEvents := 0
	for _, d := range ds {
		rs := got[d.id]
		switch {
		case d.want == "" && len(rs) > 0:
			wrong = append(wrong, fmt.Sprintf("%s: %s, want none", d.id, rs[0].Type))
		case d.want == "":
		case len(rs) == 0:
			lost = append(lost, d.id)
		case len(rs) > 1:
			duplicated = append(duplicated, fmt.Sprintf("%s: %d events", d.id, len(rs)))
		case rs[0].Type != d.want:
			wrong = append(wrong, fmt.Sprintf("%s: %s, want %s", d.id, rs[0].Type, d.want))
		}
		if d.want != "" && len(rs) > 0 {
			wantEvents++
		}
	}
	all := p.results.all()
	types := map[string]int{}
	existing := 0 // projects a redelivered command found made
	for _, r := range all {
		types[r.Type]++
		if r.Type == events.TypeProjectCreated && r.Data["created"] == false {
			existing++
		}
	}
	dead, err := p.streamMsgs(events.StreamDLQ)
	if err != nil {
		t.Errorf("reading %s: %v", events.StreamDLQ, err)
	}
	calls := p.tallyCalls()

	t.Logf("FIGURES %s: deliveries sent %d, accepted %d (statuses %v), resent after 503 or no answer %d, given up %d",
		name, st.sent, st.accepted, st.statuses, st.retried, len(st.refused))
	t.Logf("FIGURES %s: Mend mutating calls %v; refused calls (%d by the fault, the rest name taken...) %v; all successful calls %v",
		name, calls.mutations(), calls.faulted, calls.refused, calls.ok)
	t.Logf("FIGURES %s: result events %d %v (projects found already made: %d); lost %d, duplicated %d, repeated Mend changes %d, dead letters %d; drained %v after the last answer",
		name, len(all), types, existing, len(lost), len(duplicated), len(calls.repeats), dead, drain.Round(100*time.Millisecond))

	if len(st.refused) > 0 {
		t.Errorf("%d deliveries never accepted: %v", len(st.refused), st.refused)
	}
	if len(lost) > 0 {
		t.Errorf("%d accepted events without a result event: %v", len(lost), lost)
	}
	if len(duplicated) > 0 {
		t.Errorf("%d events with more than one result event: %v", len(duplicated), duplicated)
	}
	if len(wrong) > 0 {
		t.Errorf("unexpected result events: %v", wrong)
	}
	if len(all) != wantEvents {
		t.Errorf("%d result events in %s, want %d: one per routed delivery", len(all), events.StreamEvents, wantEvents)
	}
	if types[events.TypeCommandFailed] > 0 || dead > 0 {
		t.Errorf("%d commands gave up, %d dead letters; want none", types[events.TypeCommandFailed], dead)
	}
	if len(calls.repeats) > 0 {
		t.Errorf("targets changed twice in Mend: %v", calls.repeats)
	}
	if m := calls.mutations(); !maps.Equal(m, wantCalls) {
		t.Errorf("Mend mutating calls %v, want %v", m, wantCalls)
	}
	return calls
}
