package kubecheck

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// services are mendflow's Deployments, whatever else a manifest holds.
var services = []string{"ingest", "poller", "worker"}

// secretVariables must come from a Secret: a literal value would sit in the
// manifest, in `kubectl get -o yaml` and in Helm's release record.
var secretVariables = []string{"MEND_USER_KEY", "GITHUB_WEBHOOK_SECRET", "GITLAB_WEBHOOK_TOKEN", "INGEST_AUTH_TOKEN", "OTEL_EXPORTER_OTLP_HEADERS", "MENDSIM_USER_KEY"}

// shutdownGrace is, for each service, how long it may take after SIGTERM
// before it exits on its own: Kubernetes kills a pod
// terminationGracePeriodSeconds after SIGTERM, which must outlast it.
var shutdownGrace = map[string]struct {
	variable string
	waits    int // how many waits the variable bounds, one after the other
}{
	// A worker lets its commands finish for the grace, then hands back the
	// rest and drains its NATS connection.
	"worker": {"WORKER_SHUTDOWN_GRACE", 1},
	// A poller likewise with the polls under way.
	"poller": {"POLLER_SHUTDOWN_GRACE", 1},
	// Ingest waits for the requests in flight, then for the NATS drain, each
	// for up to the timeout.
	"ingest": {"INGEST_SHUTDOWN_TIMEOUT", 2},
}

// checkPromises checks what the manifests promise operators, whether
// kustomize or Helm made them.
func checkPromises(t *testing.T, m manifest) {
	t.Helper()
	deployments := map[string]*appsv1.Deployment{}
	for _, d := range all[*appsv1.Deployment](m) {
		deployments[component(d.Spec.Template.Labels)] = d
	}
	for _, name := range services {
		d := deployments[name]
		if d == nil {
			t.Errorf("%s: no Deployment of %s", m.name, name)
			continue
		}
		checkService(t, m, name, d)
	}

	sets := all[*appsv1.StatefulSet](m)
	if len(sets) > 1 {
		t.Errorf("%s: %d StatefulSets, want at most one (NATS)", m.name, len(sets))
	}
	for _, s := range sets {
		checkNATSCluster(t, m, s, deployments)
	}
	if len(sets) == 0 {
		// An external NATS: every service must be told where it is.
		for _, name := range services {
			if d := deployments[name]; d != nil && !m.env(d.Spec.Template.Spec.Containers[0], "NATS_URL").set {
				t.Errorf("%s: %s has no NATS_URL and there is no NATS cluster of the manifest's own", m.name, name)
			}
		}
	}

	if sim := deployments["mendsim"]; sim != nil {
		checkMendsim(t, m, sim, deployments)
	}

	for _, o := range m.objects {
		var pod *corev1.PodTemplateSpec
		switch w := o.(type) {
		case *appsv1.Deployment:
			pod = &w.Spec.Template
		case *appsv1.StatefulSet:
			pod = &w.Spec.Template
		case *corev1.ConfigMap:
			for _, v := range secretVariables {
				if _, ok := w.Data[v]; ok {
					t.Errorf("%s: ConfigMap %s holds %s, a secret", m.name, w.Name, v)
				}
			}
			continue
		default:
			continue
		}
		checkPod(t, m, o.GetName(), pod)
	}
}

// checkService checks ingest's, the worker's or the poller's Deployment.
func checkService(t *testing.T, m manifest, name string, d *appsv1.Deployment) {
	t.Helper()
	where := m.name + ": " + name
	c := d.Spec.Template.Spec.Containers[0]
	probe := func(p *corev1.Probe, kind, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path {
			t.Errorf("%s: want a %s probe on %s, got %+v", where, kind, path, p)
			return
		}
		if !hasPort(c, p.HTTPGet.Port) {
			t.Errorf("%s: %s probe on port %s, which the container does not expose", where, kind, p.HTTPGet.Port.String())
		}
	}
	probe(c.LivenessProbe, "liveness", "/healthz")
	probe(c.ReadinessProbe, "readiness", "/readyz")
	// A service answers /healthz while it waits for a forming NATS cluster;
	// the startup probe bounds how long a first answer may take.
	probe(c.StartupProbe, "startup", "/healthz")

	// The port the service listens on is the one the probes and the
	// Service reach.
	addrVar := strings.ToUpper(name) + "_ADDR"
	addr := m.env(c, addrVar).or(goDefault(t, addrVar))
	_, port, _ := strings.Cut(addr, ":")
	if !hasPort(c, intstr.FromString("http")) || strconv.Itoa(int(containerPort(c, "http"))) != port {
		t.Errorf("%s: listens on %s=%q, the container's http port is %d", where, addrVar, addr, containerPort(c, "http"))
	}

	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: want cpu and memory requests and a memory limit, got %v", where, c.Resources)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("%s: want at least 2 replicas", where)
	}
	if pdbs := budgets(t, m, d.Spec.Template.Labels); len(pdbs) != 1 {
		t.Errorf("%s: %d PodDisruptionBudgets select its pods, want 1", where, len(pdbs))
	}

	g := shutdownGrace[name]
	value := m.env(c, g.variable).or(goDefault(t, g.variable))
	grace, err := time.ParseDuration(value)
	if err != nil {
		t.Fatalf("%s: %s = %q: %v", where, g.variable, value, err)
	}
	if kill := seconds(d.Spec.Template.Spec.TerminationGracePeriodSeconds); kill <= time.Duration(g.waits)*grace {
		t.Errorf("%s: terminationGracePeriodSeconds %v, want more than %d × %s (%v)", where, kill, g.waits, g.variable, grace)
	}

	required := []string{"NATS_URL", "MEND_ORG_TOKEN"}
	if name != "ingest" {
		required = append(required, "MEND_URL", "MEND_USER_KEY")
	}
	for _, v := range required {
		if !m.env(c, v).set {
			t.Errorf("%s: %s is required and not set", where, v)
		}
	}
	if u := m.env(c, "NATS_URL"); u.secret == nil && strings.Contains(u.value, "@") {
		t.Errorf("%s: NATS_URL holds credentials in plain text: %s", where, u.value)
	}

	if name == "ingest" {
		// Ingest is reached through a Service on its http port.
		found := false
		for _, s := range all[*corev1.Service](m) {
			if selects(t, metaSelector(s.Spec.Selector), d.Spec.Template.Labels) {
				for _, p := range s.Spec.Ports {
					found = found || hasPort(c, p.TargetPort)
				}
			}
		}
		if !found {
			t.Errorf("%s: no Service reaches its pods on a port they expose", where)
		}
	}
}

