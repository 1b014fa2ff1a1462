package mendflowtest

import (
	"context"
	"strings"
	"testing"

	"github.com/testcontainers/testcontainers-go"
)

// TestBuildImageReportsFailure: the engine answers a failed build with 200
// and the error in its message stream, which must not pass for success.
func TestBuildImageReportsFailure(t *testing.T) {
	testcontainers.SkipIfProviderIsNotHealthy(t)
	cli, err := testcontainers.NewDockerClientWithOpts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	// The Dockerfile copies a binary the context lacks.
	archive, err := buildContext([]contextFile{{"Dockerfile", []byte("FROM scratch\nARG BIN\nCOPY ${BIN} /app\n"), 0o644}})
	if err != nil {
		t.Fatal(err)
	}
	err = buildImage(context.Background(), cli, archive, "ingest", "mendflowtest/broken:test")
	if err == nil || !strings.Contains(err.Error(), "ingest") {
		t.Fatalf("building from a context without the binary: %v, want an error naming it", err)
	}
}
