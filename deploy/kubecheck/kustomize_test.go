package kubecheck

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// makeImages is the images `make images` builds, by the component that runs
// each.
var makeImages = map[string]string{
	"ingest":  "mendflow/ingest:dev",
	"worker":  "mendflow/worker:dev",
	"poller":  "mendflow/poller:dev",
	"nats":    "mendflow/nats-server:dev",
	"mendsim": "mendflow/mendsim:dev",
}

// checkImages checks that every workload runs the image want names for its
// component.
func checkImages(t *testing.T, m manifest, want map[string]string) {
	t.Helper()
	check := func(kind, name string, labels map[string]string, image string) {
		if w := want[component(labels)]; image != w {
			t.Errorf("%s: %s %s runs %q, want %q", m.name, kind, name, image, w)
		}
	}
	for _, d := range all[*appsv1.Deployment](m) {
		check("Deployment", d.Name, d.Spec.Template.Labels, d.Spec.Template.Spec.Containers[0].Image)
	}
	for _, s := range all[*appsv1.StatefulSet](m) {
		check("StatefulSet", s.Name, s.Spec.Template.Labels, s.Spec.Template.Spec.Containers[0].Image)
	}
}

func TestKustomizeBase(t *testing.T) {
	t.Parallel()
	m := buildKustomization(t, "deploy/k8s/base")
	checkPromises(t, m)
	checkImages(t, m, makeImages)
	if len(all[*appsv1.StatefulSet](m)) != 1 {
		t.Errorf("the base runs no NATS cluster of its own")
	}
}

func TestKustomizeDemo(t *testing.T) {
	t.Parallel()
	m := buildKustomization(t, "deploy/k8s/overlays/demo")
	checkPromises(t, m)
	checkImages(t, m, makeImages)
	if named[*appsv1.Deployment](m, "mendsim") == nil {
		t.Errorf("the demo overlay runs no simulator")
	}
}