// checkNATSCluster checks a NATS cluster of the manifest's own.
func checkNATSCluster(t *testing.T, m manifest, s *appsv1.StatefulSet, deployments map[string]*appsv1.Deployment) {
	t.Helper()
	where := m.name + ": NATS StatefulSet " + s.Name
	nodes := 0
	if s.Spec.Replicas != nil {
		nodes = int(*s.Spec.Replicas)
	}
	// Streams of 3 replicas lose nothing when one node is lost.
	if nodes < 3 || len(s.Spec.VolumeClaimTemplates) == 0 || len(budgets(t, m, s.Spec.Template.Labels)) != 1 {
		t.Errorf("%s: want at least 3 replicas, a volume each and a PodDisruptionBudget", where)
	}
	for _, name := range services {
		d := deployments[name]
		if d == nil {
			continue
		}
		c := d.Spec.Template.Spec.Containers[0]
		if r := m.env(c, "STREAM_REPLICAS").value; r != "3" {
			t.Errorf("%s: %s has STREAM_REPLICAS = %q, want 3 on a cluster of %d nodes", where, name, r, nodes)
		}
		if u := m.env(c, "NATS_URL").value; strings.Count(u, "nats://") != nodes {
			t.Errorf("%s: %s has NATS_URL %q, want each of the %d nodes", where, name, u, nodes)
		}
	}

	c := s.Spec.Template.Spec.Containers[0]
	conf := natsConf(t, m, s)
	routes := regexp.MustCompile(`(?s)routes:\s*\[(.*?)\]`).FindStringSubmatch(conf)
	if routes == nil || strings.Count(routes[1], "nats://") != nodes {
		t.Errorf("%s: nats.conf routes %q, want one to each of the %d nodes", where, routes, nodes)
	}
	// nats-server exits at once on SIGTERM; only lame duck mode (SIGUSR2,
	// nats-server --signal ldm) moves its clients to the other nodes over
	// lame_duck_duration. A preStop hook must enter it before Kubernetes
	// sends SIGTERM, and the pod be given the time it takes.
	ldmConf := regexp.MustCompile(`(?m)^\s*lame_duck_duration:\s*(\S+)`).FindStringSubmatch(conf)
	if ldmConf == nil {
		t.Errorf("%s: nats.conf sets no lame_duck_duration", where)
		return
	}
	ldm, err := time.ParseDuration(ldmConf[1])
	if err != nil {
		t.Fatalf("%s: lame_duck_duration %q: %v", where, ldmConf[1], err)
	}
	var cmd string
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Exec != nil {
		cmd = strings.Join(c.Lifecycle.PreStop.Exec.Command, " ")
	}
	if !regexp.MustCompile(`--signal ldm=\S+|-sl ldm=\S+`).MatchString(cmd) {
		t.Errorf("%s: preStop %q does not put the server in lame duck mode: lame_duck_duration %v never applies", where, cmd, ldm)
	}
	// lame_duck_grace_period defaults to 10s.
	if kill := seconds(s.Spec.Template.Spec.TerminationGracePeriodSeconds); kill <= ldm+10*time.Second {
		t.Errorf("%s: terminationGracePeriodSeconds %v, want more than lame_duck_duration and its grace period (%v)", where, kill, ldm+10*time.Second)
	}
}

