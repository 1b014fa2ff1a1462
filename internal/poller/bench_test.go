package poller

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/pkg/events"
	"github.com/mendflow/mendflow/pkg/mend"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// The benchmarks run the poller binary as its own process, as it is
// deployed, against an in-process NATS server and simulator, so that the
// CPU and memory read from /proc are the poller's alone. Run them with
//
//	go test ./cmd/poller -run '^$' -bench . -benchtime 1x
//
// BenchmarkStatusCalls scales time down 20 times (a minute lasts 3 s):
// the poller's intervals and the processes' durations alike, so the count
// of calls is the one of real time. BenchmarkTenThousandInFlight runs in
// real time with the default schedule.

// timeScale is how many times faster than real time BenchmarkStatusCalls
// runs.
const timeScale = 20

func scaled(d time.Duration) string { return (d / timeScale).String() }

// BenchmarkStatusCalls reports the status calls the default schedule makes
// per process lasting 1 and 10 minutes. A fixed 2 s poll makes 30 and 300.
func BenchmarkStatusCalls(b *testing.B) {
	for _, d := range []time.Duration{time.Minute, 10 * time.Minute} {
		b.Run(d.String(), func(b *testing.B) {
			const items = 100
			for range b.N {
				bed := newBenchBed(b, mendsim.Config{ProcessDuration: d / timeScale})
				p := bed.startPoller(b, map[string]string{
					"POLLER_FIRST_INTERVAL": scaled(2 * time.Second),
					"POLLER_MAX_INTERVAL":   scaled(2 * time.Minute),
					"POLLER_DEADLINE":       scaled(2 * time.Hour),
					// Unlimited, so that the count is the schedule's: a
					// rate limit that binds makes polls late and fewer.
					"MEND_RATE_LIMIT": "0",
				})
				bed.startProcesses(b, items)
				bed.waitFollowed(b, 0, d/timeScale*3)
				took := p.metric(b, `mendflow_poller_item_duration_seconds_sum{kind="process"}`) * timeScale / items
				p.stop(b)
				calls := len(bed.sim.CallsOf("asyncProcessStatus"))
				b.ReportMetric(float64(calls)/items, "calls/item")
				b.ReportMetric(float64(d/(2*time.Second)), "calls/item-at-fixed-2s")
				// How long after its end a process is reported, on average,
				// in real time.
				b.ReportMetric(took-d.Seconds(), "s-late")
			}
		})
	}
}

// BenchmarkTenThousandInFlight hands 10,000 processes lasting an hour to
// one poller at once and follows them for a minute with the default
// schedule and no rate limit, the heaviest minute of their lives: each is
// polled at 2, 4, 8, 16 and 32 s. It reports the poller's CPU time (and its
// share of one core over the poller's life), peak resident memory and Go
// heap.
func BenchmarkTenThousandInFlight(b *testing.B) {
	const (
		items  = 10_000
		window = time.Minute
	)
	for range b.N {
		bed := newBenchBed(b, mendsim.Config{ProcessDuration: time.Hour})
		p := bed.startPoller(b, map[string]string{"MEND_RATE_LIMIT": "0", "POLLER_CONCURRENCY": "32"})
		bed.startProcesses(b, items)
		time.Sleep(window)
		st := procStat(b, p.cmd.Process.Pid)
		heap := p.metric(b, "go_memstats_heap_inuse_bytes")
		followed := p.metric(b, "mendflow_poller_items_followed")
		p.stop(b)
		polls := len(bed.sim.CallsOf("asyncProcessStatus"))
		if followed != items {
			b.Errorf("%v items followed at the end, want %d", followed, items)
		}
		b.ReportMetric(float64(polls), "polls")
		b.ReportMetric(st.cpu.Seconds(), "cpu-s")
		b.ReportMetric(st.cpu.Seconds()/time.Since(p.started).Seconds()*100, "%cpu")
		b.ReportMetric(float64(st.cpu.Microseconds())/float64(polls), "cpu-µs/poll")
		b.ReportMetric(float64(st.peakRSS)/(1<<20), "MiB-peak-RSS")
		b.ReportMetric(heap/(1<<20), "MiB-heap")
	}
}

// benchBed is a NATS server, a simulator and a Mend client for the
// benchmark's own calls.
type benchBed struct {
	natsURL string
	js      jetstream.JetStream
	sim     *mendsim.Server
	client  *mend.Client
}

