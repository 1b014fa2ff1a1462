// Package deploy holds mendflow's images, compose file and Kubernetes
// manifests; its test checks the promises the images and the compose file
// make to operators. The Kubernetes manifests and the Helm chart are checked
// by the module in kubecheck/, which renders them with kustomize and Helm.
package deploy

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

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
