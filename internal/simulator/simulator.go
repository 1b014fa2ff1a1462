// Package simulator is the core of cmd/mendsim: the Mend API simulator of
// package mendsim, configured from the environment and served over HTTP
// with the health and metrics endpoints every mendflow service has.
package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/mendflow/mendflow/internal/app"
	"github.com/mendflow/mendflow/internal/config"
	"github.com/mendflow/mendflow/pkg/mend/mendsim"
)

// settings is the simulator's environment.
type settings struct {
	Addr      string `env:"MENDSIM_ADDR, default=127.0.0.1:9090"`
	UserKey   string `env:"MENDSIM_USER_KEY"`
	UserEmail string `env:"MENDSIM_USER_EMAIL"`
	OrgToken  string `env:"MENDSIM_ORG_TOKEN"`
	OrgName   string `env:"MENDSIM_ORG_NAME"`
	// ExtraOrgTokens are further (empty) organizations of the same user,
	// separated by commas.
	ExtraOrgTokens []string `env:"MENDSIM_EXTRA_ORG_TOKENS"`

	JWTLifetime     time.Duration `env:"MENDSIM_JWT_LIFETIME, default=30m"`
	ProcessDuration time.Duration `env:"MENDSIM_PROCESS_DURATION, default=3s"`
	ProcessPolls    int           `env:"MENDSIM_PROCESS_POLLS"`
	RequestDuration time.Duration `env:"MENDSIM_REQUEST_DURATION, default=5s"`
	RequestPolls    int           `env:"MENDSIM_REQUEST_POLLS"`

	// Faults is a JSON array of mendsim.Fault to apply from the start.
	Faults string `env:"MENDSIM_FAULTS"`
}

// Validate implements config.Validator. mendsim.Config takes a duration of
// 0 for its default and a poll count below 1 for no limit; from the
// environment, where the defaults are written out, a 0 or a negative count
// is a mistake.
func (s *settings) Validate() error {
	switch {
	case s.JWTLifetime <= 0:
		return fmt.Errorf("MENDSIM_JWT_LIFETIME: must be positive, not %v", s.JWTLifetime)
	case s.ProcessDuration <= 0:
		return fmt.Errorf("MENDSIM_PROCESS_DURATION: must be positive, not %v", s.ProcessDuration)
	case s.ProcessPolls < 0:
		return fmt.Errorf("MENDSIM_PROCESS_POLLS: must not be negative (0: no limit), not %d", s.ProcessPolls)
	case s.RequestDuration <= 0:
		return fmt.Errorf("MENDSIM_REQUEST_DURATION: must be positive, not %v", s.RequestDuration)
	case s.RequestPolls < 0:
		return fmt.Errorf("MENDSIM_REQUEST_POLLS: must not be negative (0: no limit), not %d", s.RequestPolls)
	}
	return nil
}

// Run serves the simulator until ctx ends; it is an app.RealMain.
func Run(ctx context.Context, env envconfig.Lookuper, tel app.Telemetry) error {
	logger := tel.Logger
	var cfg settings
	if err := config.Load(ctx, env, &cfg); err != nil {
		return err
	}
	var faults []mendsim.Fault
	if cfg.Faults != "" {
		if err := json.Unmarshal([]byte(cfg.Faults), &faults); err != nil {
			return fmt.Errorf("MENDSIM_FAULTS: %w", err)
		}
	}
	sim := mendsim.New(mendsim.Config{
		UserKey: cfg.UserKey, UserEmail: cfg.UserEmail, OrgToken: cfg.OrgToken, OrgName: cfg.OrgName,
		ExtraOrgTokens:  cfg.ExtraOrgTokens,
		JWTLifetime:     cfg.JWTLifetime,
		ProcessDuration: cfg.ProcessDuration, ProcessPolls: cfg.ProcessPolls,
		RequestDuration: cfg.RequestDuration, RequestPolls: cfg.RequestPolls,
	})
	for _, f := range faults {
		if err := sim.SetFault(f); err != nil {
			return fmt.Errorf("MENDSIM_FAULTS: %w", err)
		}
	}

	srv, err := app.Listen("MENDSIM_ADDR", cfg.Addr, app.ServerConfig{Metrics: metricsRegistry(sim), Handler: sim, Logger: logger})
	if err != nil {
		return err
	}
	served := srv.Start()
	logger.Info("mendsim listening", "addr", srv.Addr(), "org_token", sim.OrgToken(), "user_email", sim.UserEmail())
	tel.Listening(srv.Addr())

	select {
	case err = <-served:
		err = fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	// Calls waiting out an injected latency would hold the shutdown.
	sim.Stop()
	err = errors.Join(err, app.Shutdown(logger, srv, nil, app.StopTimeout))
	logger.Info("mendsim stopped")
	return err
}
