// Package deploy holds mendflow's images, compose file and Kubernetes
// manifests; its test checks the promises they make to operators.
package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// object is the part of a Kubernetes object the checks read.
type object struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
				Containers                    []struct {
					Name string `yaml:"name"`
					Env  []struct {
						Name  string `yaml:"name"`
						Value string `yaml:"value"`
					} `yaml:"env"`
					Args      []string `yaml:"args"`
					Lifecycle struct {
						PreStop struct {
							Exec struct {
								Command []string `yaml:"command"`
							} `yaml:"exec"`
						} `yaml:"preStop"`
					} `yaml:"lifecycle"`
					StartupProbe   *probe `yaml:"startupProbe"`
					LivenessProbe  *probe `yaml:"livenessProbe"`
					ReadinessProbe *probe `yaml:"readinessProbe"`
					Resources      struct {
						Requests map[string]string `yaml:"requests"`
						Limits   map[string]string `yaml:"limits"`
					} `yaml:"resources"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []any `yaml:"volumeClaimTemplates"`
	} `yaml:"spec"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
	} `yaml:"httpGet"`
}

func readObjects(t *testing.T, dir string) []object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", dir, err)
	}
	var out []object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o object
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.Kind != "" {
				out = append(out, o)
			}
		}
	}
	return out
}

func TestKubernetesBase(t *testing.T) {
	t.Parallel()
	objs := readObjects(t, "k8s/base")
	byKind := map[string][]object{}
	for _, o := range objs {
		byKind[o.Kind] = append(byKind[o.Kind], o)
	}

	// Every resource the kustomization lists exists.
	var kust struct {
		Resources []string `yaml:"resources"`
	}
	data, err := os.ReadFile("k8s/base/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &kust); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	for _, r := range kust.Resources {
		if _, err := os.Stat(filepath.Join("k8s/base", r)); err != nil {
			t.Errorf("kustomization lists %s: %v", r, err)
		}
	}

	pdbs := map[string]bool{}
	for _, p := range byKind["PodDisruptionBudget"] {
		pdbs[p.Spec.Selector.MatchLabels["app.kubernetes.io/name"]] = true
	}
	var services []string
	for _, d := range byKind["Deployment"] {
		services = append(services, d.Metadata.Name)
		c := d.Spec.Template.Spec.Containers[0]
		if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
			t.Errorf("%s: want liveness on /healthz and readiness on /readyz", d.Metadata.Name)
		}
		// A service answers /healthz while it waits for a forming NATS
		// cluster; the startup probe bounds how long a first answer may take.
		if c.StartupProbe == nil || c.StartupProbe.HTTPGet.Path != "/healthz" {
			t.Errorf("%s: want a startup probe on /healthz", d.Metadata.Name)
		}
		if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
			t.Errorf("%s: want cpu and memory requests and a memory limit", d.Metadata.Name)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
			t.Errorf("%s: want at least 2 replicas", d.Metadata.Name)
		}
		if !pdbs[d.Metadata.Name] {
			t.Errorf("%s: no PodDisruptionBudget", d.Metadata.Name)
		}
	}
	slices.Sort(services)
	if want := []string{"ingest", "poller", "worker"}; !slices.Equal(services, want) {
		t.Errorf("Deployments %v, want %v", services, want)
	}

	if len(byKind["StatefulSet"]) != 1 {
		t.Fatalf("want one StatefulSet (NATS), got %d", len(byKind["StatefulSet"]))
	}
	nats := byKind["StatefulSet"][0]
	// The README finds every pod's logs by the part-of label.
	for _, o := range append(slices.Clone(byKind["Deployment"]), nats) {
		if l := o.Spec.Template.Metadata.Labels["app.kubernetes.io/part-of"]; l != "mendflow" {
			t.Errorf("%s %s: pod template labelled part-of %q, want mendflow", o.Kind, o.Metadata.Name, l)
		}
	}
	if nats.Spec.Replicas == nil || *nats.Spec.Replicas != 3 || len(nats.Spec.VolumeClaimTemplates) == 0 || !pdbs["nats"] {
		t.Errorf("NATS: want 3 replicas, a volume each and a PodDisruptionBudget")
	}
	// nats-server exits at once on SIGTERM; only lame duck mode (SIGUSR2,
	// nats-server --signal ldm) moves its clients to the other nodes over
	// lame_duck_duration. A preStop hook must enter it before Kubernetes
	// sends SIGTERM, and the pod be given the time it takes.
	for _, cm := range byKind["ConfigMap"] {
		if cm.Metadata.Name != "nats" {
			continue
		}
		m := regexp.MustCompile(`(?m)^\s*lame_duck_duration:\s*(\S+)`).FindStringSubmatch(cm.Data["nats.conf"])
		if m == nil {
			continue
		}
		ldm, err := time.ParseDuration(m[1])
		if err != nil {
			t.Fatalf("nats.conf: lame_duck_duration %q: %v", m[1], err)
		}
		c := nats.Spec.Template.Spec.Containers[0]
		if cmd := strings.Join(c.Lifecycle.PreStop.Exec.Command, " "); !regexp.MustCompile(`--signal ldm=\S+|-sl ldm=\S+`).MatchString(cmd) {
			t.Errorf("NATS: preStop %q does not put the server in lame duck mode: lame_duck_duration %v never applies", cmd, ldm)
		}
		// lame_duck_grace_period defaults to 10s.
		if kill := time.Duration(nats.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second; kill <= ldm+10*time.Second {
			t.Errorf("NATS: terminationGracePeriodSeconds %v, want more than lame_duck_duration and its grace period (%v)", kill, ldm+10*time.Second)
		}
	}

	var config map[string]string // the mendflow ConfigMap's data
	for _, cm := range byKind["ConfigMap"] {
		if cm.Metadata.Name == "mendflow" {
			config = cm.Data
		}
		if cm.Metadata.Name == "mendflow" && cm.Data["STREAM_REPLICAS"] != "3" {
			t.Errorf("STREAM_REPLICAS = %q, want 3 on a 3-node cluster", cm.Data["STREAM_REPLICAS"])
		}
		if cm.Metadata.Name == "nats" && strings.Count(cm.Data["nats.conf"], "nats://nats-") != 3 {
			t.Errorf("nats.conf routes to %d nodes, want 3", strings.Count(cm.Data["nats.conf"], "nats://nats-"))
		}
	}

	// Kubernetes kills a pod terminationGracePeriodSeconds after SIGTERM: a
	// worker's or poller's must outlast its shutdown grace, after which it
	// still hands back what it holds and drains its NATS connection.
	shutdownGrace := map[string]struct{ variable, source string }{
		"worker": {"WORKER_SHUTDOWN_GRACE", "../internal/worker/settings.go"},
		"poller": {"POLLER_SHUTDOWN_GRACE", "../internal/poller/config.go"},
	}
	checked := 0
	for _, d := range byKind["Deployment"] {
		g, ok := shutdownGrace[d.Metadata.Name]
		if !ok {
			continue
		}
		checked++
		variable := g.variable
		value, set := config[variable]
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			if e.Name == variable {
				value, set = e.Value, true
			}
		}
		if !set {
			value = defaultOf(t, g.source, variable)
		}
		grace, err := time.ParseDuration(value)
		if err != nil {
			t.Fatalf("%s: %s = %q: %v", d.Metadata.Name, variable, value, err)
		}
		if kill := time.Duration(d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second; kill <= grace {
			t.Errorf("%s: terminationGracePeriodSeconds %v, want more than %s (%v)", d.Metadata.Name, kill, variable, grace)
		}
	}
	if checked != len(shutdownGrace) {
		t.Errorf("checked the termination grace of %d Deployments, want %d (worker and poller)", checked, len(shutdownGrace))
	}
}