// natsConf is the nats.conf a NATS StatefulSet's server reads: the
// ConfigMap mounted where --config points.
func natsConf(t *testing.T, m manifest, s *appsv1.StatefulSet) string {
	t.Helper()
	c := s.Spec.Template.Spec.Containers[0]
	i := slices.Index(c.Args, "--config")
	if i < 0 || i+1 == len(c.Args) {
		t.Fatalf("%s: NATS is started without --config: %v", m.name, c.Args)
	}
	dir, file := c.Args[i+1][:strings.LastIndex(c.Args[i+1], "/")], c.Args[i+1][strings.LastIndex(c.Args[i+1], "/")+1:]
	for _, mount := range c.VolumeMounts {
		if mount.MountPath != dir {
			continue
		}
		for _, v := range s.Spec.Template.Spec.Volumes {
			if v.Name == mount.Name && v.ConfigMap != nil {
				if cm := named[*corev1.ConfigMap](m, v.ConfigMap.Name); cm != nil {
					return cm.Data[file]
				}
			}
		}
	}
	t.Fatalf("%s: no ConfigMap of the manifest is mounted as %s", m.name, c.Args[i+1])
	return ""
}

// checkMendsim checks the simulator a trial runs against.
func checkMendsim(t *testing.T, m manifest, sim *appsv1.Deployment, deployments map[string]*appsv1.Deployment) {
	t.Helper()
	c := sim.Spec.Template.Spec.Containers[0]
	if c.LivenessProbe == nil || c.ReadinessProbe == nil {
		t.Errorf("%s: mendsim: want liveness and readiness probes", m.name)
	}
	// The worker and the poller call it, through its Service.
	for _, name := range []string{"worker", "poller"} {
		d := deployments[name]
		if d == nil {
			continue
		}
		for _, v := range []string{"MEND_URL", "MEND_API_URL"} {
			raw := m.env(d.Spec.Template.Spec.Containers[0], v).value
			u, err := url.Parse(raw)
			if err != nil {
				t.Errorf("%s: %s %s = %q: %v", m.name, name, v, raw, err)
				continue
			}
			svcName, _, _ := strings.Cut(u.Hostname(), ".")
			svc := named[*corev1.Service](m, svcName)
			if svc == nil || !selects(t, metaSelector(svc.Spec.Selector), sim.Spec.Template.Labels) {
				t.Errorf("%s: %s %s = %q, which is not a Service of the simulator", m.name, name, v, raw)
				continue
			}
			port := 80
			if u.Port() != "" {
				port, _ = strconv.Atoi(u.Port())
			}
			reached := false
			for _, p := range svc.Spec.Ports {
				reached = reached || (int(p.Port) == port && hasPort(c, p.TargetPort))
			}
			if !reached {
				t.Errorf("%s: %s %s = %q: its Service does not reach the simulator's port", m.name, name, v, raw)
			}
		}
	}
}

// checkPod checks what every pod of the manifests promises: it runs as no
// root under the runtime's seccomp profile and its containers can neither
// gain privileges nor write to their image (the "restricted" Pod Security
// Standard), and no secret stands in it in plain text.
func checkPod(t *testing.T, m manifest, name string, pod *corev1.PodTemplateSpec) {
	t.Helper()
	where := m.name + ": " + name
	// The README finds every pod's logs by the part-of label.
	if l := pod.Labels["app.kubernetes.io/part-of"]; l != "mendflow" {
		t.Errorf("%s: pod template labelled part-of %q, want mendflow", where, l)
	}
	podNonRoot := pod.Spec.SecurityContext != nil && pod.Spec.SecurityContext.RunAsNonRoot != nil && *pod.Spec.SecurityContext.RunAsNonRoot
	if psc := pod.Spec.SecurityContext; psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: want the pod under the RuntimeDefault seccomp profile, got %+v", where, psc)
	}
	for _, c := range pod.Spec.Containers {
		sc := c.SecurityContext
		nonRoot := podNonRoot || (sc != nil && sc.RunAsNonRoot != nil && *sc.RunAsNonRoot)
		if !nonRoot || sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s: container %s: want runAsNonRoot, no privilege escalation, a read-only root and every capability dropped; got pod %+v, container %+v", where, c.Name, pod.Spec.SecurityContext, sc)
		}
		for _, e := range c.Env {
			if slices.Contains(secretVariables, e.Name) && e.ValueFrom == nil {
				t.Errorf("%s: container %s has %s in plain text", where, c.Name, e.Name)
			}
		}
	}
}

// budgets is the PodDisruptionBudgets that select pods labelled so.
func budgets(t *testing.T, m manifest, podLabels map[string]string) []*policyv1.PodDisruptionBudget {
	t.Helper()
	var out []*policyv1.PodDisruptionBudget
	for _, p := range all[*policyv1.PodDisruptionBudget](m) {
		if selects(t, p.Spec.Selector, podLabels) {
			out = append(out, p)
		}
	}
	return out
}

// hasPort reports whether a container exposes a port, by name or number.
func hasPort(c corev1.Container, port intstr.IntOrString) bool {
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return true
		}
	}
	return false
}

// containerPort is the number of a container's named port, 0 if none.
func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func seconds(s *int64) time.Duration {
	if s == nil {
		return 30 * time.Second // Kubernetes' default
	}
	return time.Duration(*s) * time.Second
}
