package mendflowtest

import (
	"net/netip"

	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	dockernet "github.com/moby/moby/api/types/network"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// Ports the programs listen on inside the network.
const (
	simulatorPort = "9090/tcp"
	natsPort      = "4222/tcp"
	ingestPort    = "8080/tcp"
	workerPort    = "8081/tcp"
	pollerPort    = "8082/tcp"
)

// Names of the containers on the network (their aliases), as
// Container.Services names them.
const (
	ServiceSimulator = "mendsim"
	ServiceIngest    = "ingest"
	ServicePoller    = "poller"
)

// ErrNoPipeline is returned by the accessors of a part of the pipeline
// that Run did not start.
var ErrNoPipeline = errors.New("mendflowtest: not started: Run it WithPipeline")

// Container is the simulator's container, and the containers of the
// pipeline when Run started it, on a Docker network of their own. The
// embedded testcontainers.Container is the simulator's; Terminate removes
// them all.
type Container struct {
	testcontainers.Container

	network *testcontainers.DockerNetwork
	mu      sync.Mutex
	// services are the containers by name: mendsim, nats-1..n, ingest,
	// worker-1..n, poller.
	services  map[string]testcontainers.Container
	natsNodes int
	env       map[string]string // of the pipeline's services
	http      *http.Client      // for the simulator's control endpoints
}

// Run starts mendflow's Mend simulator in a container on a new Docker
// network, and with WithPipeline the whole pipeline beside it. img is the
// simulator's image; when empty, it is built from mendflow's source, as
// are the pipeline's images that WithImages does not name. It returns when
// every service answers its /readyz. On an error, the Container returned,
// if not nil, holds what was started, for Terminate.
func Run(ctx context.Context, img string, opts ...testcontainers.ContainerCustomizer) (*Container, error) {
	settings := defaultOptions()
	var simOpts []testcontainers.ContainerCustomizer
	for _, opt := range opts {
		if o, ok := opt.(Option); ok {
			if err := o(&settings); err != nil {
				return nil, err
			}
		} else {
			simOpts = append(simOpts, opt)
		}
	}
	withNATS := settings.pipeline || settings.natsNodes > 0
	if withNATS {
		settings.natsNodes = max(settings.natsNodes, 1)
	}
	settings.workers = max(settings.workers, 1)

	// What to build: every image not named.
	images := map[string]string{progSimulator: img}
	if withNATS {
		images[progNATS] = settings.images.NATS
	}
	if settings.pipeline {
		images[progIngest] = settings.images.Ingest
		images[progWorker] = settings.images.Worker
		images[progPoller] = settings.images.Poller
	}
	var toBuild []string
	for p, name := range images {
		if name == "" {
			toBuild = append(toBuild, p)
		}
	}
	slices.Sort(toBuild)
	if len(toBuild) > 0 {
		builtImages, err := built.get(ctx, settings.source, toBuild)
		if err != nil {
			return nil, err
		}
		maps.Copy(images, builtImages)
	}

	nw, err := network.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("mendflowtest: creating a Docker network: %w", err)
	}
	c := &Container{
		network: nw, services: map[string]testcontainers.Container{}, natsNodes: settings.natsNodes,
		http: &http.Client{Timeout: time.Minute},
	}

	// The simulator, with the caller's customizers last; its credentials
	// are then known for the services.
	sim := testcontainers.GenericContainerRequest{Started: true, ContainerRequest: testcontainers.ContainerRequest{
		Image:        images[progSimulator],
		Env:          map[string]string{"MENDSIM_ADDR": "0.0.0.0:9090"},
		ExposedPorts: []string{simulatorPort},
		WaitingFor:   wait.ForHTTP("/readyz").WithPort(simulatorPort),
	}}
	for _, opt := range simOpts {
		if err := opt.Customize(&sim); err != nil {
			return c, fmt.Errorf("mendflowtest: customizing the simulator: %w", err)
		}
	}

	// The services start when only the first NATS node runs, and the
	// others after them, as a deployment starts everything at once: each
	// waits for the cluster to form, then answers /readyz.
	var natsURLs []string
	for i := 1; i <= settings.natsNodes; i++ {
		natsURLs = append(natsURLs, fmt.Sprintf("nats://nats-%d:4222", i))
	}
	err = parallel(
		func() error { return c.start(ctx, ServiceSimulator, sim) },
		func() error {
			if !withNATS {
				return nil
			}
			return c.start(ctx, "nats-1", natsRequest(images[progNATS], 1, settings.natsNodes))
		},
	)
	if err == nil && settings.pipeline {
		c.env = pipelineEnv(sim.Env, strings.Join(natsURLs, ","), settings)
		var starts []func() error
		for _, s := range c.serviceRequests(images, settings.workers) {
			starts = append(starts, func() error { return c.start(ctx, s.name, s.req) })
		}
		err = parallel(starts...)
	}
	if err == nil {
		var starts []func() error
		for i := 2; i <= settings.natsNodes; i++ {
			starts = append(starts, func() error {
				return c.start(ctx, fmt.Sprintf("nats-%d", i), natsRequest(images[progNATS], i, settings.natsNodes))
			})
		}
		err = parallel(starts...)
	}
	if err == nil && settings.pipeline {
		err = c.waitReady(ctx)
	}
	return c, err
}