// defaultOf is the default of an environment variable, read from the
// struct tag in the Go source that declares it.
func defaultOf(t *testing.T, source, variable string) string {
	t.Helper()
	src, err := os.ReadFile(source)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`env:"` + variable + `, default=([^",]+)"`).FindSubmatch(src)
	if m == nil {
		t.Fatalf("%s: no default of %s", source, variable)
	}
	return string(m[1])
}

func TestCompose(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("docker-compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	var nats, workers int
	for name, s := range compose.Services {
		switch {
		case strings.HasPrefix(name, "nats-"):
			nats++
			if !strings.Contains(strings.Join(s.Command, " "), "--routes=") || !slices.Contains(s.Command, "--jetstream") {
				t.Errorf("%s: want JetStream and routes to the other nodes", name)
			}
		case strings.HasPrefix(name, "worker"):
			workers++
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %s beyond the loopback interface", name, p)
			}
		}
	}
	if nats != 3 || workers != 2 {
		t.Errorf("%d NATS nodes and %d workers, want 3 and 2", nats, workers)
	}
	if _, ok := compose.Services["mendsim"]; !ok {
		t.Error("no mendsim service")
	}
	for _, svc := range []string{"ingest", "worker-1", "worker-2", "poller"} {
		s, ok := compose.Services[svc]
		if !ok {
			t.Errorf("no %s service", svc)
			continue
		}
		env := s.Environment
		if env["STREAM_REPLICAS"] != "3" || strings.Count(env["NATS_URL"], "nats://") != 3 {
			t.Errorf("%s: STREAM_REPLICAS=%q, NATS_URL=%q; want 3 and all three NATS nodes", svc, env["STREAM_REPLICAS"], env["NATS_URL"])
		}
		// The README promises that the Mend variables set in the
		// environment point compose at a real Mend: each is ${VAR:-default}.
		for _, v := range []string{"MEND_URL", "MEND_API_URL", "MEND_USER_KEY", "MEND_USER_EMAIL", "MEND_ORG_TOKEN", "MEND_LOGIN_V3"} {
			if !strings.HasPrefix(env[v], "${"+v+":-") {
				t.Errorf("%s: %s = %q, want it from the environment (${%s:-default})", svc, v, env[v], v)
			}
		}
	}
}

// The images are FROM scratch: without a CA bundle of their own a Go binary
// finds no root certificates, and every HTTPS call (Mend at
// https://saas.mend.io, an OTLP endpoint) fails with "certificate signed by
// unknown authority". Both Dockerfiles install one where Go looks for it.
func TestImagesCarryCACertificates(t *testing.T) {
	t.Parallel()
	const bundle = "/etc/ssl/certs/ca-certificates.crt"
	for _, f := range []string{"Dockerfile", "scratch.Dockerfile"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			if len(fields) >= 3 && strings.EqualFold(fields[0], "COPY") && fields[len(fields)-1] == bundle {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no COPY of a CA bundle to %s", f, bundle)
		}
	}
	// make images builds scratch.Dockerfile with bin/ as the context: the
	// bundle must be put there.
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\t.*cp .*bin/ca-certificates\.crt`).Match(makefile) {
		t.Error("Makefile: images does not copy a CA bundle to bin/ca-certificates.crt, the context of scratch.Dockerfile")
	}
}
