package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mendflow/mendflow/pkg/events"
)

// SpecsBucket is the key-value bucket of the specs the reconcile command
// reads by name: each key a spec's name, each value its YAML as put.
const SpecsBucket = "MENDFLOW_RECONCILE_SPECS"

// specHistory is how many versions of a spec the bucket keeps.
const specHistory = 10

// Specs are the stored specs.
type Specs struct{ kv jetstream.KeyValue }

// ErrNoSpec is a spec name that is not stored.
var ErrNoSpec = errors.New("no such spec")

// OpenSpecs opens the specs' bucket, creating it with replicas when create
// is set and it is missing; otherwise a missing bucket holds no spec.
func OpenSpecs(ctx context.Context, js jetstream.JetStream, create bool, replicas int) (*Specs, error) {
	kv, err := js.KeyValue(ctx, SpecsBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) && create {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: SpecsBucket, Description: "mendflow reconcile: the desired-state specs, by name",
			History: specHistory, Replicas: max(replicas, 1), Storage: jetstream.FileStorage,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, SpecsBucket)
		}
	}
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return &Specs{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", SpecsBucket, err)
	}
	return &Specs{kv: kv}, nil
}

func checkName(name string) error {
	if !events.SpecNameRE.MatchString(name) {
		return fmt.Errorf("%q is not a spec name: letters, digits, '.', '_' and '-', at most 128", name)
	}
	return nil
}

// Put stores a spec's YAML under name, once it parses: file names it in
// the errors. It returns the revision stored.
func (s *Specs) Put(ctx context.Context, name, file string, src []byte) (uint64, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	if _, err := Parse(file, src); err != nil {
		return 0, err
	}
	if s.kv == nil {
		return 0, fmt.Errorf("key-value bucket %s: missing", SpecsBucket)
	}
	return s.kv.Put(ctx, name, src)
}

// Get is a stored spec's YAML and its revision; ErrNoSpec when there is
// none of that name.
func (s *Specs) Get(ctx context.Context, name string) ([]byte, uint64, error) {
	if err := checkName(name); err != nil {
		return nil, 0, err
	}
	if s.kv == nil {
		return nil, 0, fmt.Errorf("%w %q", ErrNoSpec, name)
	}
	e, err := s.kv.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, fmt.Errorf("%w %q", ErrNoSpec, name)
	}
	if err != nil {
		return nil, 0, err
	}
	return e.Value(), e.Revision(), nil
}

// Load parses a stored spec; its errors name it "spec NAME".
func (s *Specs) Load(ctx context.Context, name string) (*Spec, error) {
	src, _, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return Parse("spec "+name, src)
}

// StoredSpec describes a stored spec.
type StoredSpec struct {
	Name     string
	Revision uint64
	Stored   time.Time
	Size     int
}

// List describes the stored specs, by name.
func (s *Specs) List(ctx context.Context) ([]StoredSpec, error) {
	if s.kv == nil {
		return nil, nil
	}
	keys, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []StoredSpec
	for k := range keys.Keys() {
		e, err := s.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, StoredSpec{Name: k, Revision: e.Revision(), Stored: e.Created(), Size: len(e.Value())})
	}
	slices.SortFunc(out, func(a, b StoredSpec) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Delete removes a stored spec; ErrNoSpec when there is none of that name.
func (s *Specs) Delete(ctx context.Context, name string) error {
	if _, _, err := s.Get(ctx, name); err != nil {
		return err
	}
	return s.kv.Delete(ctx, name)
}
