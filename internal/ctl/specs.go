package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/mendflow/mendflow/internal/config"
	"github.com/mendflow/mendflow/internal/reconcile"
)

// specsSettings is how the specs' bucket is created: with the streams'
// replicas.
type specsSettings struct {
	Replicas int `env:"STREAM_REPLICAS, default=1"`
}

// withSpecs runs f with the stored specs, the bucket created when create
// is set.
func withSpecs(ctx context.Context, s *settings, create bool, f func(*reconcile.Specs) error) error {
	var ss specsSettings
	if err := config.Load(ctx, s.env, &ss); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	nc, js, err := connectNATS(s)
	if err != nil {
		return err
	}
	defer nc.Close()
	specs, err := reconcile.OpenSpecs(ctx, js, create, ss.Replicas)
	if err != nil {
		return err
	}
	return f(specs)
}

// specName is the one argument NAME of get and delete.
func specName(args []string) (string, error) {
	if len(args) != 1 {
		return "", errUsage
	}
	return args[0], nil
}

// reconcilePut stores a spec under a name, for the reconcile command,
// once it is valid (its errors are those of reconcile plan): a spec file,
// or with -github or -gitlab a reference to a spec kept in a repository,
// which each reconcile reads anew (reconcile.SpecFile).
func reconcilePut(ctx context.Context, s *settings, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	name := args[0]
	fs := flag.NewFlagSet("reconcile put", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("f", "", "the spec (YAML)")
	gitHub := fs.String("github", "", "OWNER/REPOSITORY holding the spec, read anew by each reconcile")
	gitLab := fs.String("gitlab", "", "GROUP/PROJECT holding the spec, read anew by each reconcile")
	path := fs.String("path", "", "with -github or -gitlab: the spec's path in the repository")
	ref := fs.String("ref", "", "with -github or -gitlab: the branch, tag or commit (default: the default branch)")
	apiURL := fs.String("url", "", "with -github: the API of a GitHub Enterprise Server; with -gitlab: a self-managed GitLab")
	tokenEnv := fs.String("token-env", "", "with -github or -gitlab: the variable holding the token (default GITHUB_TOKEN or GITLAB_TOKEN)")
	err := fs.Parse(args[1:])
	given := 0
	for _, v := range []string{*file, *gitHub, *gitLab} {
		if v != "" {
			given++
		}
	}
	if err != nil || fs.NArg() > 0 || given != 1 || (*file != "" && (*path != "" || *ref != "" || *apiURL != "" || *tokenEnv != "")) {
		return errUsage
	}
	var src []byte
	what := *file
	if *file != "" {
		var err error
		if src, err = os.ReadFile(*file); err != nil {
			return err
		}
		if _, err := reconcile.Parse(*file, src); err != nil {
			return err // before connecting: a spec is checked without NATS
		}
	} else {
		// The file is read now, as the worker will: a reference that
		// reads no valid spec is not stored.
		var f reconcile.SpecFile
		if *gitHub != "" {
			f.From.GitHub = &reconcile.GitHubFile{Repository: *gitHub, Path: *path, Ref: *ref, URL: *apiURL, TokenEnv: *tokenEnv}
		} else {
			f.From.GitLab = &reconcile.GitLabFile{Project: *gitLab, Path: *path, Ref: *ref, URL: *apiURL, TokenEnv: *tokenEnv}
		}
		b, err := f.Read(ctx, reconcile.SourceOptions{
			Getenv:     func(name string) string { v, _ := s.env.Lookup(name); return v },
			HTTPClient: &http.Client{Timeout: scmTimeout},
		})
		if err != nil {
			return err
		}
		if _, err := reconcile.Parse(f.String(), b); err != nil {
			return err
		}
		src, what = f.YAML(), f.String()
	}
	return withSpecs(ctx, s, true, func(specs *reconcile.Specs) error {
		rev, err := specs.Put(ctx, name, what, src)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "Stored spec %s (revision %d).\n", name, rev)
		return nil
	})
}

// reconcileGet prints a stored spec as it was put.
func reconcileGet(ctx context.Context, s *settings, args []string, out io.Writer) error {
	name, err := specName(args)
	if err != nil {
		return err
	}
	return withSpecs(ctx, s, false, func(specs *reconcile.Specs) error {
		src, _, err := specs.Get(ctx, name)
		if err != nil {
			return err
		}
		_, err = out.Write(src)
		return err
	})
}

// reconcileList lists the stored specs.
func reconcileList(ctx context.Context, s *settings, args []string, out io.Writer) error {
	if len(args) != 0 {
		return errUsage
	}
	return withSpecs(ctx, s, false, func(specs *reconcile.Specs) error {
		list, err := specs.List(ctx)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(out, "No spec stored.")
			return nil
		}
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tREVISION\tSTORED\tBYTES")
		for _, sp := range list {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", sp.Name, sp.Revision, sp.Stored.UTC().Format(time.RFC3339), sp.Size)
		}
		return tw.Flush()
	})
}

// reconcileDelete removes a stored spec.
func reconcileDelete(ctx context.Context, s *settings, args []string, out io.Writer) error {
	name, err := specName(args)
	if err != nil {
		return err
	}
	return withSpecs(ctx, s, false, func(specs *reconcile.Specs) error {
		if err := specs.Delete(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(out, "Deleted spec %s.\n", name)
		return nil
	})
}
