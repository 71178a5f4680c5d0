package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"harpy/apply"
	"harpy/hint"
	"harpy/provision"
)

func newProvisionCmd() *cobra.Command {
	var (
		inventory, limit, root string
		serial, maxFail        int
		dryRun, asJSON         bool
	)
	c := &cobra.Command{
		Use:   "provision",
		Short: "Render each host's profile and apply it over SSH, validated on the host, in batches",
		Long: `Provision the hosts of an inventory.
For each host: connect over SSH (known_hosts checked), read its HAProxy version and distribution,
render its profile with its overrides, and install haproxy.cfg, the rsyslog drop-in and logrotate
with one transaction: staged beside the live files, checked by the host's own "haproxy -c" with the
service's flags and working directory, renamed, reloaded; the previous files come back on any later
failure. Hosts go in batches of --serial; after a batch the run stops if more than --max-fail hosts
failed, and the rest are not touched. --dry-run prints each host's diff (secrets masked) and writes
nothing. Every mistake in the inventory is reported before any host is touched.

The inventory is strict TOML. [defaults], each [group.NAME] and each [host.NAME] take the same
fields; a host's value is its own, else its groups' (in the order it lists them), else the
defaults'; "set" lists accumulate in that order. Paths are relative to the inventory.

  [defaults]
  user = "root"                         # port = 22
  identity_file = "~/.ssh/id_ed25519"   # none: the SSH agent ($SSH_AUTH_SOCK)
  known_hosts = "~/.ssh/known_hosts"    # accept_new_host_keys = true: trust on first use
  profile = "web-lb"                    # embedded name or file; set = ["KEY=VALUE", …]
  # haproxy = "2.6"   (default: the host's haproxy -v)   dist = "debian" (default: os-release)
  # reload = ["systemctl", "reload-or-restart", "haproxy"]   binary = "/usr/sbin/haproxy" (the checker)
  # connect_timeout = "10s"   command_timeout = "2m"   root = "/" (a directory on the host)

  [group.edge]
  set = ["global.maxconn=20000"]

  [host.web1]
  address = "10.0.0.11"
  groups = ["edge"]
  consul = { service = "haproxy", port = 80, tags = ["edge"], monitor_uri = "/ready" }`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			if inventory == "" {
				return hint.Input(hint.With(errors.New("--inventory is required"), "give the inventory file: harpy provision --inventory hosts.toml"))
			}
			if serial < 1 || maxFail < 0 {
				return hint.Input(hint.With(fmt.Errorf("--serial %d --max-fail %d: want --serial ≥ 1 and --max-fail ≥ 0", serial, maxFail), "see `harpy provision --help`"))
			}
			inv, err := provision.Load(ctx, inventory)
			if err != nil {
				return err
			}
			hosts, err := inv.Select(limit)
			if err != nil {
				return err
			}
			opts := provision.Options{Serial: serial, MaxFail: maxFail, DryRun: dryRun, Log: c.ErrOrStderr()}
			if root != "" {
				// No SSH: each host's tree is ROOT/HOST on this machine, and no service
				// is reloaded (the reload command would act on this machine's).
				for _, h := range hosts {
					h.Reload = nil
				}
				opts.Dial = func(_ context.Context, h *provision.Host) (provision.Target, error) {
					return provisionLocal{apply.LocalTarget{Root: filepath.Join(root, h.Name)}}, nil
				}
			}
			sum, runErr := provision.Run(ctx, hosts, opts)
			if sum == nil {
				return runErr
			}
			out := c.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(sum); err != nil {
					return err
				}
			} else {
				if dryRun {
					for _, r := range sum.Hosts {
						if r.Diff != "" {
							fmt.Fprintf(out, "== %s (%s)\n%s", r.Host, r.Address, r.Diff)
						}
					}
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "HOST\tDIST\tARCH\tHAPROXY\tCONFIG\tRELOAD\tSECONDS\tERROR")
				for _, r := range sum.Hosts {
					reload := "-"
					if r.Reloaded {
						reload = "reloaded"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%s\n", r.Host, provDash(r.Dist), provDash(r.Arch), provDash(r.HAProxy), r.Config, reload, r.Seconds, provDash(provFirstLine(r.Error)))
				}
				tw.Flush()
				fmt.Fprintf(out, "%d changed, %d unchanged, %d failed, %d skipped, %d reloads\n", sum.Changed, sum.Unchanged, sum.Failed, sum.Skipped, sum.Reloads)
			}
			if errors.Is(runErr, provision.ErrFailed) {
				msg := fmt.Sprintf("%d of %d hosts failed", sum.Failed, len(sum.Hosts))
				if sum.Stopped {
					msg += fmt.Sprintf("; stopped after more than --max-fail %d, %d hosts not touched", maxFail, sum.Skipped)
				}
				return hint.With(fmt.Errorf("provision: %s", msg), "fix what the ERROR column says and run again: hosts already right report unchanged")
			}
			return runErr
		},
	}
	f := c.Flags()
	f.StringVar(&inventory, "inventory", "", "inventory file (TOML)")
	f.StringVar(&limit, "limit", "", "only these hosts or groups (comma-separated names)")
	f.IntVar(&serial, "serial", 5, "hosts changed at once, batch after batch")
	f.IntVar(&maxFail, "max-fail", 0, "stop after a batch once more hosts than this failed")
	f.BoolVar(&dryRun, "dry-run", false, "print each host's diff and touch nothing")
	f.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	f.StringVar(&root, "root", "", "no SSH: install each host's files under ROOT/HOST on this machine")
	return c
}

type provisionLocal struct{ apply.LocalTarget }

func (provisionLocal) Close() error { return nil }

func provDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func provFirstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
