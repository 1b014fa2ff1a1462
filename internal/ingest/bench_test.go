package ingest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/bus"
	"github.com/mendflow/mendflow/internal/routing"
	"github.com/mendflow/mendflow/internal/servicetest"
	"github.com/mendflow/mendflow/internal/telemetry"
	"github.com/mendflow/mendflow/pkg/events"
)

var (
	benchDuration = flag.Duration("ingest.duration", 2*time.Second, "BenchmarkIngest: length of each measurement")
	benchConns    = flag.Int("ingest.conns", 32, "BenchmarkIngest: concurrent connections")
	benchRounds   = flag.Int("ingest.rounds", 3, "BenchmarkIngest: peak measurements of each handler, alternated")
	benchCore     = flag.Bool("ingest.core", false, "BenchmarkIngest: also measure ingest's required work alone (coreHandler)")
)

// BenchmarkIngest measures durable ingest against a minimal handler that
// only publishes the body to JetStream and answers 202, in the same run on
// the same NATS server (a process of its own, file storage; see
// startNATSProcess): events/s at full load on 32
// connections, then p50/p99 latency at half of ingest's peak rate. Events
// are 1 KiB structured CloudEvents (CDEvents repository.created), each with
// a new id, so each queues one command. The peaks are measured in
// alternating rounds and the medians compared, because a shared machine's
// load drifts. With -ingest.core it measures coreHandler's peak too. It
// ignores b.N: run it once with
//
//	go test -run '^$' -bench '^BenchmarkIngest$' -benchtime 1x ./internal/ingest/ [-args -ingest.core]
func BenchmarkIngest(b *testing.B) {
	natsURL, natsPID := startNATSProcess(b)
	cfg := testConfig(natsURL)
	cfg.MaxBodyBytes = 1 << 20
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	svc, err := newService(ctx, cfg, benchTelemetry(b))
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.run(ctx) }()
	defer func() { cancel(); <-done }()

	nc, err := nats.Connect(natsURL)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	minimal := startMinimal(b, js)
	// CPU of this process (load generator and both handlers) and of NATS.
	cpu := func() time.Duration { return cpuTime() + processCPU(b, natsPID) }
	body := benchEvent(b)
	report("event: %d bytes, %d connections, %v per measurement", len(body(0)), *benchConns, *benchDuration)

	stream, err := js.Stream(ctx, events.StreamCommands)
	if err != nil {
		b.Fatal(err)
	}
	purge := func() {
		if err := stream.Purge(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var seq atomic.Int64
	run := func(name, url string, rate float64) loadResult {
		purge()
		natsCPU := processCPU(b, natsPID)
		r := runLoad(b, url, body, &seq, *benchConns, *benchDuration, rate, cpu)
		natsCPU = (processCPU(b, natsPID) - natsCPU) / time.Duration(r.requests)
		report("%-28s %6.0f events/s  p50 %6.2f ms  p99 %6.2f ms  CPU %4.0f µs/event, of it NATS %3.0f  (%d requests, %d failed)",
			name, r.rate, ms(r.p50), ms(r.p99), float64(r.cpuPerEvent)/1e3, float64(natsCPU)/1e3, r.requests, r.failed)
		return r
	}
	ingestURL := "http://" + svc.Addr() + "/events"
	type handler struct {
		name, url string
		peaks     []loadResult
	}
	handlers := []*handler{{name: "minimal handler", url: minimal}, {name: "ingest", url: ingestURL}}
	if *benchCore {
		handlers = append(handlers, &handler{name: "ingest's core alone", url: startCore(b, cfg, js)})
	}
	for _, h := range handlers {
		run("warm-up", h.url, 0)
	}
	for round := range *benchRounds {
		for k := range handlers { // each round in another order
			h := handlers[(k+round)%len(handlers)]
			h.peaks = append(h.peaks, run(h.name+", peak", h.url, 0))
		}
	}
	m, i := median(handlers[0].peaks), median(handlers[1].peaks)
	mh := run("minimal handler, half peak", minimal, i.rate/2)
	ih := run("ingest, half of its peak", ingestURL, i.rate/2)

	report("medians: minimal %.0f events/s (CPU %.0f µs/event), ingest %.0f events/s (CPU %.0f µs/event, p50 %.2f ms, p99 %.2f ms)",
		m.rate, float64(m.cpuPerEvent)/1e3, i.rate, float64(i.cpuPerEvent)/1e3, ms(i.p50), ms(i.p99))
	report("ingest / minimal handler at peak: %.2f (target >= 0.8); ingest p99 at half its peak: %.2f ms (target <= 10 ms)",
		i.rate/m.rate, ms(ih.p99))
	if *benchCore {
		c := median(handlers[2].peaks)
		report("ingest's core alone / minimal handler at peak: %.2f (CPU %.0f µs/event)", c.rate/m.rate, float64(c.cpuPerEvent)/1e3)
		b.ReportMetric(c.rate/m.rate, "core-ratio")
	}
	b.ReportMetric(m.rate, "minimal-events/s")
	b.ReportMetric(i.rate, "ingest-events/s")
	b.ReportMetric(i.rate/m.rate, "ratio")
	b.ReportMetric(float64(m.cpuPerEvent)/float64(i.cpuPerEvent), "cpu-ratio")
	b.ReportMetric(ms(i.p50), "ingest-peak-p50-ms")
	b.ReportMetric(ms(i.p99), "ingest-peak-p99-ms")
	b.ReportMetric(ms(ih.p50), "ingest-half-p50-ms")
	b.ReportMetric(ms(ih.p99), "ingest-half-p99-ms")
	b.ReportMetric(ms(mh.p99), "minimal-half-p99-ms")
}

// benchTelemetry is the logger and tracer provider ingest runs with, made
// from the environment as in production (by default: JSON lines at info,
// nothing exported); the lines go to io.Discard.
func benchTelemetry(b *testing.B) app.Telemetry {
	env := envconfig.OsLookuper()
	logger, err := telemetry.NewLogger(b.Context(), env, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	tp, err := telemetry.NewTracerProvider(b.Context(), env, "mendflow-ingest")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tp.Shutdown(context.Background()) })
	return app.Telemetry{Logger: logger, Tracer: tp}
}

