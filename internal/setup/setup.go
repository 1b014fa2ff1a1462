// Package setup loads a service's configuration from the environment, so
// that every mendflow binary fails the same way on a bad value: one error
// naming the variable.
package setup

import (
	"context"
	"errors"
	"reflect"
	"strings"

	"github.com/sethvargo/go-envconfig"
)

// Validator is a configuration that checks its values after loading; its
// errors start with the variable's name.
type Validator interface {
	Validate() error
}

// LoadConfig fills cfg, a pointer to a struct with env tags, from lookuper
// (envconfig.OsLookuper() in main, a map in tests) and validates it. An
// error names the environment variable at fault, never its value when the
// variable is required (those are the secrets).
func LoadConfig(ctx context.Context, lookuper envconfig.Lookuper, cfg Validator) error {
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: cfg, Lookuper: lookuper}); err != nil {
		return nameVariable(reflect.TypeOf(cfg).Elem(), err)
	}
	return cfg.Validate()
}

// nameVariable rewrites go-envconfig's errors, which name the struct fields
// ("Streams: Replicas: strconv.ParseInt: ..."), to name the variable
// ("STREAM_REPLICAS: strconv.ParseInt: ...").
func nameVariable(t reflect.Type, err error) error {
	rest := err.Error()
	var env string
	for t.Kind() == reflect.Struct {
		name, after, ok := strings.Cut(rest, ": ")
		if !ok {
			break
		}
		f, found := t.FieldByName(name)
		if !found {
			break
		}
		rest, t = after, f.Type
		env, _, _ = strings.Cut(f.Tag.Get("env"), ",")
	}
	if env == "" {
		return err
	}
	if errors.Is(err, envconfig.ErrMissingRequired) {
		rest = envconfig.ErrMissingRequired.Error()
	}
	return &variableError{env: env, msg: rest, err: err}
}

type variableError struct {
	env, msg string
	err      error
}

func (e *variableError) Error() string { return e.env + ": " + e.msg }
func (e *variableError) Unwrap() error { return e.err }
