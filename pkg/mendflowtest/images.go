package mendflowtest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Programs whose images the module builds, and the packages they are built
// from: the NATS server comes from the module mendflow pins (a tool in its
// go.mod), so that nothing is pulled from a registry.
const (
	progNATS      = "nats-server"
	progSimulator = "mendsim"
	progIngest    = "ingest"
	progWorker    = "worker"
	progPoller    = "poller"
)

var programPackages = map[string]string{
	progNATS:      "github.com/nats-io/nats-server/v2",
	progSimulator: "./cmd/mendsim",
	progIngest:    "./cmd/ingest",
	progWorker:    "./cmd/worker",
	progPoller:    "./cmd/poller",
}

// modulePath is mendflow's module, whose source the images are built from.
const modulePath = "github.com/mendflow/mendflow"

// imageLabel marks the images the module builds, so that they can be
// removed at once: docker image prune -a --filter label=io.mendflow.mendflowtest
const imageLabel = "io.mendflow.mendflowtest"

// built remembers, for the test binary's whole run, the images already
// built: every Run of a test package after the first starts at once. It is
// process-wide state because that is the lifetime of what it caches.
var built = &imageCache{images: map[string]string{}}

type imageCache struct {
	mu     sync.Mutex
	images map[string]string // source directory + program: image
}

// get returns the image of each program, building from src (found with
// go list when empty) those not built yet in this process.
func (ic *imageCache) get(ctx context.Context, src string, programs []string) (map[string]string, error) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if src == "" {
		var err error
		if src, err = findSource(ctx); err != nil {
			return nil, err
		}
	}
	out := map[string]string{}
	var missing []string
	for _, p := range programs {
		if img, ok := ic.images[src+"\x00"+p]; ok {
			out[p] = img
		} else {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	images, err := buildImages(ctx, src, missing)
	if err != nil {
		return nil, err
	}
	for p, img := range images {
		ic.images[src+"\x00"+p] = img
		out[p] = img
	}
	return out, nil
}

// findSource is the directory of mendflow's module in the build list of
// the current directory.
func findSource(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", modulePath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		return "", fmt.Errorf("mendflowtest: finding %s's source to build its images (go list -m): %v %s; name it with WithSource, or name prebuilt images",
			modulePath, err, strings.TrimSpace(stderr.String()))
	}
	return dir, nil
}

// buildImages builds static binaries of the programs from src for the
// Docker engine's platform, and an image FROM scratch of each with
// deploy/scratch.Dockerfile, as `make images` does. An image is tagged with
// the hash of what it holds, and not built again while one of that tag
// exists: test packages run by one `go test ./...`, and later runs, share
// them.
func buildImages(ctx context.Context, src string, programs []string) (map[string]string, error) {
	dockerfile, err := os.ReadFile(filepath.Join(src, "deploy", "scratch.Dockerfile"))
	if err != nil {
		return nil, fmt.Errorf("mendflowtest: %s is no mendflow source: %w", src, err)
	}
	provider, err := testcontainers.NewDockerProvider()
	if err != nil {
		return nil, fmt.Errorf("mendflowtest: %w", err)
	}
	defer provider.Close()
	info, err := provider.Client().Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, fmt.Errorf("mendflowtest: asking the Docker engine its platform: %w", err)
	}
	if info.Info.OSType != "linux" {
		return nil, fmt.Errorf("mendflowtest: the Docker engine runs %s containers; the images are Linux ones", info.Info.OSType)
	}
	goarch := goArch(info.Info.Architecture)

	binaries, done, err := buildBinaries(ctx, src, goarch)
	if err != nil {
		return nil, err
	}
	defer done()
	certs := caBundle()
	images := map[string]string{}
	for _, p := range programs {
		bin, err := os.ReadFile(filepath.Join(binaries, p))
		if err != nil {
			return nil, fmt.Errorf("mendflowtest: %w", err)
		}
		h := sha256.New()
		for _, part := range [][]byte{dockerfile, certs, bin} {
			fmt.Fprintf(h, "%d\n", len(part))
			h.Write(part)
		}
		repo, tag := "mendflowtest/"+p, hex.EncodeToString(h.Sum(nil))[:20]
		img := repo + ":" + tag
		if _, err := provider.Client().ImageInspect(ctx, img); err == nil {
			images[p] = img
			continue
		}
		archive, err := buildContext([]contextFile{{"Dockerfile", dockerfile, 0o644}, {"ca-certificates.crt", certs, 0o644}, {p, bin, 0o755}})
		if err != nil {
			return nil, fmt.Errorf("mendflowtest: %w", err)
		}
		if err := buildImage(ctx, provider.Client(), archive, p, img); err != nil {
			return nil, fmt.Errorf("mendflowtest: building the image of %s: %w", p, err)
		}
		images[p] = img
	}
	return images, nil
}