// median is the measurement with the median rate.
func median(rs []loadResult) loadResult {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b loadResult) int { return cmp.Compare(a.rate, b.rate) })
	return rs[len(rs)/2]
}

// report prints a line of the benchmark's report on stdout (a benchmark's
// log is cut short).
func report(format string, args ...any) { fmt.Printf(format+"\n", args...) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// startMinimal serves the minimal handler.
func startMinimal(b *testing.B, js jetstream.JetStream) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: minimalHandler(js)}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String() + "/events"
}

// minimalHandler is the baseline: read the body, publish it, answer 202.
func minimalHandler(js bus.JetStreamPublisher) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if _, err := js.PublishMsg(r.Context(), &nats.Msg{Subject: "mendflow.cmd.minimal", Data: data}); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}

// startCore serves coreHandler, with its own connection to NATS.
func startCore(b *testing.B, cfg *Config, js jetstream.JetStream) string {
	router, err := routing.New(events.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: coreHandler(cfg, router, js)}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String() + "/events"
}

// coreHandler does with a structured event what the contract requires of
// ingest and nothing more, with ingest's own functions: it reads the body
// within its limit, parses and checks the event, routes it, builds its
// commands (CloudEvents in NATS binary mode, each with its Nats-Msg-Id),
// publishes them and answers with the JSON body. Ingest adds to that its
// request and event spans, its metrics, its HTTP server's timeouts and
// its method dispatch.
func coreHandler(cfg *Config, router *routing.Router, js bus.JetStreamPublisher) http.Handler {
	bodies := newBodyBudget(cfg.MaxInflightBytes)
	pub := bus.NewPublisher(js, bus.WithMaxHeaderBytes(maxCommandHeaderBytes), bus.WithPublishTimeout(cfg.PublishTimeout))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, held, p := readBody(r, cfg.MaxBodyBytes, bodies, cfg.RetryAfter)
		defer bodies.give(held)
		var evs []event.Event
		if p == nil {
			evs, p = parseStructured(body)
		}
		if p != nil {
			p.write(w)
			return
		}
		e := evs[0]
		cmds, err := router.RouteChecked(e)
		var plan []command
		if err == nil {
			plan, err = buildCommands(r.Context(), e, e.ID(), cmds, time.Now())
		}
		if err != nil {
			invalidEvents([]eventError{{ID: e.ID(), Detail: err.Error()}}).write(w)
			return
		}
		res := eventResult{ID: e.ID(), Source: e.Source(), Type: e.Type(), Status: statusIgnored}
		if len(plan) > 0 {
			all := make([]*bus.Outgoing, len(plan))
			for j := range plan {
				all[j] = &plan[j].Outgoing
			}
			if err := pub.PublishAll(r.Context(), all); err != nil {
				errUnavailable(err.Error(), cfg.RetryAfter).write(w)
				return
			}
			res.Status = statusQueued
			for _, c := range plan {
				res.Commands = append(res.Commands, c.view)
			}
		}
		writeAnswer(w, http.StatusAccepted, answer{Events: []eventResult{res}})
	})
}

