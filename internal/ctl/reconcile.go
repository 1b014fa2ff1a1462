package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mendflow/mendflow/internal/config"
	"github.com/mendflow/mendflow/internal/reconcile"
	"github.com/mendflow/mendflow/pkg/mend"
)

// errDrift ends reconcile plan with exit status 2: Mend differs from the
// spec. It is not a failure, and prints nothing more.
var errDrift = errors.New("the plan has changes")

const reconcilePlanUsage = "usage: mendflowctl reconcile plan -f SPEC [-o text|json]"

// reconcileSettings is how reconcile reaches Mend: the worker's variables.
type reconcileSettings struct {
	OrgToken string `env:"MEND_ORG_TOKEN"`
	Mend     mend.Config
}

// scmTimeout bounds each call to GitHub or GitLab.
const scmTimeout = time.Minute

// reconcilePlan prints the changes that bring Mend to a spec. Its exit
// status tells CI whether Mend has drifted: 2 when there are changes, 0
// when none, 1 on any error, bad flags included (2 would read as drift).
func reconcilePlan(ctx context.Context, s *settings, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("reconcile plan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("f", "", "the spec (YAML)")
	format := fs.String("o", "text", "text or json")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *file == "" || (*format != "text" && *format != "json") {
		return errors.New(reconcilePlanUsage)
	}
	plan, err := planSpec(ctx, s, *file)
	if err != nil {
		return err
	}
	if *format == "json" {
		err = plan.WriteJSON(out)
	} else {
		err = plan.WriteText(out)
	}
	if err != nil {
		return err
	}
	if plan.Summary.Total() > 0 {
		return errDrift
	}
	return nil
}

// planSpec plans the spec in file against Mend as the environment reaches
// it.
func planSpec(ctx context.Context, s *settings, file string) (*reconcile.Plan, error) {
	spec, err := reconcile.Load(file)
	if err != nil {
		return nil, err
	}
	var rs reconcileSettings
	if err := config.Load(ctx, s.env, &rs); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	org := spec.Organization
	if org == "" {
		org = rs.OrgToken
	}
	if org == "" {
		return nil, errors.New("configuration: MEND_ORG_TOKEN: missing required value (or give the spec an organization)")
	}
	client, err := mend.NewClientFromConfig(rs.Mend)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	src := reconcile.SourceOptions{
		Getenv:     func(name string) string { v, _ := s.env.Lookup(name); return v },
		HTTPClient: &http.Client{Timeout: scmTimeout},
	}
	return reconcile.MakePlan(ctx, spec, src, reconcile.ClientMend{Client: client, OrgToken: org}, org)
}
