package kubecheck

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// root is the repository's top directory, seen from this module's.
const root = "../.."

// decoder decodes every kind the manifests may hold (the built-in ones and
// the Prometheus Operator's) strictly: an unknown or duplicated field is an
// error, not a field silently dropped.
var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		panic(err)
	}
	if err := monitoringv1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// object is a decoded Kubernetes object.
type object interface {
	runtime.Object
	metav1.Object
}

// manifest is the objects of one rendering: a kustomization built, or the
// chart rendered with one values set.
type manifest struct {
	name    string // what was rendered, for messages
	objects []object
}

// decodeManifest decodes a multi-document YAML stream strictly.
func decodeManifest(t *testing.T, name string, data []byte) manifest {
	t.Helper()
	m := manifest{name: name}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, gvk, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s: decoding %s: %v\n%s", name, gvk, err, doc)
		}
		o, ok := obj.(object)
		if !ok {
			t.Fatalf("%s: %s has no object metadata", name, gvk)
		}
		m.objects = append(m.objects, o)
	}
	if len(m.objects) == 0 {
		t.Fatalf("%s: no objects", name)
	}
	return m
}

var commentLine = regexp.MustCompile(`(?m)^\s*#.*$`)

func stripComments(doc []byte) []byte { return commentLine.ReplaceAll(doc, nil) }

// all is the objects of m of type T.
func all[T object](m manifest) []T {
	var out []T
	for _, o := range m.objects {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// named is the object of type T and that name, or nil.
func named[T object](m manifest, name string) T {
	var zero T
	for _, o := range all[T](m) {
		if o.GetName() == name {
			return o
		}
	}
	return zero
}

// component is what the pods of a workload are: ingest, worker, poller,
// nats or mendsim, as both the kustomize manifests and the chart label them.
func component(labels map[string]string) string { return labels["app.kubernetes.io/name"] }

// selects reports whether a label selector picks pods labelled so.
func selects(t *testing.T, sel *metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("selector %v: %v", sel, err)
	}
	return !s.Empty() && s.Matches(labels.Set(podLabels))
}

// metaSelector is a Service's selector as a label selector.
func metaSelector(sel map[string]string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: sel}
}

// envValue is what a container's variable resolves to: a literal value
// (from the container or a ConfigMap) or a Secret's key.
type envValue struct {
	set    bool
	value  string                    // a literal; from a Secret of the manifest too
	secret *corev1.SecretKeySelector // read from a Secret, named so
}

// env resolves a container's variable as the kubelet does: an explicit
// entry wins over envFrom, later envFrom sources over earlier ones. A source
// the manifest does not hold (the chart's Secret, which the operator makes)
// is known only by its reference.
func (m manifest) env(c corev1.Container, name string) envValue {
	for _, e := range c.Env {
		if e.Name != name {
			continue
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			return envValue{set: true, secret: e.ValueFrom.SecretKeyRef}
		}
		return envValue{set: true, value: e.Value}
	}
	var v envValue
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			if cm := named[*corev1.ConfigMap](m, from.ConfigMapRef.Name); cm != nil {
				if s, ok := cm.Data[name]; ok {
					v = envValue{set: true, value: s}
				}
			}
		case from.SecretRef != nil:
			if s := named[*corev1.Secret](m, from.SecretRef.Name); s != nil {
				ref := &corev1.SecretKeySelector{LocalObjectReference: from.SecretRef.LocalObjectReference, Key: name}
				if d, ok := s.StringData[name]; ok {
					v = envValue{set: true, value: d, secret: ref}
				} else if d, ok := s.Data[name]; ok {
					v = envValue{set: true, value: string(d), secret: ref}
				}
			}
		}
	}
	return v
}

// or is v's literal value, or def when v is not set.
func (v envValue) or(def string) string {
	if !v.set {
		return def
	}
	return v.value
}

// buildKustomization builds a kustomization as `kubectl apply -k` would.
func buildKustomization(t *testing.T, dir string) manifest {
	t.Helper()
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(root, dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	data, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return decodeManifest(t, dir, data)
}

// goDefaults is the default of every environment variable the services
// declare (`env:"NAME, default=VALUE"` in the Go source of cmd, internal and pkg).
var goDefaults = sync.OnceValues(func() (map[string]string, error) {
	tag := regexp.MustCompile(`env:"([A-Z0-9_]+), default=([^"]*)"`)
	defaults := map[string]string{}
	for _, dir := range []string{"cmd", "internal", "pkg"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range tag.FindAllStringSubmatch(string(src), -1) {
				// A default is everything up to the next option (", required").
				v, _, _ := strings.Cut(m[2], ",")
				if old, ok := defaults[m[1]]; ok && old != v {
					return errors.New(m[1] + " is declared with two defaults: " + old + " and " + v)
				}
				defaults[m[1]] = v
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return defaults, nil
})

// goDefault is the default the services give a variable.
func goDefault(t *testing.T, name string) string {
	t.Helper()
	defaults, err := goDefaults()
	if err != nil {
		t.Fatal(err)
	}
	v, ok := defaults[name]
	if !ok {
		t.Fatalf("no Go source declares a default of %s", name)
	}
	return v
}
