package main

import (
	"github.com/spf13/cobra"

	"harpy/watch"
)

func newWatchCmd() *cobra.Command {
	var config string
	var o watch.ServeOptions
	c := &cobra.Command{
		Use:   "watch --config FILE",
		Short: "Keep backends in step with DNS SRV/A records or the Consul catalog, at run time",
		Long: `Follow each backend's source (DNS SRV or A/AAAA, or Consul's passing instances), apply the
difference through the Runtime API (add, drain and delete, set addr/weight), write the same servers
into haproxy.cfg through a validated, atomic transaction, and reload only when a change cannot be
made at run time. A failed, empty or too destructive answer never changes the pool.

--once runs one round; with --dry-run it prints the Runtime API commands it would send.
SIGHUP re-reads the config. /healthz, /status and /metrics are served on the config's listen address.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.Out = c.OutOrStdout()
			return watch.Serve(c.Context(), config, o)
		},
	}
	f := c.Flags()
	f.StringVar(&config, "config", "/etc/harpy/watch.toml", "the watch config (TOML)")
	f.BoolVar(&o.Once, "once", false, "one round, then exit")
	f.BoolVar(&o.DryRun, "dry-run", false, "plan only: send no command, write no file (with --once: print the plan)")
	f.BoolVar(&o.JSON, "json", false, "print the plan as JSON")
	return c
}
