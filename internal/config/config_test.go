package config_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/config"
)

type retry struct {
	Wait time.Duration `env:"WAIT, default=1s"`
}

type service struct {
	Addr  string `env:"ADDR, default=:8080"`
	Count int    `env:"COUNT"`
	URL   string `env:"MEND_URL, required"`
	Retry retry
	Poll  retry `env:", prefix=POLL_"`
}

func (s *service) Validate() error {
	if s.Count < 0 {
		return fmt.Errorf("COUNT: must not be negative, not %d", s.Count)
	}
	return nil
}

func TestLoadNamesTheVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // prefix of the error; empty for success
	}{
		{"valid", map[string]string{"MEND_URL": "http://mend"}, ""},
		{"bad int", map[string]string{"MEND_URL": "x", "COUNT": "many"}, "COUNT: "},
		{"nested field", map[string]string{"MEND_URL": "x", "WAIT": "soon"}, "WAIT: "},
		{"prefixed nested field", map[string]string{"MEND_URL": "x", "POLL_WAIT": "soon"}, "POLL_WAIT: "},
		{"missing required", map[string]string{}, "MEND_URL: missing required value"},
		{"invalid after loading", map[string]string{"MEND_URL": "x", "COUNT": "-1"}, "COUNT: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s service
			err := config.Load(context.Background(), envconfig.MapLookuper(tt.env), &s)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Load: %v", err)
			case tt.wantErr == "":
				if s.Addr != ":8080" || s.Retry.Wait != time.Second || s.URL != "http://mend" {
					t.Errorf("defaults not applied: %+v", s)
				}
			case err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || strings.Count(err.Error(), "MEND_URL") > 1:
				t.Fatalf("Load error %q, want it to start with %q", err, tt.wantErr)
			}
		})
	}
}

type credentials struct {
	Key string `env:"KEY, required"`
}

type client struct {
	URL  string      `env:"URL, required"`
	Auth credentials `env:", prefix=AUTH_"`
}

// A required variable set empty or blank is refused as missing:
// go-envconfig's own check passes it.
func TestLoadRefusesBlankRequired(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env     map[string]string
		wantErr string
	}{
		{map[string]string{"URL": "u", "AUTH_KEY": "k"}, ""},
		{map[string]string{"URL": "", "AUTH_KEY": "k"}, "URL: missing required value"},
		{map[string]string{"URL": "u", "AUTH_KEY": " "}, "AUTH_KEY: missing required value"},
	} {
		var c client
		err := config.Load(context.Background(), envconfig.MapLookuper(tt.env), &c)
		if (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr || !errors.Is(err, envconfig.ErrMissingRequired))) {
			t.Errorf("%v: Load error %v, want %q", tt.env, err, tt.wantErr)
		}
	}
}

type schedule struct {
	Every   time.Duration `env:"EVERY, default=1m"`
	Offset  int           `env:"OFFSET"`
	Backoff retry         `env:", prefix=BACKOFF_"`
}

// A negative duration is refused, in a nested field too: go-envconfig
// takes "-1s" as given. A negative
// number of another type is left to the configuration's own checks.
func TestLoadRefusesNegativeDurations(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env     map[string]string
		wantErr string
	}{
		{map[string]string{"EVERY": "0s", "OFFSET": "-3", "BACKOFF_WAIT": "0"}, ""},
		{map[string]string{"EVERY": "-1s"}, "EVERY: must not be negative"},
		{map[string]string{"BACKOFF_WAIT": "-1ns"}, "BACKOFF_WAIT: must not be negative"},
	} {
		var s schedule
		err := config.Load(context.Background(), envconfig.MapLookuper(tt.env), &s)
		if (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr || !errors.Is(err, config.ErrNegative))) {
			t.Errorf("%v: Load error %v, want %q", tt.env, err, tt.wantErr)
		}
	}
}

// limits validates with a value receiver, as bus.StreamConfig does.
type limits struct {
	Max int `env:"MAX, default=1"`
}

func (l limits) Validate() error {
	if l.Max < 1 {
		return fmt.Errorf("MAX: must be at least 1, not %d", l.Max)
	}
	return nil
}

// timing validates with a pointer receiver, as mend.Config does, and holds
// a configuration of its own.
type timing struct {
	Timeout time.Duration `env:"TIMEOUT, default=1s"`
	Limits  limits
}

func (c *timing) Validate() error {
	if c.Timeout == 0 {
		return errors.New("TIMEOUT: must be positive, not 0s")
	}
	return nil
}

// daemon is a service's configuration made of the packages' own; its own
// Validate runs last, once what it holds is known to be valid.
type daemon struct {
	Name   string `env:"NAME, default=d"`
	Timing timing
	Extra  *limits `env:", prefix=EXTRA_"`
	Unset  *limits // nil: nothing to check
}

func (d *daemon) Validate() error {
	if d.Name == "" {
		return errors.New("NAME: must not be empty")
	}
	return nil
}

// Load calls the Validate of every configuration the target holds, with a
// value or a pointer receiver, in a field or behind a pointer, however
// deep, and the target's own last.
func TestLoadValidatesNestedConfigs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env     map[string]string
		wantErr string
	}{
		{map[string]string{}, ""},
		{map[string]string{"TIMEOUT": "0s"}, "TIMEOUT: must be positive, not 0s"},
		{map[string]string{"MAX": "0"}, "MAX: must be at least 1, not 0"},
		{map[string]string{"EXTRA_MAX": "-2"}, "MAX: must be at least 1, not -2"},
		{map[string]string{"NAME": ""}, "NAME: must not be empty"},
		// The parts before the whole.
		{map[string]string{"NAME": "", "MAX": "0"}, "MAX: must be at least 1, not 0"},
		{map[string]string{"TIMEOUT": "0s", "MAX": "0"}, "MAX: must be at least 1, not 0"},
	} {
		d := daemon{Extra: &limits{}}
		err := config.Load(context.Background(), envconfig.MapLookuper(tt.env), &d)
		if (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr)) {
			t.Errorf("%v: Load error %v, want %q", tt.env, err, tt.wantErr)
		}
	}
}
