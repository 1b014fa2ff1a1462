package kubecheck

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// chartDir is the chart, seen from this module.
var chartDir = filepath.Join(root, "deploy/helm/mendflow")

// kubeVersions are the Kubernetes versions the chart is linted and rendered
// for: the oldest its Chart.yaml admits, and the one of the Kubernetes
// modules here, whose API removals the lint knows.
var kubeVersions = []string{"v1.25.0", "v1.37.0"}

const (
	releaseName = "mendflow"
	namespace   = "platform"
)

// readValues reads a values set as Helm reads a values file.
func readValues(t *testing.T, y string) map[string]any {
	t.Helper()
	v, err := common.ReadValues([]byte(y))
	if err != nil {
		t.Fatalf("values %q: %v", y, err)
	}
	return v
}

// renderChart renders the chart with values as `helm template` does,
// schema validation included.
func renderChart(values map[string]any, kubeVersion string) (string, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return "", err
	}
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		return "", err
	}
	install := action.NewInstall(action.NewConfiguration())
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = releaseName
	install.Namespace = namespace
	install.KubeVersion = kv
	rel, err := install.Run(ch, values)
	if err != nil {
		return "", err
	}
	r, ok := rel.(*release.Release)
	if !ok {
		return "", fmt.Errorf("release of type %T", rel)
	}
	return r.Manifest, nil
}

// lintChart lints the chart with values as `helm lint --strict` does: a
// warning fails as an error does.
func lintChart(t *testing.T, values map[string]any, kubeVersion string) {
	t.Helper()
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	lint := action.NewLint()
	lint.Strict = true
	lint.Namespace = namespace
	lint.KubeVersion = kv
	res := lint.Run([]string{chartDir}, values)
	if len(res.Errors) > 0 || res.TotalChartsLinted != 1 {
		t.Errorf("helm lint --strict (Kubernetes %s): %d charts linted, errors: %v, messages: %v", kubeVersion, res.TotalChartsLinted, res.Errors, res.Messages)
	}
}

// secretRef is how the chart reads a secret variable: from the Secret the
// operator names.
func secretRef(key string) *corev1.SecretKeySelector {
	return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "mendflow"}, Key: key}
}

// deployment is the Deployment of a component, failing the test if the
// manifest has none.
func deployment(t *testing.T, m manifest, name string) *appsv1.Deployment {
	t.Helper()
	for _, d := range all[*appsv1.Deployment](m) {
		if component(d.Spec.Template.Labels) == name {
			return d
		}
	}
	t.Fatalf("%s: no Deployment of %s", m.name, name)
	return nil
}

// container is the container of a component's Deployment.
func container(t *testing.T, m manifest, name string) corev1.Container {
	t.Helper()
	return deployment(t, m, name).Spec.Template.Spec.Containers[0]
}

// wantEnv checks a variable of a component against what it should resolve to.
func wantEnv(t *testing.T, m manifest, name, variable string, want envValue) {
	t.Helper()
	got := m.env(container(t, m, name), variable)
	if got.set != want.set || got.value != want.value || fmt.Sprint(got.secret) != fmt.Sprint(want.secret) {
		t.Errorf("%s: %s: %s = %+v, want %+v", m.name, name, variable, got, want)
	}
}

func literal(v string) envValue { return envValue{set: true, value: v} }

func fromSecret(key string) envValue { return envValue{set: true, secret: secretRef(key)} }

var unset = envValue{}

