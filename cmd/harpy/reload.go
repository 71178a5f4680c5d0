package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"harpy/apply"
	"harpy/hint"
	"harpy/hversion"
	"harpy/runtimeapi"
)

// reloadReport is `harpy reload --json`.
type reloadReport struct {
	OK         bool     `json:"ok"`
	Master     string   `json:"master"`
	MasterPID  int      `json:"master_pid,omitempty"`
	Version    string   `json:"version,omitempty"`
	Check      []string `json:"check,omitempty"`
	FlagsFrom  string   `json:"flags_from,omitempty"`
	OldWorkers []int    `json:"old_workers"`
	NewWorkers []int    `json:"new_workers"`
	Leaving    []int    `json:"leaving"`
	Logs       []string `json:"startup_logs"`
	Error      string   `json:"error,omitempty"`
	Seconds    float64  `json:"seconds"`
}

func newReloadCmd() *cobra.Command {
	var master, config, binary, initScript, socket, pidfile string
	var timeout time.Duration
	var asJSON bool
	c := &cobra.Command{
		Use:   "reload",
		Short: "Check the configuration, reload HAProxy through its master CLI and confirm the new workers",
		Long: `Reload a running HAProxy in master-worker mode (-W/-Ws with -S SOCKET, as the packaged
unit runs it) and prove that it took the new configuration:

  1. show proc records the current workers;
  2. the configuration is checked (haproxy -c) with the binary the master runs and the
     flags it was started with (read from /proc/PID of the master; else from the unit),
     and the reload is refused when the check fails: the workers are left alone;
  3. reload is sent to the master CLI: HAProxy 2.7+ answers Success=1|0 with its startup
     logs (printed on failure); 1.9–2.6 reload behind the connection, so show proc is
     polled until the master decides;
  4. show proc must list a new worker and the old ones gone or leaving, within --timeout.

Exit code: 0 reloaded and confirmed, 1 refused or failed, 2 bad usage.`,
		Example: `  harpy reload
  harpy reload --master /run/haproxy-master.sock --timeout 2m
  harpy reload --master 127.0.0.1:9999 --json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if timeout <= 0 {
				return usage(c, fmt.Errorf("--timeout %s: want a positive duration such as 60s", timeout))
			}
			if initScript != "" {
				return reloadInitScript(c, initScript, socket, pidfile, timeout, asJSON)
			}
			if master == "" {
				return usage(c, errors.New("--master is empty: give the master CLI's PATH or HOST:PORT (haproxy -S)"))
			}
			m := runtimeapi.NewMaster(master)
			r := &apply.MasterReloader{Master: m, Binary: binary, Timeout: timeout}
			if c.Flags().Changed("config") {
				r.Config = config // else the master's own -f (the unit's when that cannot be read)
			}
			ctx := c.Context()
			t := apply.LocalTarget{Root: "/"}
			start := time.Now()
			err := r.Reload(ctx, t)
			if err == nil {
				err = r.Confirm(ctx, t)
			}
			err = masterHint(err, master)
			rep := reloadReport{OK: err == nil, Master: master, MasterPID: r.Before.Master.PID, Check: r.CheckArgv, FlagsFrom: r.FlagsFrom,
				OldWorkers: orEmpty(r.Before.PIDs()), NewWorkers: []int{}, Leaving: []int{}, Logs: r.Logs, Seconds: time.Since(start).Seconds()}
			if r.Logs == nil {
				rep.Logs = []string{}
			}
			if r.Version != (hversion.V{}) {
				rep.Version = r.Version.String()
			}
			if err == nil {
				rep.NewWorkers = orEmpty(r.After.PIDs())
				for _, p := range r.After.Old {
					rep.Leaving = append(rep.Leaving, p.PID)
				}
			} else {
				rep.Error = err.Error()
			}
			out := c.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if jerr := enc.Encode(rep); jerr != nil {
					return jerr
				}
				return err
			}
			if len(r.CheckArgv) > 0 {
				fmt.Fprintf(out, "checked: %s (flags from %s)\n", strings.Join(r.CheckArgv, " "), r.FlagsFrom)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "reloaded HAProxy %s (master %d): workers %s → %s", rep.Version, rep.MasterPID, pids(rep.OldWorkers), pids(rep.NewWorkers))
			if len(rep.Leaving) > 0 {
				fmt.Fprintf(out, " (%s leaving)", pids(rep.Leaving))
			}
			fmt.Fprintf(out, " in %s\n", time.Since(start).Round(10*time.Millisecond))
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&master, "master", runtimeapi.DefaultMasterSocket, "master CLI: PATH or HOST:PORT (haproxy -S)")
	f.StringVar(&config, "config", runtimeapi.DefaultConfig, "configuration to check when the master's command line (its -f) cannot be read; given, it must be the master's -f")
	f.StringVar(&binary, "binary", "", "haproxy to check the configuration with (default: the binary the master runs)")
	f.DurationVar(&timeout, "timeout", 60*time.Second, "time limit of the reload and, separately, of its confirmation")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON (also on failure)")
	f.StringVar(&initScript, "init-script", "", "el6 (no master): reload with this init script (e.g. /etc/rc.d/init.d/haproxy) and confirm a new process through --socket and --pidfile")
	f.StringVar(&socket, "socket", "/var/lib/haproxy/stats", "with --init-script: the stats socket whose show info names the serving process")
	f.StringVar(&pidfile, "pidfile", "/var/run/haproxy.pid", "with --init-script: the pidfile the script writes")
	return c
}

// reloadInitScript is `harpy reload --init-script`: the el6 script's reload (which checks
// the config first), then show info's Pid and the pidfile must name a new process.
func reloadInitScript(c *cobra.Command, script, socket, pidfile string, timeout time.Duration, asJSON bool) error {
	ctx := c.Context()
	t := apply.LocalTarget{Root: "/"}
	r := &apply.InitScriptReloader{Script: script, Socket: socket, Pidfile: pidfile, Timeout: timeout}
	start := time.Now()
	err := r.Reload(ctx, t)
	if err == nil {
		err = r.Confirm(ctx, t)
	}
	if asJSON {
		rep := map[string]any{"ok": err == nil, "init_script": script, "old_pid": r.OldPID, "new_pid": r.NewPID, "seconds": time.Since(start).Seconds()}
		if err != nil {
			rep["error"] = err.Error()
		}
		enc := json.NewEncoder(c.OutOrStdout())
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(rep); jerr != nil {
			return jerr
		}
		return err
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.OutOrStdout(), "reloaded through %s: process %d → %d in %s\n", script, r.OldPID, r.NewPID, time.Since(start).Round(10*time.Millisecond))
	return nil
}

// masterHint replaces the stats socket's hint of a dial error with the master CLI's.
func masterHint(err error, addr string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, runtimeapi.ErrSocketMissing):
		return hint.With(err, "no master CLI answers on %s: is haproxy running in master-worker mode with -S %s (the packaged unit's ExecStart has -S %s)? give --master PATH|HOST:PORT",
			addr, addr, runtimeapi.DefaultMasterSocket)
	case errors.Is(err, runtimeapi.ErrPermission):
		return hint.With(err, "%s: the master CLI is usually root's (mode 600): run harpy reload as root", hint.Of(err))
	}
	return err
}

func orEmpty(p []int) []int {
	if p == nil {
		return []int{}
	}
	return p
}

func pids(p []int) string {
	if len(p) == 0 {
		return "none"
	}
	s := make([]string, len(p))
	for i, n := range p {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}
