package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"harpy/build"
	"harpy/specs"
)

// sourceFlags are shared by fetch and build.
type sourceFlags struct {
	version, sha256, source, cache string
	mirrors, recipes               []string
}

func (f *sourceFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.version, "version", "", "HAProxy release (2.6.12) or branch (2.6: newest known); default "+specs.Default)
	fs.StringVar(&f.sha256, "sha256", "", "sha256 of the tarball, for a version no recipe knows")
	fs.StringVar(&f.source, "source", "", "use this local tarball instead of downloading")
	fs.StringArrayVar(&f.mirrors, "mirror", nil, "download from this URL instead of upstream (repeatable, tried in order; {version} and {branch} are expanded, else /haproxy-V.tar.gz is appended)")
	fs.StringArrayVar(&f.recipes, "recipe", nil, "extra recipe TOML file adding or overriding releases (repeatable)")
	fs.StringVar(&f.cache, "cache", "", "cache directory (default $HARPY_CACHE or the user cache dir)")
}

func (f *sourceFlags) options(cmd *cobra.Command) (build.Options, error) {
	cat, err := specs.Load(append(specs.UserRecipeFiles(), f.recipes...)...)
	if err != nil {
		return build.Options{}, err
	}
	cache := f.cache
	if cache == "" {
		if cache, err = build.DefaultCacheDir(); err != nil {
			return build.Options{}, err
		}
	}
	return build.Options{
		Catalog:  cat,
		Request:  specs.Request{Version: f.version, SHA256: f.sha256},
		CacheDir: cache,
		Mirrors:  f.mirrors,
		Source:   f.source,
		Progress: cmd.ErrOrStderr(),
	}, nil
}

func newBuildCmd() *cobra.Command {
	var (
		src           sourceFlags
		pf            packageFlags
		with, without []string
		jobs          int
		rebuild       bool
	)
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Fetch, verify, patch, compile, prove and stage an HAProxy release",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := src.options(cmd)
			if err != nil {
				return err
			}
			opts.Request.With, opts.Request.Without = splitList(with), splitList(without)
			opts.Jobs, opts.Rebuild = jobs, rebuild
			// Packaging options are checked (and the profile rendered) before any build work.
			step, err := pf.step(cmd, src.version)
			if err != nil {
				return err
			}
			steps := build.Steps()
			if step != nil {
				steps = append(steps, step)
			}
			st, err := build.Run(cmd.Context(), opts, steps)
			if err != nil {
				return err
			}
			res := &st.Result
			how := "built"
			if res.Cached {
				how = "cached"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "haproxy %s %s: %s\n", res.VV.Version, how, res.Binary)
			fmt.Fprintf(cmd.OutOrStdout(), "features: %s\n", strings.Join(res.Plan.FeatureNames(), " "))
			fmt.Fprintf(cmd.OutOrStdout(), "staged: %s\n", res.StageDir)
			if step != nil {
				for _, p := range step.Made {
					fmt.Fprintf(cmd.OutOrStdout(), "package: %s\n", p)
				}
			}
			return nil
		},
	}
	src.register(cmd.Flags())
	pf.registerBuild(cmd.Flags())
	cmd.Flags().StringSliceVar(&with, "with", nil, "features to add (openssl,pcre,pcre2,pcre2-jit,zlib,lua,systemd,promex,quic)")
	cmd.Flags().StringSliceVar(&without, "without", nil, "features to leave out; the binary is checked not to have them")
	cmd.Flags().IntVarP(&jobs, "jobs", "j", 0, "parallel make jobs (default: number of CPUs)")
	cmd.Flags().BoolVar(&rebuild, "rebuild", false, "compile even if the same inputs were built before")
	return cmd
}

func newFetchCmd() *cobra.Command {
	var src sourceFlags
	cmd := &cobra.Command{
		Use:   "fetch",
		Short: "Download and verify a release tarball into the cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := src.options(cmd)
			if err != nil {
				return err
			}
			path, err := build.FetchOnly(cmd.Context(), opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), path)
			return nil
		},
	}
	src.register(cmd.Flags())
	return cmd
}

func newVersionsCmd() *cobra.Command {
	var recipes []string
	cmd := &cobra.Command{
		Use:   "versions",
		Short: "List the known HAProxy releases, their sha256 and default features",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, err := specs.Load(append(specs.UserRecipeFiles(), recipes...)...)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, r := range cat.Releases {
				mark := " "
				if r.Version == specs.Default {
					mark = "*"
				}
				fmt.Fprintf(w, "%s %-8s %s  %s\n", mark, r.Version, r.SHA256, strings.Join(r.Features, ","))
				if len(r.Patches) > 0 {
					fmt.Fprintf(w, "           patches: %s\n", strings.Join(r.Patches, ", "))
				}
				if r.Origin != "" && !strings.HasPrefix(r.Origin, "embedded") {
					fmt.Fprintf(w, "           from %s\n", r.Origin)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&recipes, "recipe", nil, "extra recipe TOML file (repeatable)")
	return cmd
}

func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
