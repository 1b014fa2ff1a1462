// Package config loads a service's configuration from the environment with
// go-envconfig, and reports a bad value by the name of its variable, which
// is what an operator sets, rather than by the Go field behind it.
package config

import (
	"context"
	"errors"
	"reflect"
	"strings"

	"github.com/sethvargo/go-envconfig"
)

// Validator is a configuration that checks its values once loaded; its
// errors start with the name of the variable at fault.
type Validator interface {
	Validate() error
}

// Load fills target, a pointer to a struct with `env` tags, from env
// (envconfig.OsLookuper() in main, a map in tests), then validates it when
// it is a Validator. A required string must also not be blank: go-envconfig
// takes a variable set empty as given. An error names the variable at fault,
// never its value.
func Load(ctx context.Context, env envconfig.Lookuper, target any) error {
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: target, Lookuper: env}); err != nil {
		return rename(err, variables(reflect.TypeOf(target), "", ""))
	}
	if err := requireValues(reflect.ValueOf(target), ""); err != nil {
		return err
	}
	if v, ok := target.(Validator); ok {
		return v.Validate()
	}
	return nil
}

// rename rewrites go-envconfig's "Outer: Field: cause", which names the Go
// fields, as "VARIABLE: cause".
func rename(err error, vars map[string]string) error {
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

// variables maps the field paths of t ("Outer.Field") to the variables
// their tags name, following go-envconfig's prefix option.
func variables(t reflect.Type, path, prefix string) map[string]string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]string{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("env"), ",")
		name = strings.TrimSpace(name)
		fieldPath := path + f.Name
		if name != "" {
			out[fieldPath] = prefix + name
			continue
		}
		for k, v := range variables(f.Type, fieldPath+".", prefix+prefixOf(opts)) {
			out[k] = v
		}
	}
	return out
}

// requireValues refuses a blank string in a field tagged required, in v or
// in the structs it holds.
func requireValues(v reflect.Value, prefix string) error {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	for i := range v.NumField() {
		f, field := v.Type().Field(i), v.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("env"), ",")
		name = strings.TrimSpace(name)
		if name == "" {
			if err := requireValues(field, prefix+prefixOf(opts)); err != nil {
				return err
			}
			continue
		}
		if field.Kind() == reflect.String && hasOption(opts, "required") && strings.TrimSpace(field.String()) == "" {
			return &variableError{variable: prefix + name, msg: envconfig.ErrMissingRequired.Error(), err: envconfig.ErrMissingRequired}
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
