package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"harpy/apply"
	"harpy/check"
	"harpy/hint"
	"harpy/hversion"
	"harpy/profiles"
)

func newRenderCmd() *cobra.Command {
	var (
		profile, version, dist, out, root, binary string
		doCheck, explain                          bool
		sets                                      []string
	)
	c := &cobra.Command{
		Use:   "render",
		Short: "Render haproxy.cfg, the rsyslog drop-in and logrotate from a profile",
		Long: `Render a profile (embedded name or TOML file) in the syntax of the target HAProxy version.
Without --out, haproxy.cfg is printed. With --out DIR, DIR gets ` + profiles.OutCfg + `, ` + profiles.OutRsyslog + ` (for
/etc/rsyslog.d/) and ` + profiles.OutLogrotate + ` (for /etc/logrotate.d/haproxy); --root DIR installs them under
DIR/etc instead (--root / on this host). Files are written atomically; with --check the staged
haproxy.cfg must pass "haproxy -c" before anything is replaced.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			v, err := hversion.Parse(version)
			if err != nil {
				return hint.Input(err)
			}
			p, err := profiles.Load(ctx, profile, sets...)
			if err != nil {
				return err
			}
			o, err := profiles.Render(p, profiles.Options{HAProxy: v, Dist: dist, Explain: explain})
			if err != nil {
				return err
			}
			res, err := profiles.Write(ctx, o, v, profiles.Dest{Out: out, Root: root, Stdout: c.OutOrStdout(), Explain: explain,
				Check: doCheck, Binary: binary, BinaryGiven: c.Flags().Changed("binary")})
			if err != nil {
				return err
			}
			report(c, res)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&profile, "profile", profiles.Default, "embedded profile name or profile file (see `harpy profiles`)")
	f.StringVar(&version, "haproxy", profiles.DefaultHAProxy, "target HAProxy version (1.6 … 3.2)")
	f.StringVar(&dist, "dist", profiles.DefaultDist, "target dist for the rsyslog/logrotate syntax: el6 … el10, deb11 … deb13, ubuntu22.04, ubuntu24.04, debian")
	f.StringVar(&out, "out", "", "directory to write the three files into (atomically)")
	f.StringVar(&root, "root", "", "install the files under ROOT"+profiles.HAProxyCfgPath+", ROOT"+profiles.RsyslogPath+", ROOT"+profiles.LogrotatePath+" (atomically; --root / for this host)")
	f.BoolVar(&doCheck, "check", false, `run "haproxy -c" on the staged config before writing it`)
	f.StringVar(&binary, "binary", check.DefaultBinary, "haproxy binary for --check")
	f.BoolVar(&explain, "explain", false, "print haproxy.cfg with the profile file:line:column each line comes from")
	f.StringArrayVar(&sets, "set", nil, "override a profile field: KEY=VALUE, lists by name (backend.app.servers.web10.address=127.0.0.1:8080)")
	return c
}

func report(c *cobra.Command, res apply.Result) {
	for _, f := range res.Written {
		fmt.Fprintf(c.OutOrStdout(), "wrote %s\n", filepath.Clean(f))
	}
	for _, f := range res.Unchanged {
		fmt.Fprintf(c.OutOrStdout(), "unchanged %s\n", filepath.Clean(f))
	}
}

// errLint is returned when lint found directives the target refuses.
var errLint = hint.With(errors.New("the config uses directives the target HAProxy refuses"), "replace them as suggested above")
