// Package e2e runs mendflow in the shape it is deployed in: every service in
// its own container, built from this repository with no registry, on a
// 3-node NATS JetStream cluster, in a Docker network the test makes itself.
// Where no Docker engine answers, the tests skip and say so.
package e2e

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	dockernet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

func TestMain(m *testing.M) {
	// The reaper's image cannot be pulled without a registry; each test
	// removes its own containers and network instead.
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	// Ports are published on the loopback interface only; where the tests
	// themselves run in a container, testcontainers would otherwise look
	// for them at the Docker gateway's address, and its wait strategies
	// would never reach them.
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
		os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// programs are the binaries the images hold; nats-server is built from the
// module this repository pins.
var programs = map[string]string{
	"nats-server": "github.com/nats-io/nats-server/v2",
	"mendsim":     "./cmd/mendsim",
	"ingest":      "./cmd/ingest",
	"worker":      "./cmd/worker",
	"poller":      "./cmd/poller",
}

var (
	buildMu  sync.Mutex
	binDir   string
	built    = map[string]bool{}
	buildErr error
)

// buildBinary compiles a static binary of program, once per test run, into
// a directory that also holds the scratch Dockerfile, the images' build
// context.
func buildBinary(t *testing.T, program string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if binDir == "" {
		if binDir, buildErr = os.MkdirTemp("", "mendflow-e2e-"); buildErr != nil {
			t.Fatal(buildErr)
		}
		dockerfile, err := os.ReadFile(filepath.Join(root, "deploy", "scratch.Dockerfile"))
		if err == nil {
			err = os.WriteFile(filepath.Join(binDir, "Dockerfile"), dockerfile, 0o644)
		}
		// The Dockerfile copies the CA bundle from its context, as
		// `make images` provides it.
		var certs []byte
		if err == nil {
			certs, err = os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(binDir, "ca-certificates.crt"), certs, 0o644)
		}
		if buildErr = err; err != nil {
			t.Fatal(err)
		}
	}
	if !built[program] {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(binDir, program), programs[program])
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", program, err, out)
		}
		built[program] = true
	}
	return binDir
}

// requireDocker skips the test where no Docker engine answers.
func requireDocker(t *testing.T) {
	t.Helper()
	testcontainers.SkipIfProviderIsNotHealthy(t)
}

// env is one test's Docker network and containers, removed at its end.
type env struct {
	t   *testing.T
	net *testcontainers.DockerNetwork
}

func newEnv(t *testing.T) *env {
	t.Helper()
	requireDocker(t)
	ctx := context.Background()
	nw, err := network.New(ctx)
	if err != nil {
		t.Fatalf("creating a Docker network: %v", err)
	}
	t.Cleanup(func() { _ = nw.Remove(context.Background()) })
	return &env{t: t, net: nw}
}

// start runs program in a container named alias on the test's network. Its
// ports are published on the host's loopback interface only.
func (e *env) start(alias, program string, cmd []string, envVars map[string]string, ports []string, waitFor wait.Strategy) testcontainers.Container {
	e.t.Helper()
	bin := buildBinary(e.t, program)
	req := testcontainers.ContainerRequest{
		FromDockerfile: testcontainers.FromDockerfile{
			Context:    bin,
			Dockerfile: "Dockerfile",
			BuildArgs:  map[string]*string{"BIN": &program},
			Repo:       "mendflow-e2e/" + program,
			Tag:        "test",
			KeepImage:  true,
		},
		Cmd:          cmd,
		Env:          envVars,
		ExposedPorts: ports,
		User:         "0:0",
		WaitingFor:   waitFor,
		// Published ports listen on the host's loopback interface only.
		HostConfigModifier: func(hc *container.HostConfig) {
			hc.PortBindings = dockernet.PortMap{}
			for _, p := range ports {
				hc.PortBindings[dockernet.MustParsePort(p)] = []dockernet.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1")}}
			}
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	gcr := testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true}
	if err := network.WithNetwork([]string{alias}, e.net).Customize(&gcr); err != nil {
		e.t.Fatal(err)
	}
	c, err := testcontainers.GenericContainer(ctx, gcr)
	if c != nil {
		e.t.Cleanup(func() { _ = c.Terminate(context.Background()) })
		// Runs before the container is removed: a failed test shows why.
		e.t.Cleanup(func() {
			if e.t.Failed() {
				e.t.Logf("logs of %s:\n%s", alias, tail(c, 40))
			}
		})
	}
	if err != nil {
		e.t.Fatalf("starting %s: %v", alias, err)
	}
	return c
}

// tail is the last n lines a container wrote.
func tail(c testcontainers.Container, n int) string {
	rc, err := c.Logs(context.Background())
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	out, _ := io.ReadAll(rc)
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// hostURL is the host-side address of a published container port.
func hostURL(t *testing.T, c testcontainers.Container, port, scheme string) string {
	t.Helper()
	ctx := context.Background()
	p, err := c.MappedPort(ctx, port)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s://127.0.0.1:%s", scheme, p.Port())
}

// natsCluster starts n NATS servers with JetStream that route to each other.
func (e *env) natsCluster(n int) []testcontainers.Container {
	e.t.Helper()
	var nodes []testcontainers.Container
	for i := 1; i <= n; i++ {
		nodes = append(nodes, e.natsNode(i, n))
	}
	return nodes
}

// natsNode starts node i of a cluster of n: nats-i, routing to the others
// whether they run yet or not.
func (e *env) natsNode(i, n int) testcontainers.Container {
	e.t.Helper()
	name := fmt.Sprintf("nats-%d", i)
	var routes []string
	for j := 1; j <= n; j++ {
		if j != i {
			routes = append(routes, fmt.Sprintf("nats://nats-%d:6222", j))
		}
	}
	return e.start(name, "nats-server", []string{
		"--name=" + name, "--jetstream", "--store_dir=/data", "--http_port=8222",
		"--cluster_name=mendflow", "--cluster=nats://0.0.0.0:6222", "--routes=" + strings.Join(routes, ","),
	}, nil, []string{"4222/tcp", "8222/tcp"}, wait.ForLog("Server is ready").WithStartupTimeout(time.Minute))
}

// connect connects to the cluster from the host, through every node's
// published port.
func connect(t *testing.T, nodes []testcontainers.Container) *nats.Conn {
	t.Helper()
	var urls string
	for i, n := range nodes {
		if i > 0 {
			urls += ","
		}
		urls += hostURL(t, n, "4222/tcp", "nats")
	}
	nc, err := nats.Connect(urls, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatalf("connecting to the cluster: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// waitJetStream waits until the cluster has elected its JetStream meta
// leader and answers account requests.
func waitJetStream(t *testing.T, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return js
		}
		if time.Now().After(deadline) {
			t.Fatalf("JetStream not ready in the cluster: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kill sends SIGKILL to a container's process: no shutdown of its own, as
// when a machine or the kernel's OOM killer ends it.
func (e *env) kill(c testcontainers.Container) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.ContainerKill(ctx, c.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		e.t.Fatalf("killing a container: %v", err)
	}
}