func newBenchBed(b *testing.B, simCfg mendsim.Config) *benchBed {
	b.Helper()
	natsURL := startNATS(b)
	sim := mendsim.NewServer(simCfg)
	b.Cleanup(sim.Close)
	nc, err := nats.Connect(natsURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	if err := bus.EnsureStreams(context.Background(), js, bus.StreamConfig{
		Replicas: 1, DedupWindow: time.Hour, EventsMaxAge: time.Hour, EventsMaxBytes: -1, DLQMaxAge: time.Hour, DLQMaxBytes: -1,
	}); err != nil {
		b.Fatal(err)
	}
	client, err := mend.NewClient(sim.URL, mend.Secret(mendsim.DefaultUserKey), mend.WithUserEmail(mendsim.DefaultUserEmail))
	if err != nil {
		b.Fatal(err)
	}
	return &benchBed{natsURL: natsURL, js: js, sim: sim, client: client}
}

// startProcesses applies the organization's policies n times and hands the
// processes to the pollers, as the worker does.
func (bed *benchBed) startProcesses(b *testing.B, n int) {
	b.Helper()
	ctx := context.Background()
	acks := make([]jetstream.PubAckFuture, 0, n)
	for i := range n {
		p, _, err := bed.client.Policies.ApplyOrganization(ctx, mendsim.DefaultOrgToken)
		if err != nil {
			b.Fatal(err)
		}
		msg := trackMsg(b, strconv.Itoa(i), events.Track{Kind: events.TrackProcess, OrgToken: mendsim.DefaultOrgToken,
			ProcessUUID: p.UUID, Scope: "organization", Token: mendsim.DefaultOrgToken, Started: time.Now()})
		ack, err := bed.js.PublishMsgAsync(msg)
		if err != nil {
			b.Fatal(err)
		}
		acks = append(acks, ack)
	}
	for _, a := range acks {
		select {
		case <-a.Ok():
		case err := <-a.Err():
			b.Fatal(err)
		}
	}
}

// waitFollowed waits until the stream holds n items.
func (bed *benchBed) waitFollowed(b *testing.B, n uint64, timeout time.Duration) {
	b.Helper()
	var followed uint64
	if !servicetest.Poll(timeout+10*time.Second, func() bool {
		followed = streamMsgs(b, bed.js, events.StreamTracking)
		return followed == n
	}) {
		b.Fatalf("%d items followed, want %d", followed, n)
	}
}

// pollerProcess is the poller binary running.
type pollerProcess struct {
	cmd     *exec.Cmd
	addr    string
	started time.Time
}

// startPoller builds the poller and runs it against the bed with the given
// variables on top of the defaults.
func (bed *benchBed) startPoller(b *testing.B, vars map[string]string) *pollerProcess {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "poller")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/mendflow/mendflow/cmd/poller").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	env := map[string]string{
		"NATS_URL":        bed.natsURL,
		"POLLER_ADDR":     "127.0.0.1:0",
		"MEND_URL":        bed.sim.URL,
		"MEND_USER_KEY":   mendsim.DefaultUserKey,
		"MEND_USER_EMAIL": mendsim.DefaultUserEmail,
		"MEND_ORG_TOKEN":  mendsim.DefaultOrgToken,
	}
	for k, v := range vars {
		env[k] = v
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &pollerProcess{cmd: cmd, started: time.Now()}
	b.Cleanup(func() { _ = cmd.Process.Kill() })
	// A log line of its start says where it listens; the Mend hosts come
	// before it.
	r := bufio.NewReader(stderr)
	for p.addr == "" {
		line, err := r.ReadString('\n')
		if err != nil {
			b.Fatalf("poller did not start: %v", err)
		}
		p.addr = servicetest.ListenAddr(line)
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	return p
}

// stop sends SIGTERM and checks that the poller exits 0.
func (p *pollerProcess) stop(b *testing.B) {
	b.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		b.Errorf("poller after SIGTERM: %v", err)
	}
}

// metric reads one unlabelled sample from the poller's /metrics.
func (p *pollerProcess) metric(b *testing.B, name string) float64 {
	b.Helper()
	_, body := servicetest.Get(b, p.addr, "/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			return f
		}
	}
	b.Fatalf("no %s in /metrics", name)
	return 0
}

// stat is what /proc says of a process.
type stat struct {
	cpu     time.Duration // user and system
	peakRSS int64         // bytes
}

func procStat(b *testing.B, pid int) stat {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks of 1/100 s on Linux.
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	var hwm int64
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			hwm = kb << 10
		}
	}
	return stat{cpu: time.Duration(utime+stime) * 10 * time.Millisecond, peakRSS: hwm}
}