// service is one of the pipeline's containers to start.
type service struct {
	name string
	req  testcontainers.GenericContainerRequest
}

// serviceRequests are ingest, the workers and the poller, with c.env.
func (c *Container) serviceRequests(images map[string]string, workers int) []service {
	svc := func(name, prog, port, addrVar string) service {
		env := map[string]string{addrVar: "0.0.0.0:" + strings.TrimSuffix(port, "/tcp")}
		maps.Copy(env, c.env)
		if prog != progIngest {
			// The webhook secrets are ingest's alone.
			delete(env, "GITHUB_WEBHOOK_SECRET")
			delete(env, "GITLAB_WEBHOOK_TOKEN")
		}
		req := testcontainers.GenericContainerRequest{Started: true, ContainerRequest: testcontainers.ContainerRequest{
			Image:        images[prog],
			Env:          env,
			ExposedPorts: []string{port},
			// Alive and listening; /readyz waits for the NATS cluster.
			WaitingFor: wait.ForHTTP("/healthz").WithPort(port),
		}}
		return service{name, req}
	}
	out := []service{svc(ServiceIngest, progIngest, ingestPort, "INGEST_ADDR")}
	for i := 1; i <= workers; i++ {
		out = append(out, svc("worker-"+strconv.Itoa(i), progWorker, workerPort, "WORKER_ADDR"))
	}
	return append(out, svc(ServicePoller, progPoller, pollerPort, "POLLER_ADDR"))
}

// pipelineEnv is the environment of the pipeline's services: the
// simulator as Mend, with the credentials it accepts, NATS, the webhook
// secrets, and the caller's variables over them.
func pipelineEnv(simEnv map[string]string, natsURL string, settings options) map[string]string {
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	env := map[string]string{
		"NATS_URL":              natsURL,
		"STREAM_REPLICAS":       strconv.Itoa(settings.natsNodes),
		"MEND_URL":              "http://" + ServiceSimulator + ":9090",
		"MEND_USER_KEY":         or(simEnv["MENDSIM_USER_KEY"], mendsim.DefaultUserKey),
		"MEND_USER_EMAIL":       or(simEnv["MENDSIM_USER_EMAIL"], mendsim.DefaultUserEmail),
		"MEND_ORG_TOKEN":        or(simEnv["MENDSIM_ORG_TOKEN"], mendsim.DefaultOrgToken),
		"GITHUB_WEBHOOK_SECRET": DefaultGitHubWebhookSecret,
		"GITLAB_WEBHOOK_TOKEN":  DefaultGitLabWebhookToken,
	}
	maps.Copy(env, settings.env)
	return env
}

// natsRequest is node i of a JetStream cluster of n, routing to the
// others whether they run yet or not. It runs as root: its store is a
// directory it makes at / of an image FROM scratch.
func natsRequest(image string, i, n int) testcontainers.GenericContainerRequest {
	name := fmt.Sprintf("nats-%d", i)
	cmd := []string{"--name=" + name, "--jetstream", "--store_dir=/data"}
	if n > 1 {
		var routes []string
		for j := 1; j <= n; j++ {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats://nats-%d:6222", j))
			}
		}
		cmd = append(cmd, "--cluster_name=mendflow", "--cluster=nats://0.0.0.0:6222", "--routes="+strings.Join(routes, ","))
	}
	return testcontainers.GenericContainerRequest{Started: true, ContainerRequest: testcontainers.ContainerRequest{
		Image:        image,
		Cmd:          cmd,
		User:         "0:0",
		ExposedPorts: []string{natsPort},
		WaitingFor:   wait.ForLog("Server is ready").WithStartupTimeout(time.Minute),
	}}
}

// start starts a container and keeps it under name, even when it fails to
// start, so that Terminate removes it.
func (c *Container) start(ctx context.Context, name string, req testcontainers.GenericContainerRequest) error {
	if err := network.WithNetwork([]string{name}, c.network).Customize(&req); err != nil {
		return fmt.Errorf("mendflowtest: %w", err)
	}
	onLoopback(&req.ContainerRequest)
	ctr, err := testcontainers.GenericContainer(ctx, req)
	if ctr != nil {
		c.mu.Lock()
		c.services[name] = ctr
		if name == ServiceSimulator {
			c.Container = ctr
		}
		c.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("mendflowtest: starting %s: %w%s", name, err, logTail(ctr, 20))
	}
	return nil
}

// waitReady waits until every service of the pipeline answers /readyz:
// connected to NATS, its streams there.
func (c *Container) waitReady(ctx context.Context) error {
	ports := map[string]string{ServiceIngest: ingestPort, ServicePoller: pollerPort}
	var waits []func() error
	for name, ctr := range c.Services() {
		port, ok := ports[name]
		if strings.HasPrefix(name, "worker-") {
			port, ok = workerPort, true
		}
		if !ok {
			continue
		}
		waits = append(waits, func() error {
			err := wait.ForHTTP("/readyz").WithPort(port).WithStartupTimeout(2*time.Minute).WaitUntilReady(ctx, ctr)
			if err != nil {
				return fmt.Errorf("mendflowtest: %s not ready: %w%s", name, err, logTail(ctr, 20))
			}
			return nil
		})
	}
	return parallel(waits...)
}

