package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"harpy/build"
	"harpy/hint"
	"harpy/packaging"
	"harpy/profiles"
	"harpy/specs"
)

// packageFlags are the packaging settings shared by `harpy spec` and
// `harpy build --format`: they become packaging.Options.
type packageFlags struct {
	dist, release, profile, stage, out             string
	packager, vendor, maintainer, compression, key string
	formats                                        []string
}

// registerBuild adds the packaging flags to `harpy build`: with --format the
// pipeline ends in packaging.Step (see step).
func (f *packageFlags) registerBuild(fs *pflag.FlagSet) {
	f.register(fs)
	fs.StringSliceVar(&f.formats, "format", nil, "package the build: rpm, deb or rpm,deb")
	fs.StringVar(&f.out, "out", "dist", "directory for the packages")
}

// step is the pipeline's last step for `harpy build --format`, or nil without
// --format. version is the requested one ("" for the default); the step takes
// the staged tree, the exact version and USE_SYSTEMD from the build:
//
//	st, err := build.Run(ctx, opts, append(build.Steps(), step)) // then step.Made
func (f *packageFlags) step(cmd *cobra.Command, version string) (*packaging.Step, error) {
	if len(f.formats) == 0 {
		return nil, nil
	}
	if version == "" {
		version = specs.Default
	}
	o, err := f.options(cmd, version, "", false)
	if err != nil {
		return nil, err
	}
	o.Version, o.Formats, o.OutDir = "", f.formats, f.out
	return &packaging.Step{Options: o}, nil
}

func (f *packageFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.dist, "dist", "", "target dist: el6 (SysV init), el7, el8, el9 (systemd); default: this host's, if it is an el")
	fs.StringVar(&f.release, "release", "1", "package release (the dist tag is appended: 1.el9)")
	fs.StringVar(&f.profile, "profile", profiles.Default, "profile whose rendered haproxy.cfg, rsyslog and logrotate files are packaged")
	fs.StringVar(&f.packager, "packager", "", "RPM Packager and changelog author, \"Name <email>\"")
	fs.StringVar(&f.vendor, "vendor", "", "RPM Vendor (default harpy)")
	fs.StringVar(&f.maintainer, "maintainer", "", ".deb Maintainer (default: --packager)")
	fs.StringVar(&f.compression, "compression", "", "RPM payload: gzip, xz or zstd[:level] (default: zstd:19 for el8+, xz for el6/el7)")
	fs.StringVar(&f.key, "sign-key", "", "armored PGP private key file to sign RPMs with (passphrase from $HARPY_SIGN_PASSPHRASE)")
}

// options resolves the flags into packaging options for a staged tree.
func (f *packageFlags) options(cmd *cobra.Command, version, stage string, systemd bool) (packaging.Options, error) {
	o := packaging.Options{
		Version: version, Release: f.release, StageDir: stage, Systemd: systemd,
		Packager: f.packager, Vendor: f.vendor, Maintainer: f.maintainer, Compression: f.compression,
		SignKey: f.key, SignPassphrase: os.Getenv("HARPY_SIGN_PASSPHRASE"), Notes: cmd.ErrOrStderr(),
	}
	return packaging.Resolve(cmd.Context(), o, packaging.Target{Formats: f.formats, Dist: f.dist, Profile: f.profile}, version)
}

// preflight checks the packaging options of `harpy spec` (an RPM into --out) before
// anything is built; version is the requested one ("" for the default).
func (f *packageFlags) preflight(cmd *cobra.Command, version string) error {
	if version == "" {
		version = specs.Default
	}
	o, err := f.options(cmd, version, "", false)
	if err != nil {
		return err
	}
	o.Formats, o.OutDir = []string{"rpm"}, f.out
	return o.Validate()
}

// staged returns the staged tree: --stage as given, or the pipeline's build.
func (f *packageFlags) staged(cmd *cobra.Command, src *sourceFlags, version string) (string, string, bool, error) {
	if f.stage != "" {
		if version == "" {
			return "", "", false, hint.Input(hint.With(errors.New("--stage needs --version"), "pass the version of the staged build, e.g. --version 2.6.12"))
		}
		if _, err := os.Stat(filepath.Join(f.stage, "usr/sbin/haproxy")); err != nil {
			return "", "", false, hint.Input(hint.With(fmt.Errorf("--stage %s: %w", f.stage, err), "pass a staged tree that holds usr/sbin/haproxy (make install DESTDIR=… PREFIX=/usr)"))
		}
		systemd, err := packaging.StagedSystemd(cmd.Context(), f.stage)
		if err != nil {
			return "", "", false, err
		}
		return f.stage, version, systemd, nil
	}
	opts, err := src.options(cmd)
	if err != nil {
		return "", "", false, err
	}
	res, err := build.Build(cmd.Context(), opts)
	if err != nil {
		return "", "", false, err
	}
	return res.StageDir, res.Plan.Version.String(), res.VV.Features["SYSTEMD"], nil
}

func newSpecCmd() *cobra.Command {
	var (
		src sourceFlags
		pf  packageFlags
	)
	cmd := &cobra.Command{
		Use:   "spec",
		Short: "Export a .spec and its source, equivalent to harpy's native RPM, for rpmbuild or mock",
		Long: `Export a .spec and its one source tarball into --out. rpmbuild -bb on them makes
the same package as harpy's native RPM (files, modes, owners, flags, scriptlets,
Requires, metadata). The staged tree comes from the build pipeline (cached when
built before) or from --stage.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Every option is checked before the build: a bad --dist fails before a download.
			if err := pf.preflight(cmd, src.version); err != nil {
				return err
			}
			stage, version, systemd, err := pf.staged(cmd, &src, src.version)
			if err != nil {
				return err
			}
			o, err := pf.options(cmd, version, stage, systemd)
			if err != nil {
				return err
			}
			res, err := packaging.ExportSpec(cmd.Context(), o, pf.out)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintln(w, res.Spec)
			for _, s := range res.Sources {
				fmt.Fprintln(w, s)
			}
			return nil
		},
	}
	src.register(cmd.Flags())
	pf.register(cmd.Flags())
	cmd.Flags().StringVar(&pf.out, "out", "dist", "directory for the .spec and its source")
	cmd.Flags().StringVar(&pf.stage, "stage", "", "package this staged tree instead of building (needs --version)")
	// rpmbuild users sign with rpmsign; the spec has nothing to sign.
	_ = cmd.Flags().MarkHidden("sign-key")
	return cmd
}