// benchEvent returns a maker of 1 KiB events with distinct ids.
func benchEvent(b *testing.B) func(n int64) []byte {
	const id = "00000000-0000-4000-8000-0000000000ID"
	tmpl := string(readFile(b, "cdevents/repository.created.json"))
	tmpl = strings.ReplaceAll(tmpl, "5b1e4e5a-3d4c-4f6e-9a1b-2c3d4e5f6a7b", id)
	tmpl = string(bytes.Join(bytes.Fields([]byte(tmpl)), []byte(" "))) // one line, as senders send it
	pad := 1024 - len(tmpl)
	if pad < 0 {
		b.Fatalf("template is %d bytes", len(tmpl))
	}
	tmpl = strings.Replace(tmpl, `"viewUrl": "`, `"viewUrl": "`+strings.Repeat("x", pad), 1)
	return func(n int64) []byte {
		return []byte(strings.ReplaceAll(tmpl, "0000000000ID", fmt.Sprintf("%012d", n)))
	}
}

type loadResult struct {
	rate             float64
	p50, p99         time.Duration
	requests, failed int
	// cpuPerEvent is the CPU time of the benchmark (load generator and both
	// handlers) and of NATS per answered event: unlike the rate, it moves
	// less with what else the machine runs.
	cpuPerEvent time.Duration
}

// startNATSProcess runs a NATS server with JetStream (file storage) as a
// process of its own on loopback, as ingest meets NATS when deployed (and
// under make run): in this process, the server's heap, such as the
// duplicate window's message ids, would weigh on the garbage collection of
// the handlers measured. It returns the client URL and the server's pid.
func startNATSProcess(b *testing.B) (string, int) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "nats-server")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		b.Fatalf("build nats-server: %v\n%s", err, out)
	}
	// Port -1: the server takes a port of the system's choosing and names
	// it in its ports file, so that no port is freed for it to take.
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--jetstream", "--store_dir", filepath.Join(dir, "store"), "--addr", "127.0.0.1", "--port", "-1", "--ports_file_dir", dir)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	portsFile := filepath.Join(dir, fmt.Sprintf("nats-server_%d.ports", cmd.Process.Pid))
	var ports struct{ Nats []string }
	if !servicetest.Poll(10*time.Second, func() bool {
		raw, err := os.ReadFile(portsFile)
		return err == nil && json.Unmarshal(raw, &ports) == nil && len(ports.Nats) > 0
	}) {
		b.Fatalf("nats-server did not start:\n%s", stderr.String())
	}
	return ports.Nats[0], cmd.Process.Pid
}

// processCPU is the CPU time another process has used, from /proc.
func processCPU(b *testing.B, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("CPU of process %d: %v", pid, err)
	}
	// The fields after the command name, which is in parentheses: utime
	// and stime are the 12th and 13th, in clock ticks of 1/100 s.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			b.Fatalf("CPU of process %d: %q: %v", pid, stat, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runLoad sends events on conns connections for d. With rate 0 each
// connection sends its next event as soon as the last is answered (peak);
// otherwise events are due at a fixed rate, and latency counts from when
// an event was due, so a server falling behind is not flattered.
func runLoad(b *testing.B, url string, body func(int64) []byte, seq *atomic.Int64, conns int, d time.Duration, rate float64, cpuTime func() time.Duration) loadResult {
	client := &http.Client{Transport: &http.Transport{
		MaxConnsPerHost: conns, MaxIdleConnsPerHost: conns, DisableCompression: true,
	}}
	defer client.CloseIdleConnections()

	stop := time.Now().Add(d)
	// At a fixed rate, connection c sends the events due at start +
	// (j*conns+c)*interval, as wrk2 does: no dispatcher in between, and a
	// late answer delays the next event without hiding that delay.
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}

	var (
		mu        sync.Mutex
		latencies []time.Duration
		failed    int
		wg        sync.WaitGroup
	)
	start, cpuStart := time.Now(), cpuTime()
	for c := range conns {
		wg.Go(func() {
			var local []time.Duration
			var bad int
			for j := 0; ; j++ {
				t0 := time.Now()
				if rate > 0 {
					t0 = start.Add(time.Duration(j*conns+c) * interval)
					time.Sleep(time.Until(t0))
				}
				if t0.After(stop) {
					break
				}
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body(seq.Add(1))))
				req.Header.Set("Content-Type", mediaStructured)
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != http.StatusAccepted {
					bad++
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, local...)
			failed += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuTime()-cpuStart
	if len(latencies) == 0 {
		b.Fatalf("%s: no request succeeded (%d failed)", url, failed)
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	return loadResult{
		rate:        float64(len(latencies)) / elapsed.Seconds(),
		p50:         pct(0.50),
		p99:         pct(0.99),
		requests:    len(latencies) + failed,
		failed:      failed,
		cpuPerEvent: cpu / time.Duration(len(latencies)),
	}
}