// valueSets are the values the chart is rendered with, and what each
// rendering must hold beyond the promises every one keeps.
var valueSets = []struct {
	name   string
	values string
	check  func(t *testing.T, m manifest)
}{{
	name: "defaults",
	check: func(t *testing.T, m manifest) {
		checkImages(t, m, makeImages)
		if n := len(all[*appsv1.StatefulSet](m)); n != 1 {
			t.Errorf("%d StatefulSets, want the NATS cluster", n)
		}
		if n := len(all[*monitoringv1.ServiceMonitor](m)); n != 0 {
			t.Errorf("%d ServiceMonitors, want none unless asked for", n)
		}
		for _, d := range all[*appsv1.Deployment](m) {
			if component(d.Spec.Template.Labels) == "mendsim" {
				t.Errorf("the simulator runs unless asked for")
			}
		}
		for _, svc := range []string{"worker", "poller"} {
			wantEnv(t, m, svc, "MEND_USER_KEY", fromSecret("MEND_USER_KEY"))
			wantEnv(t, m, svc, "MEND_USER_EMAIL", fromSecret("MEND_USER_EMAIL"))
			wantEnv(t, m, svc, "MEND_URL", literal("https://saas.mend.io"))
		}
		for _, svc := range services {
			wantEnv(t, m, svc, "MEND_ORG_TOKEN", fromSecret("MEND_ORG_TOKEN"))
			wantEnv(t, m, svc, "LOG_LEVEL", literal("info"))
		}
		// Ingest never calls Mend: the user key stays away from it.
		wantEnv(t, m, "ingest", "MEND_USER_KEY", unset)
		// Webhooks stay off (404) and POST /events open until a key is named.
		for _, v := range []string{"GITHUB_WEBHOOK_SECRET", "GITLAB_WEBHOOK_TOKEN", "INGEST_AUTH_TOKEN", "RULES_FILE"} {
			wantEnv(t, m, "ingest", v, unset)
		}
	},
}, {
	name:   "external NATS",
	values: `nats: {url: "nats://nats-a.messaging:4222,nats://nats-b.messaging:4222"}`,
	check: func(t *testing.T, m manifest) {
		if n := len(all[*appsv1.StatefulSet](m)) + len(all[*corev1.ConfigMap](m)); n != 0 {
			t.Errorf("an external NATS, and the chart still renders %d StatefulSets and ConfigMaps", n)
		}
		for _, svc := range services {
			wantEnv(t, m, svc, "NATS_URL", literal("nats://nats-a.messaging:4222,nats://nats-b.messaging:4222"))
			// The operator's cluster: the services' default unless set.
			wantEnv(t, m, svc, "STREAM_REPLICAS", unset)
		}
	},
}, {
	name:   "external NATS with credentials",
	values: `secret: {keys: {NATS_URL: nats-url}}`,
	check: func(t *testing.T, m manifest) {
		if n := len(all[*appsv1.StatefulSet](m)); n != 0 {
			t.Errorf("an external NATS, and the chart still renders %d StatefulSets", n)
		}
		for _, svc := range services {
			wantEnv(t, m, svc, "NATS_URL", fromSecret("nats-url"))
		}
	},
}, {
	name: "own NATS cluster of 5, images from a registry",
	values: `
image: {registry: registry.example.com/platform, tag: "1.4.0"}
worker: {image: {repository: mendflow/worker, tag: "1.4.1"}}
nats:
  cluster:
    replicas: 5
    maxFileStore: 21474836480
    storage: {size: 40Gi, storageClassName: fast}
    lameDuckDurationSeconds: 60
    terminationGracePeriodSeconds: 90`,
	check: func(t *testing.T, m manifest) {
		images := map[string]string{}
		for c, image := range makeImages {
			images[c] = "registry.example.com/platform/" + strings.TrimSuffix(image, ":dev") + ":1.4.0"
		}
		images["worker"] = "registry.example.com/platform/mendflow/worker:1.4.1"
		checkImages(t, m, images)
		sets := all[*appsv1.StatefulSet](m)
		if len(sets) != 1 {
			t.Fatalf("%d StatefulSets, want the NATS cluster", len(sets))
		}
		s := sets[0]
		if *s.Spec.Replicas != 5 {
			t.Errorf("NATS: %d replicas, want 5", *s.Spec.Replicas)
		}
		claim := s.Spec.VolumeClaimTemplates[0].Spec
		if claim.StorageClassName == nil || *claim.StorageClassName != "fast" || claim.Resources.Requests.Storage().String() != "40Gi" {
			t.Errorf("NATS volumes: class %v, size %v; want fast, 40Gi", claim.StorageClassName, claim.Resources.Requests.Storage())
		}
		conf := natsConf(t, m, s)
		for _, want := range []string{"max_file_store: 21474836480\n", "lame_duck_duration: 60s"} {
			if !strings.Contains(conf, want) {
				t.Errorf("nats.conf lacks %q:\n%s", want, conf)
			}
		}
	},
}, {
	name:   "mendsim",
	values: `mendsim: {enabled: true, config: {MENDSIM_PROCESS_DURATION: 10s, LOG_LEVEL: debug}}`,
	check: func(t *testing.T, m manifest) {
		checkImages(t, m, makeImages)
		// The simulator accepts the credentials the worker and the poller send.
		wantEnv(t, m, "mendsim", "MENDSIM_USER_KEY", fromSecret("MEND_USER_KEY"))
		wantEnv(t, m, "mendsim", "MENDSIM_USER_EMAIL", fromSecret("MEND_USER_EMAIL"))
		wantEnv(t, m, "mendsim", "MENDSIM_ORG_TOKEN", fromSecret("MEND_ORG_TOKEN"))
		wantEnv(t, m, "mendsim", "MENDSIM_PROCESS_DURATION", literal("10s"))
		wantEnv(t, m, "mendsim", "LOG_LEVEL", literal("debug"))
		wantEnv(t, m, "worker", "MEND_URL", literal("http://mendflow-mendsim."+namespace+".svc"))
		if d := deployment(t, m, "mendsim"); *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("mendsim: %d replicas, strategy %s; want one at a time: it keeps its state in memory", *d.Spec.Replicas, d.Spec.Strategy.Type)
		}
	},
}, {
	name:   "ServiceMonitors",
	values: `serviceMonitor: {enabled: true, labels: {release: prometheus}, interval: 15s}`,
	check: func(t *testing.T, m manifest) {
		monitors := all[*monitoringv1.ServiceMonitor](m)
		var monitored []string
		for _, sm := range monitors {
			if sm.Labels["release"] != "prometheus" {
				t.Errorf("ServiceMonitor %s: labels %v, want release=prometheus for Prometheus to find it", sm.Name, sm.Labels)
			}
			var picked []*corev1.Service
			for _, s := range all[*corev1.Service](m) {
				if selects(t, &sm.Spec.Selector, s.Labels) {
					picked = append(picked, s)
				}
			}
			if len(picked) != 1 {
				t.Errorf("ServiceMonitor %s selects %d Services, want 1", sm.Name, len(picked))
				continue
			}
			svc := picked[0]
			name := component(svc.Spec.Selector)
			monitored = append(monitored, name)
			c := container(t, m, name)
			if !selects(t, metaSelector(svc.Spec.Selector), deployment(t, m, name).Spec.Template.Labels) {
				t.Errorf("ServiceMonitor %s: Service %s does not select the %s pods", sm.Name, svc.Name, name)
			}
			if len(sm.Spec.Endpoints) != 1 {
				t.Fatalf("ServiceMonitor %s: %d endpoints, want 1", sm.Name, len(sm.Spec.Endpoints))
			}
			e := sm.Spec.Endpoints[0]
			reached := false
			for _, p := range svc.Spec.Ports {
				reached = reached || (p.Name == e.Port && hasPort(c, p.TargetPort))
			}
			if !reached || e.Path != "/metrics" || e.Interval != "15s" {
				t.Errorf("ServiceMonitor %s: endpoint %+v, want /metrics every 15s on a port of Service %s that reaches the pods", sm.Name, e, svc.Name)
			}
		}
		slices.Sort(monitored)
		if !slices.Equal(monitored, services) {
			t.Errorf("ServiceMonitors scrape %v, want %v", monitored, services)
		}
	},
}, {
	name: "settings",
	values: `
secret: {keys: {GITHUB_WEBHOOK_SECRET: github, GITLAB_WEBHOOK_TOKEN: gitlab, INGEST_AUTH_TOKEN: ingest-token}}
config:
  LOG_LEVEL: warn
  STREAM_EVENTS_MAX_BYTES: 1073741824
mend:
  MEND_URL: https://saas-eu.mend.io
  MEND_RATE_LIMIT: 7.5
ingest:
  port: 9000
  service: {port: 8080}
  rules: |
    rules:
      - match: {type: com.github.repository.created}
        commands:
          - name: project.create
            data: {productName: "{{ repository.owner.login | lower }}", projectName: "{{ repository.name }}"}
worker:
  replicas: 4
  terminationGracePeriodSeconds: 120
  config: {LOG_LEVEL: debug, WORKER_CONCURRENCY: 16, WORKER_SHUTDOWN_GRACE: 90s, MEND_LOGIN_V3: true}
  probes: {startup: {failureThreshold: 120}}
  podDisruptionBudget: {maxUnavailable: 1}
poller:
  config: {MEND_RATE_LIMIT: 2, POLLER_JITTER: 0.25}`,
	check: func(t *testing.T, m manifest) {
		wantEnv(t, m, "ingest", "LOG_LEVEL", literal("warn"))
		wantEnv(t, m, "worker", "LOG_LEVEL", literal("debug"))
		// Numbers as the services parse them, not as floats print.
		wantEnv(t, m, "poller", "STREAM_EVENTS_MAX_BYTES", literal("1073741824"))
		wantEnv(t, m, "worker", "WORKER_CONCURRENCY", literal("16"))
		wantEnv(t, m, "worker", "MEND_LOGIN_V3", literal("true"))
		wantEnv(t, m, "poller", "POLLER_JITTER", literal("0.25"))
		wantEnv(t, m, "worker", "MEND_RATE_LIMIT", literal("7.5"))
		wantEnv(t, m, "poller", "MEND_RATE_LIMIT", literal("2"))
		wantEnv(t, m, "poller", "MEND_URL", literal("https://saas-eu.mend.io"))
		// Mend's variables are the worker's and the poller's.
		wantEnv(t, m, "ingest", "MEND_URL", unset)
		wantEnv(t, m, "ingest", "GITHUB_WEBHOOK_SECRET", fromSecret("github"))
		wantEnv(t, m, "ingest", "GITLAB_WEBHOOK_TOKEN", fromSecret("gitlab"))
		wantEnv(t, m, "ingest", "INGEST_AUTH_TOKEN", fromSecret("ingest-token"))
		wantEnv(t, m, "worker", "INGEST_AUTH_TOKEN", unset)
		wantEnv(t, m, "ingest", "INGEST_ADDR", literal(":9000"))

		w := deployment(t, m, "worker")
		if *w.Spec.Replicas != 4 || w.Spec.Template.Spec.Containers[0].StartupProbe.FailureThreshold != 120 {
			t.Errorf("worker: %d replicas, startup probe %+v; want 4 and a failure threshold of 120", *w.Spec.Replicas, w.Spec.Template.Spec.Containers[0].StartupProbe)
		}
		if pdbs := budgets(t, m, w.Spec.Template.Labels); len(pdbs) != 1 || pdbs[0].Spec.MaxUnavailable == nil || pdbs[0].Spec.MaxUnavailable.IntValue() != 1 || pdbs[0].Spec.MinAvailable != nil {
			t.Errorf("worker: PodDisruptionBudgets %v, want one of maxUnavailable 1", pdbs)
		}

		// The rules file reaches ingest as written, {{ … }} included.
		i := deployment(t, m, "ingest")
		path := m.env(i.Spec.Template.Spec.Containers[0], "RULES_FILE").value
		dir, file := filepath.Dir(path), filepath.Base(path)
		var rules string
		for _, mount := range i.Spec.Template.Spec.Containers[0].VolumeMounts {
			for _, v := range i.Spec.Template.Spec.Volumes {
				if mount.MountPath == dir && v.Name == mount.Name && v.ConfigMap != nil && mount.ReadOnly {
					if cm := named[*corev1.ConfigMap](m, v.ConfigMap.Name); cm != nil {
						rules = cm.Data[file]
					}
				}
			}
		}
		if !strings.Contains(rules, `projectName: "{{ repository.name }}"`) {
			t.Errorf("ingest: RULES_FILE %q holds %q, want the rules of the values", path, rules)
		}
		for _, s := range all[*corev1.Service](m) {
			if component(s.Spec.Selector) == "ingest" && s.Spec.Ports[0].Port != 8080 {
				t.Errorf("ingest: Service port %d, want 8080", s.Spec.Ports[0].Port)
			}
		}
	},
}}

