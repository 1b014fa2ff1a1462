package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	jsoniter "github.com/json-iterator/go"

	"github.com/mendflow/mendflow/internal/eventdata"
)

// ErrUnknownCommand is returned for a command name that is not registered.
var ErrUnknownCommand = errors.New("unknown command")

// Registry knows the commands by name: how to decode their data strictly and
// validate it. NewRegistry holds the contract's commands; Register adds more.
// A Registry is safe for concurrent use once registration is done.
type Registry struct {
	commands map[string]commandSpec
}

type commandSpec struct {
	newData func() CommandData
	// fields are the JSON keys the data accepts, matched exactly: the
	// standard decoder matches keys case-insensitively, which would let a
	// typo such as "projectname" through.
	fields map[string]bool
}

// NewRegistry returns a registry of the contract's commands and of the
// commands for the other mutating operations of the Mend pages (see
// operations.go).
func NewRegistry() *Registry {
	r := &Registry{commands: make(map[string]commandSpec)}
	builtin := map[string]func() CommandData{
		CommandProductCreate:    func() CommandData { return new(ProductCreate) },
		CommandProjectCreate:    func() CommandData { return new(ProjectCreate) },
		CommandProjectDelete:    func() CommandData { return new(ProjectDelete) },
		CommandProjectTagSave:   func() CommandData { return new(ProjectTagSave) },
		CommandProjectTagRemove: func() CommandData { return new(ProjectTagRemove) },
		CommandProjectReassign:  func() CommandData { return new(ProjectReassign) },
		CommandProjectRename:    func() CommandData { return new(ProjectRename) },
		CommandProductRename:    func() CommandData { return new(ProductRename) },
		CommandPoliciesApply:    func() CommandData { return new(PoliciesApply) },
		CommandRequestTrack:     func() CommandData { return new(RequestTrack) },
		CommandReconcile:        func() CommandData { return new(Reconcile) },
	}
	maps.Copy(builtin, operationCommands())
	for name, newData := range builtin {
		if err := r.Register(name, newData); err != nil {
			panic(err) // the table above is fixed; a failure is a programming error
		}
	}
	return r
}

// commandNameRE keeps names usable as NATS subject tokens and as the suffix
// of a CloudEvent type.
var commandNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$`)

// Register adds a command. newData must return a new pointer to a struct
// whose JSON field names are the Mend API's. Registering a name twice is an
// error.
func (r *Registry) Register(name string, newData func() CommandData) error {
	if !commandNameRE.MatchString(name) {
		return fmt.Errorf("register command %q: name must be dot-separated lower-case words", name)
	}
	if _, ok := r.commands[name]; ok {
		return fmt.Errorf("register command %q: already registered", name)
	}
	t := reflect.TypeOf(newData())
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("register command %q: data must be a pointer to a struct, not %v", name, t)
	}
	fields := make(map[string]bool)
	jsonFields(t.Elem(), fields)
	r.commands[name] = commandSpec{newData: newData, fields: fields}
	return nil
}

// jsonFields collects the JSON keys of a struct, following embedded structs
// the way encoding/json flattens them.
func jsonFields(t reflect.Type, into map[string]bool) {
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			jsonFields(f.Type, into)
			continue
		}
		if name == "" {
			name = f.Name
		}
		into[name] = true
	}
}

// Names lists the registered command names, sorted.
func (r *Registry) Names() []string {
	return slices.Sorted(maps.Keys(r.commands))
}

// Fields lists the JSON fields of a command's data, sorted, and whether the
// command is registered.
func (r *Registry) Fields(name string) ([]string, bool) {
	spec, ok := r.commands[name]
	if !ok {
		return nil, false
	}
	return slices.Sorted(maps.Keys(spec.fields)), true
}

// strictJSON decodes command data in one pass: keys matched exactly,
// unknown keys refused, trailing data refused. It is jsoniter, already in
// the build through the CloudEvents SDK, because every event ingest routes
// goes through here; when it refuses data, the slower encoding/json path
// below runs to say precisely why.
var strictJSON = jsoniter.Config{
	CaseSensitive:          true,
	DisallowUnknownFields:  true,
	ValidateJsonRawMessage: true,
	EscapeHTML:             true,
	SortMapKeys:            true,
}.Froze()

// Decode decodes and validates the JSON data of the named command. Unknown
// fields (matched exactly, so letter case counts), wrong types, trailing
// data and failed validation are *ValidationError; an unregistered name is
// ErrUnknownCommand.
func (r *Registry) Decode(name string, data []byte) (CommandData, error) {
	spec, ok := r.commands[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownCommand, name)
	}
	// Invalid UTF-8 takes the slow path, which replaces it as encoding/json
	// always does.
	if out := spec.newData(); len(data) > 0 && data[0] == '{' && utf8.Valid(data) && strictJSON.Unmarshal(data, out) == nil {
		if err := out.Validate(); err != nil {
			return nil, err
		}
		return out, nil
	}
	return spec.decodeSlowly(name, data)
}

// decodeSlowly is Decode with encoding/json, whose errors name the field.
func (spec commandSpec) decodeSlowly(name string, data []byte) (CommandData, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil || keys == nil {
		return nil, fieldError(name, "data must be a JSON object")
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !spec.fields[k] {
			return nil, fieldError(name, "unknown field %q%s", k, suggest(k, spec.fields))
		}
	}
	out := spec.newData()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, fieldError(name, "%s: expected a JSON %s, not %s", typeErr.Field, jsonKind(typeErr.Type), typeErr.Value)
		}
		return nil, fieldError(name, "data: %v", err)
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}

// DecodeEvent decodes the command an io.mendflow.command.<name> event
// carries, as the worker does with a message from MENDFLOW_COMMANDS.
func (r *Registry) DecodeEvent(e event.Event) (Command, error) {
	name, ok := CommandName(e.Type())
	if !ok {
		return Command{}, fmt.Errorf("%w: event type %q is not %s<name>", ErrUnknownCommand, e.Type(), CommandTypePrefix)
	}
	if !eventdata.DataIsJSON(e) {
		if e.DataContentType() == "" {
			return Command{}, fieldError(name, "data of no datacontenttype is not JSON: send application/json")
		}
		return Command{}, fieldError(name, "datacontenttype must be application/json, not %q", e.DataContentType())
	}
	data, err := r.Decode(name, e.Data())
	if err != nil {
		return Command{}, err
	}
	return Command{Name: name, Data: data}, nil
}

func suggest(key string, fields map[string]bool) string {
	for f := range fields {
		if strings.EqualFold(f, key) {
			return fmt.Sprintf(" (did you mean %q?)", f)
		}
	}
	return ""
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	default:
		return "number"
	}
}
