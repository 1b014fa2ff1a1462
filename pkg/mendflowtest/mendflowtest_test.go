package mendflowtest_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/mendflow/mendflow/pkg/mend/mendsim"
	"github.com/mendflow/mendflow/pkg/mendflowtest"
)

// TestMain skips the Example where no Docker engine answers: an Example
// cannot skip itself, and it should still run, with its output checked,
// where Docker does.
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
	flag.Parse()
	if err := dockerHealth(); err != nil {
		skip := flag.Lookup("test.skip")
		pattern := "^Example"
		if v := skip.Value.String(); v != "" {
			pattern = v + "|" + pattern
		}
		_ = skip.Value.Set(pattern)
		fmt.Printf("mendflowtest: the examples are skipped: no Docker engine answers: %v\n", err)
	}
	os.Exit(m.Run())
}

// dockerHealth is what testcontainers.SkipIfProviderIsNotHealthy checks.
func dockerHealth() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	p, err := testcontainers.ProviderDefault.GetProvider()
	if err != nil {
		return err
	}
	defer p.Close()
	return p.Health(context.Background())
}

// TestSimulatorAlone starts the simulator alone and drives it through its
// control endpoints, as a test of a Mend client would.
func TestSimulatorAlone(t *testing.T) {
	testcontainers.SkipIfProviderIsNotHealthy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := mendflowtest.Run(ctx, "")
	testcontainers.CleanupContainer(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if names := keys(c.Services()); !slices.Equal(names, []string{"mendsim"}) {
		t.Errorf("services %v, want only mendsim", names)
	}
	if _, err := c.IngestURL(ctx); !errors.Is(err, mendflowtest.ErrNoPipeline) {
		t.Errorf("IngestURL without the pipeline: %v, want ErrNoPipeline", err)
	}
	if _, err := c.NATSURL(ctx); !errors.Is(err, mendflowtest.ErrNoPipeline) {
		t.Errorf("NATSURL without the pipeline: %v, want ErrNoPipeline", err)
	}

	if err := c.SetFault(ctx, mendsim.Fault{Op: "createProduct", Status: http.StatusServiceUnavailable, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if status := createProduct(t, c, "payments"); status != http.StatusServiceUnavailable {
		t.Errorf("createProduct under the fault answered %d, want 503", status)
	}
	if status := createProduct(t, c, "payments"); status != http.StatusOK {
		t.Errorf("createProduct after the fault answered %d, want 200", status)
	}
	calls, err := c.CallsOf(ctx, "createProduct")
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || !calls[0].Fault || !calls[1].OK() {
		t.Errorf("calls %+v, want one faulted and one OK", calls)
	}
	if !hasProduct(t, c, "payments") {
		t.Error("the state has no product payments")
	}

	if err := c.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if hasProduct(t, c, "payments") {
		t.Error("product payments still there after Reset")
	}
	if calls, err := c.Calls(ctx); err != nil || len(calls) != 0 {
		t.Errorf("calls after Reset: %v %v, want none", calls, err)
	}
}

// createProduct calls the v1.4 API as any Mend client does and returns
// the HTTP status.
func createProduct(t *testing.T, c *mendflowtest.Container, name string) int {
	t.Helper()
	base, err := c.SimulatorURL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"requestType": "createProduct", "userKey": %q, "orgToken": %q, "productName": %q}`,
		mendsim.DefaultUserKey, mendsim.DefaultOrgToken, name)
	resp, err := http.Post(base+"/api/v1.4", "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && strings.Contains(string(answer), "errorCode") {
		t.Fatalf("createProduct %s: %s", name, answer)
	}
	return resp.StatusCode
}

func hasProduct(t *testing.T, c *mendflowtest.Container, name string) bool {
	t.Helper()
	state, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range state.Organizations {
		for _, p := range o.Products {
			if p.Name == name {
				return true
			}
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestRunRefusesBadOptions: a wrong option fails before anything starts.
func TestRunRefusesBadOptions(t *testing.T) {
	for _, opt := range []mendflowtest.Option{mendflowtest.WithNATSCluster(0), mendflowtest.WithNATSCluster(6), mendflowtest.WithWorkers(0)} {
		c, err := mendflowtest.Run(context.Background(), "", opt)
		if err == nil || c != nil {
			t.Errorf("Run with a bad option: %v, %v; want an error and no container", c, err)
		}
	}
}