// parallel runs the functions at once and returns their errors.
func parallel(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { errs[i] = fn() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// LogTail is the last n lines the service's container wrote (see
// Services for the names), to show why a test failed.
func (c *Container) LogTail(ctx context.Context, service string, n int) (string, error) {
	ctr := c.Services()[service]
	if ctr == nil {
		return "", fmt.Errorf("mendflowtest: no service %s", service)
	}
	return tail(ctx, ctr, n)
}

func tail(ctx context.Context, ctr testcontainers.Container, n int) (string, error) {
	rc, err := ctr.Logs(ctx)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n"), err
}

// logTail is the end of a container's log for an error saying it failed.
func logTail(ctr testcontainers.Container, n int) string {
	if ctr == nil {
		return ""
	}
	out, err := tail(context.Background(), ctr, n)
	if err != nil {
		return ""
	}
	return "\nlast lines of its log:\n" + out
}

// Terminate stops and removes every container and the network.
func (c *Container) Terminate(ctx context.Context, opts ...testcontainers.TerminateOption) error {
	if c == nil {
		return nil
	}
	var stops []func() error
	for _, ctr := range c.Services() {
		stops = append(stops, func() error { return ctr.Terminate(ctx, opts...) })
	}
	errs := []error{parallel(stops...)}
	if c.network != nil {
		errs = append(errs, c.network.Remove(ctx))
	}
	return errors.Join(errs...)
}

// Services are the containers by name (their alias on the network):
// mendsim; with NATS, nats-1 to nats-n; with the pipeline, ingest,
// worker-1 to worker-n and poller.
func (c *Container) Services() map[string]testcontainers.Container {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.services)
}

// Network is the Docker network of the containers, for a container of
// your own to join (network.WithNetwork). On it, the simulator is
// http://mendsim:9090, ingest http://ingest:8080 and NATS
// nats://nats-1:4222.
func (c *Container) Network() *testcontainers.DockerNetwork { return c.network }

// SimulatorURL is the simulator's base URL from the host: MEND_URL for a
// Mend client under test. It accepts the credentials mendsim.DefaultUserKey,
// DefaultUserEmail and DefaultOrgToken unless the simulator's environment
// (MENDSIM_USER_KEY, ...) says otherwise.
func (c *Container) SimulatorURL(ctx context.Context) (string, error) {
	if c.Container == nil {
		return "", errors.New("mendflowtest: the simulator did not start")
	}
	return c.PortEndpoint(ctx, simulatorPort, "http")
}

// IngestURL is ingest's base URL from the host: POST /events and
// /webhooks/github, /webhooks/gitlab.
func (c *Container) IngestURL(ctx context.Context) (string, error) {
	ctr := c.Services()[ServiceIngest]
	if ctr == nil {
		return "", ErrNoPipeline
	}
	return ctr.PortEndpoint(ctx, ingestPort, "http")
}

// NATSURL is the NATS URL from the host, every node's address
// comma-separated as nats.Connect takes them.
func (c *Container) NATSURL(ctx context.Context) (string, error) {
	if c.natsNodes == 0 {
		return "", ErrNoPipeline
	}
	services := c.Services()
	var urls []string
	for i := 1; i <= c.natsNodes; i++ {
		ctr := services[fmt.Sprintf("nats-%d", i)]
		if ctr == nil {
			return "", ErrNoPipeline
		}
		u, err := ctr.PortEndpoint(ctx, natsPort, "nats")
		if err != nil {
			return "", err
		}
		urls = append(urls, u)
	}
	return strings.Join(urls, ","), nil
}

// GitHubWebhookSecret is the secret ingest checks GitHub deliveries'
// signatures with.
func (c *Container) GitHubWebhookSecret() string { return c.env["GITHUB_WEBHOOK_SECRET"] }

// GitLabWebhookToken is the token ingest expects in GitLab hooks.
func (c *Container) GitLabWebhookToken() string { return c.env["GITLAB_WEBHOOK_TOKEN"] }

// onLoopback publishes the container's exposed ports on the host's
// loopback interface only, after any host configuration the request has:
// a test's servers are not for the network the host is on.
func onLoopback(req *testcontainers.ContainerRequest) {
	before := req.HostConfigModifier
	req.HostConfigModifier = func(hc *container.HostConfig) {
		if before != nil {
			before(hc)
		}
		if hc.PortBindings == nil {
			hc.PortBindings = dockernet.PortMap{}
		}
		for _, p := range req.ExposedPorts {
			port := dockernet.MustParsePort(p)
			if _, set := hc.PortBindings[port]; !set {
				hc.PortBindings[port] = []dockernet.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1")}}
			}
		}
	}
}
