// Package config loads a service's configuration from the environment with
// go-envconfig, and reports a bad value by the name of its variable, which
// is what an operator sets, rather than by the Go field behind it.
package config

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Validator is a configuration that checks its values once loaded. Its
// errors say what is wrong in one style, naming the variable at fault as
// an operator sets it: "VARIABLE: must be …, not …" (the value left out
// when it may be a secret).
type Validator interface {
	Validate() error
}

// Load fills target, a pointer to a struct with `env` tags, from env
// (envconfig.OsLookuper() in main, a map in tests), then validates it: every
// configuration it holds that is a Validator, however deep, before the one
// that holds it, and target itself last, so that a service's configuration
// made of the packages' own (bus.StreamConfig, mend.Config, …) is checked
// whole without a call of its own. Two rules hold for every configuration,
// as go-envconfig takes any value it can parse: a required string must not
// be blank, and a time.Duration must not be negative (no setting of
// mendflow's is a negative span of time, and a service that ran with one
// would quietly misbehave). An error names the variable at fault, never
// its value.
func Load(ctx context.Context, env envconfig.Lookuper, target any) error {
	fields := envFields(reflect.TypeOf(target))
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: target, Lookuper: env}); err != nil {
		return rename(err, fields)
	}
	if err := checkValues(reflect.ValueOf(target), fields); err != nil {
		return err
	}
	return validate(reflect.ValueOf(target))
}

// validate calls Validate on each configuration v holds, as go-envconfig
// walks them (the struct fields without a variable of their own), then on
// v, when they are Validators. v is a pointer.
func validate(v reflect.Value) error {
	s := reflect.Indirect(v)
	if s.Kind() != reflect.Struct {
		return nil
	}
	for i := range s.NumField() {
		f := s.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if !f.IsExported() || strings.TrimSpace(name) != "" {
			continue
		}
		field := s.Field(i)
		switch {
		case field.Kind() == reflect.Struct:
			field = field.Addr()
		case field.Kind() != reflect.Pointer || field.IsNil():
			continue
		}
		if err := validate(field); err != nil {
			return err
		}
	}
	if val, ok := v.Interface().(Validator); ok {
		return val.Validate()
	}
	return nil
}

// rename rewrites go-envconfig's "Outer: Field: cause", which names the Go
// fields, as "VARIABLE: cause".
func rename(err error, fields []envField) error {
	vars := make(map[string]string, len(fields))
	for _, f := range fields {
		vars[f.path] = f.variable
	}
	path, rest := "", err.Error()
	for {
		field, cause, ok := strings.Cut(rest, ": ")
		if !ok {
			return err
		}
		if path != "" {
			path += "."
		}
		path += field
		if v, found := vars[path]; found {
			if errors.Is(err, envconfig.ErrMissingRequired) {
				// go-envconfig repeats the variable after the message.
				cause = envconfig.ErrMissingRequired.Error()
			}
			return &variableError{variable: v, msg: cause, err: err}
		}
		rest = cause
	}
}

// variableError names the variable at fault and keeps go-envconfig's error
// for errors.Is.
type variableError struct {
	variable, msg string
	err           error
}

func (e *variableError) Error() string { return e.variable + ": " + e.msg }
func (e *variableError) Unwrap() error { return e.err }

// envField is a field of a configuration that an env tag names.
type envField struct {
	path     string // its Go field names, "Outer.Field", as go-envconfig's errors give them
	index    []int  // for reflect.Value.FieldByIndex
	variable string // with go-envconfig's prefix options applied
	opts     string // the tag's options
}

// envFields lists the fields of t, a struct or a pointer to one, and of
// the structs it holds, that env tags name.
func envFields(t reflect.Type) []envField { return appendEnvFields(nil, t, "", "", nil) }

func appendEnvFields(out []envField, t reflect.Type, path, prefix string, index []int) []envField {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("env"), ",")
		name = strings.TrimSpace(name)
		fieldIndex := append(slices.Clone(index), i)
		if name != "" {
			out = append(out, envField{path: path + f.Name, index: fieldIndex, variable: prefix + name, opts: opts})
			continue
		}
		out = appendEnvFields(out, f.Type, path+f.Name+".", prefix+prefixOf(opts), fieldIndex)
	}
	return out
}

// ErrNegative is the error of a negative time.Duration.
var ErrNegative = errors.New("must not be negative")

var durationType = reflect.TypeFor[time.Duration]()

// checkValues refuses a blank string in a field tagged required and a
// negative time.Duration in any field.
func checkValues(v reflect.Value, fields []envField) error {
	v = reflect.Indirect(v)
	for _, f := range fields {
		field, err := v.FieldByIndexErr(f.index)
		switch {
		case err != nil:
			// Behind a nil pointer: nothing was loaded.
		case field.Kind() == reflect.String && hasOption(f.opts, "required") && strings.TrimSpace(field.String()) == "":
			return &variableError{variable: f.variable, msg: envconfig.ErrMissingRequired.Error(), err: envconfig.ErrMissingRequired}
		case field.Type() == durationType && field.Int() < 0:
			return &variableError{variable: f.variable, msg: ErrNegative.Error(), err: ErrNegative}
		}
	}
	return nil
}

func hasOption(opts, option string) bool {
	for _, o := range strings.Split(opts, ",") {
		if strings.TrimSpace(o) == option {
			return true
		}
	}
	return false
}

func prefixOf(opts string) string {
	for _, o := range strings.Split(opts, ",") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(o), "prefix="); ok {
			return p
		}
	}
	return ""
}