func TestChart(t *testing.T) {
	t.Parallel()
	for _, set := range valueSets {
		t.Run(set.name, func(t *testing.T) {
			t.Parallel()
			values := readValues(t, set.values)
			for _, kv := range kubeVersions {
				lintChart(t, values, kv)
			}
			out, err := renderChart(values, kubeVersions[0])
			if err != nil {
				t.Fatalf("helm template: %v", err)
			}
			m := decodeManifest(t, "chart with "+set.name, []byte(out))
			checkPromises(t, m)
			checkChart(t, m)
			set.check(t, m)
		})
	}
}

// checkChart checks what every rendering of the chart holds.
func checkChart(t *testing.T, m manifest) {
	t.Helper()
	for _, o := range m.objects {
		// The chart never holds a secret: the operator's Secret does.
		if _, ok := o.(*corev1.Secret); ok {
			t.Errorf("%s: the chart renders Secret %s", m.name, o.GetName())
		}
		// Two releases can share a namespace.
		if o.GetLabels()["app.kubernetes.io/instance"] != releaseName || !strings.HasPrefix(o.GetName(), releaseName) {
			t.Errorf("%s: %T %s is not named and labelled after the release", m.name, o, o.GetName())
		}
	}
	for _, p := range all[*policyv1.PodDisruptionBudget](m) {
		if p.Spec.Selector.MatchLabels["app.kubernetes.io/instance"] != releaseName {
			t.Errorf("%s: PodDisruptionBudget %s selects pods of every release", m.name, p.Name)
		}
	}
}

