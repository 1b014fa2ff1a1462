// Package e2e runs mendflow in the shape it is deployed in: every service in
// its own container, built from this repository with no registry, on a
// 3-node NATS JetStream cluster, in a Docker network the test makes itself.
// It starts them with pkg/mendflowtest, as other teams' tests do. Where no
// Docker engine answers, the tests skip and say so.
package e2e

import (
	"context"
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/testcontainers/testcontainers-go"

	"github.com/mendflow/mendflow/pkg/mendflowtest"
)

func TestMain(m *testing.M) {
	// The reaper's image cannot be pulled without a registry; each test
	// removes its own containers and network instead.
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	// Where the tests run in a container with its own Docker engine,
	// testcontainers would look for the published ports at the
	// container's default gateway; they are on this host.
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
		os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}
	os.Exit(m.Run())
}

// run starts mendflow's containers with mendflowtest, and removes them
// when the test ends; a failed test shows the end of each one's log.
func run(t *testing.T, opts ...testcontainers.ContainerCustomizer) *mendflowtest.Container {
	t.Helper()
	testcontainers.SkipIfProviderIsNotHealthy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := mendflowtest.Run(ctx, "", opts...)
	testcontainers.CleanupContainer(t, c)
	// Runs before the containers are removed.
	t.Cleanup(func() {
		if !t.Failed() || c == nil {
			return
		}
		for _, name := range slices.Sorted(maps.Keys(c.Services())) {
			out, _ := c.LogTail(context.Background(), name, 40)
			t.Logf("logs of %s:\n%s", name, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// connect connects to NATS from the host, through every node's published
// port.
func connect(t *testing.T, c *mendflowtest.Container) *nats.Conn {
	t.Helper()
	urls, err := c.NATSURL(context.Background())
	if err != nil {
		t.Fatal(err)
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

// kill sends SIGKILL to a service's process: no shutdown of its own, as
// when a machine or the kernel's OOM killer ends it.
func kill(t *testing.T, c *mendflowtest.Container, service string) {
	t.Helper()
	ctr := c.Services()[service]
	if ctr == nil {
		t.Fatalf("no service %s", service)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.ContainerKill(ctx, ctr.GetContainerID(), client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		t.Fatalf("killing %s: %v", service, err)
	}
}