// buildImage builds the image tagged img of program from the context
// archive. It calls the engine itself: testcontainers' BuildImage took
// seconds more per image here (it first reads the Dockerfile's base images
// and looks up registry credentials for them), where the engine builds an
// image FROM scratch in a fraction of a second.
func buildImage(ctx context.Context, cli client.APIClient, archive []byte, program, img string) error {
	resp, err := cli.ImageBuild(ctx, bytes.NewReader(archive), client.ImageBuildOptions{
		Tags:        []string{img},
		BuildArgs:   map[string]*string{"BIN": &program},
		Labels:      map[string]string{imageLabel: "true"},
		Remove:      true,
		ForceRemove: true,
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// The engine reports a failed build in the stream of messages.
	dec := json.NewDecoder(resp.Body)
	for {
		var m struct {
			Error string `json:"error"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
	}
}

// goArch is Go's name for the engine's architecture (uname -m).
func goArch(machine string) string {
	switch machine {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	case "armv7l":
		return "arm"
	case "s390x", "ppc64le", "riscv64":
		return machine
	}
	return runtime.GOARCH
}

// buildBinaries builds every program with CGO off for linux/goarch. Where
// the directory can be locked, the binaries go to one kept in the user's
// cache for this source and platform: go build finds them up to date and
// links nothing again, which saves most of the build's time (linking the
// five programs takes half a minute on two cores). All five are built at
// once even when fewer are asked for: one go build links them in
// parallel, and a test package that starts the simulator alone first and
// the pipeline next (or two packages doing so) would otherwise pay for
// two builds. done releases the directory.
func buildBinaries(ctx context.Context, src, goarch string) (dir string, done func(), err error) {
	if _, err := exec.LookPath("go"); err != nil {
		return "", nil, errors.New("mendflowtest: building mendflow's images needs the go command; name prebuilt images instead")
	}
	dir, done, err = binaryDir(src, goarch)
	if err != nil {
		return "", nil, fmt.Errorf("mendflowtest: %w", err)
	}
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}
	for _, pkg := range programPackages {
		args = append(args, pkg)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = src
	// The source may be a read-only module cache directory, built with
	// mendflow's own go.mod whatever the caller's workspace says.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOWORK=off", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		done()
		return "", nil, fmt.Errorf("mendflowtest: building mendflow's programs in %s: %v\n%s", src, err, out)
	}
	return dir, done, nil
}

// binaryDir is the directory the binaries are built into, locked against
// other test processes building into it at the same time. Where no lock
// can be had, it is a new temporary directory, removed by done.
func binaryDir(src, goarch string) (string, func(), error) {
	if cache, err := os.UserCacheDir(); err == nil {
		key := sha256.Sum256([]byte(src))
		dir := filepath.Join(cache, "mendflowtest", hex.EncodeToString(key[:8])+"-linux-"+goarch)
		if err := os.MkdirAll(dir, 0o755); err == nil {
			if unlock, err := lockDir(dir); err == nil {
				return dir, unlock, nil
			}
		}
	}
	dir, err := os.MkdirTemp("", "mendflowtest-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}

// caBundle is the host's CA bundle, which the images hold as `make images`
// gives them theirs, or none where the host has none of these (the
// simulator is called over plain HTTP).
func caBundle() []byte {
	for _, f := range []string{
		"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Alpine
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // Fedora, RHEL
		"/etc/ssl/cert.pem",                                 // macOS, BSDs
	} {
		if b, err := os.ReadFile(f); err == nil {
			return b
		}
	}
	return nil
}

// contextFile is one file of an image's build context.
type contextFile struct {
	name string
	data []byte
	mode int64
}

// buildContext is a tar archive of the files, with nothing of the host's
// (owner, times) in it.
func buildContext(files []contextFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
