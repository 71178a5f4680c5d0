package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"harpy/apply"
	"harpy/check"
	"harpy/hint"
	"harpy/hversion"
	"harpy/profiles"
)

// Names of the rendered files in --out DIR.
const (
	outCfg       = "haproxy.cfg"
	outRsyslog   = "49-haproxy.conf"
	outLogrotate = "haproxy.logrotate"
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
Without --out, haproxy.cfg is printed. With --out DIR, DIR gets ` + outCfg + `, ` + outRsyslog + ` (for
/etc/rsyslog.d/) and ` + outLogrotate + ` (for /etc/logrotate.d/haproxy); --root DIR installs them under
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
			// The judge must be of the target's branch, unless the host's own service judges
			// (--root / without --binary: what the unit will run is what counts).
			hostService := filepath.Clean(root) == "/" && !c.Flags().Changed("binary")
			if doCheck && !hostService {
				if err := check.SameBranch(ctx, binary, v); err != nil {
					return err
				}
			}
			var checker apply.Checker
			if doCheck {
				checker = func(ctx context.Context, staged map[string]string) error {
					return check.HAProxy(ctx, binary, staged[outCfg])
				}
			}
			if root != "" {
				if out != "" {
					return hint.Input(hint.With(errors.New("--out and --root both given"), "--out DIR writes the three files side by side; --root DIR installs them under DIR/etc"))
				}
				// An install is checked as the root's haproxy service would check it:
				// its flags (CFGDIR, OPTIONS/EXTRAOPTS) and its working directory.
				tx := apply.Tx{Target: apply.LocalTarget{Root: root}, Files: o.Files()}
				if doCheck {
					// On this host (--root /) the unit's own binary, unless --binary says.
					v := apply.HAProxy{Binary: binary}
					if filepath.Clean(root) == "/" && !c.Flags().Changed("binary") {
						v.Binary = ""
					}
					tx.Validate = v
				}
				res, err := tx.Run(ctx)
				if err != nil {
					return err
				}
				report(c, res)
				return nil
			}
			if out == "" {
				if checker != nil {
					dir, err := os.MkdirTemp("", "harpy-render-")
					if err != nil {
						return err
					}
					defer os.RemoveAll(dir)
					if _, err := apply.WriteChecked(ctx, dir, []apply.File{{Name: outCfg, Data: o.HAProxyCfg}}, checker); err != nil {
						return err
					}
				}
				cfg := o.HAProxyCfg
				if explain {
					cfg = profiles.Annotate(cfg, o.Origins)
				}
				_, err := c.OutOrStdout().Write(cfg)
				return err
			}
			res, err := apply.WriteChecked(ctx, out, []apply.File{
				{Name: outCfg, Data: o.HAProxyCfg, Mode: 0o644},
				{Name: outRsyslog, Data: o.Rsyslog, Mode: 0o644},
				{Name: outLogrotate, Data: o.Logrotate, Mode: 0o644},
			}, checker)
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
	f.StringVar(&dist, "dist", profiles.DefaultDist, "distribution for the rsyslog/logrotate syntax: el6, el7, el8, el9, debian")
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