// TestChartRefuses checks that values the chart cannot honour stop
// `helm install` with a message naming what is wrong.
func TestChartRefuses(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, values, want string }{
		{"unknown key", `replicas: 3`, "additional properties 'replicas' not allowed"},
		{"misspelt key of a service", `worker: {replica: 3}`, "additional properties 'replica' not allowed"},
		{"replicas as text", `worker: {replicas: "3"}`, "at '/worker/replicas': got string, want integer"},
		{"variable of another service", `ingest: {config: {WORKER_CONCURRENCY: 4}}`, "at '/ingest/config/WORKER_CONCURRENCY': false schema"},
		{"misspelt variable", `config: {LOG_LEVLE: debug}`, "at '/config/LOG_LEVLE': false schema"},
		{"variable the chart sets", `config: {NATS_URL: "nats://nats:4222"}`, "at '/config/NATS_URL': false schema"},
		{"secret in plain values", `ingest: {config: {GITHUB_WEBHOOK_SECRET: s3cret}}`, "at '/ingest/config/GITHUB_WEBHOOK_SECRET': false schema"},
		{"duration without a unit", `worker: {config: {WORKER_ACK_WAIT: "30"}}`, "/worker/config/WORKER_ACK_WAIT"},
		{"duration as a number", `poller: {config: {POLLER_ACK_WAIT: 60}}`, "/poller/config/POLLER_ACK_WAIT"},
		{"integer as a word", `worker: {config: {WORKER_CONCURRENCY: eight}}`, "/worker/config/WORKER_CONCURRENCY"},
		{"unknown log level", `config: {LOG_LEVEL: verbose}`, "/config/LOG_LEVEL"},
		{"user key without a key", `secret: {keys: {MEND_USER_KEY: ""}}`, "/secret/keys/MEND_USER_KEY"},
		{"unknown secret variable", `secret: {keys: {MEND_PASSWORD: pw}}`, "additional properties 'MEND_PASSWORD' not allowed"},
		{"NATS credentials in plain values", `nats: {url: "nats://mendflow:pw@nats:4222"}`, "/nats/url"},
		{"NATS named twice", `{nats: {url: "nats://nats:4222"}, secret: {keys: {NATS_URL: nats-url}}}`, "nats.url and secret.keys.NATS_URL both name the NATS servers"},
		{"even NATS cluster", `nats: {cluster: {replicas: 2}}`, "/nats/cluster/replicas"},
		{"lame duck outlasting the grace", `nats: {cluster: {lameDuckDurationSeconds: 60}}`, "must exceed nats.cluster.lameDuckDurationSeconds"},
		{"image tag as a number", `image: {tag: 1.0}`, "at '/image/tag': got number, want string"},
		{"probe path", `ingest: {probes: {liveness: {httpGet: {path: /}}}}`, "additional properties 'httpGet' not allowed"},
		{"switch as text", `serviceMonitor: {enabled: "yes"}`, "/serviceMonitor/enabled"},
		{"simulator variable of a service", `mendsim: {config: {WORKER_CONCURRENCY: 4}}`, "at '/mendsim/config/WORKER_CONCURRENCY': false schema"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := renderChart(readValues(t, c.values), kubeVersions[0])
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("values %s: got error %v, want one saying %q", c.values, err, c.want)
			}
		})
	}
}
