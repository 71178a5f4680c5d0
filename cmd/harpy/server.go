package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"harpy/hint"
	"harpy/hversion"
	"harpy/runtimeapi"
)

func newServerCmd() *cobra.Command {
	var sf socketFlags
	var dryRun, wait bool
	var timeout time.Duration
	var add runtimeapi.AddOptions
	var verbs []string
	for _, a := range runtimeapi.Actions {
		u := "  " + a.Verb
		if a.Arg != "" {
			u += " " + a.Arg
		}
		verbs = append(verbs, fmt.Sprintf("%-20s %s", u, a.Doc))
	}
	verbs = append(verbs,
		fmt.Sprintf("%-20s %s", "  add ADDR", "add a dynamic server (2.4+; checks 2.5+): --check --inter --rise --fall --weight"),
		fmt.Sprintf("%-20s %s", "  del", "drain, wait for its sessions to end (--timeout), maint, delete (2.4+)"))
	c := &cobra.Command{
		Use:   "server VERB BACKEND/SERVER [ARG]",
		Short: "Change a server of a running HAProxy (drain, maint, ready, weight, health, agent, addr, add, del)",
		Long: `Change one server through the Runtime API, then read its state back through show stat and print
it as before → after. The socket needs "level admin".

Verbs:
` + strings.Join(verbs, "\n") + `

drain --wait returns when the server has no sessions left (or fails after --timeout).
A runtime change is lost on reload unless the configuration says the same.`,
		Example: `  harpy server drain app/web1 --wait --timeout 2m
  harpy server weight app/web1 50%
  harpy server addr app/web1 10.0.0.7:8080 --dry-run
  harpy server add app/web9 10.0.0.9:80 --check --inter 1s`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(c *cobra.Command, args []string) error {
			verb := args[0]
			backend, server, err := runtimeapi.ParseTarget(args[1])
			if err != nil {
				return err
			}
			arg := ""
			if len(args) == 3 {
				arg = args[2]
			}
			if wait && verb != "drain" {
				return usage(c, fmt.Errorf("--wait goes with drain, not %s", verb))
			}
			if (add.Check || add.Inter != 0 || add.Rise != 0 || add.Fall != 0 || add.Weight != 0) && verb != "add" {
				return usage(c, fmt.Errorf("--check, --inter, --rise, --fall and --weight go with add, not %s", verb))
			}
			if timeout <= 0 {
				return usage(c, fmt.Errorf("--timeout %s: want a positive duration such as 60s", timeout))
			}
			out := c.OutOrStdout()
			ctx := c.Context()
			switch verb {
			case "add":
				if arg == "" {
					return usage(c, errors.New("server add needs the address: add BACKEND/SERVER IP:PORT"))
				}
				add.Backend, add.Server, add.Addr = backend, server, arg
				return serverAdd(ctx, c, &sf, add, dryRun, timeout)
			case "del":
				if arg != "" {
					return usage(c, fmt.Errorf("server del takes no argument (got %q)", arg))
				}
				return serverDel(ctx, c, &sf, backend, server, dryRun, timeout)
			}
			a, err := runtimeapi.NewAction(verb, backend, server, arg)
			if err != nil {
				return err
			}
			if dryRun {
				for _, cmd := range a.Commands() {
					fmt.Fprintln(out, cmd)
				}
				if wait {
					fmt.Fprintf(out, "# then poll show stat until %s/%s has no sessions (up to %s)\n", backend, server, timeout)
				}
				return nil
			}
			api, err := sf.client()
			if err != nil {
				return err
			}
			res, err := api.Apply(ctx, a)
			if res != nil {
				fmt.Fprintf(out, "%s/%s: %s → %s\n", backend, server, res.Before, res.After)
				if res.Answer != "" {
					fmt.Fprintf(out, "  haproxy: %s\n", res.Answer)
				}
			}
			if err == nil && wait {
				wctx, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				start := time.Now()
				if err = api.WaitDrained(wctx, backend, server); err == nil {
					fmt.Fprintf(out, "%s/%s: no sessions left after %s\n", backend, server, time.Since(start).Round(100*time.Millisecond))
				}
			}
			if err != nil && hint.Of(err) == "" {
				err = hint.With(err, "`harpy stat %s` shows the server's state", backend)
			}
			return err
		},
	}
	f := c.Flags()
	sf.add(f)
	f.BoolVar(&dryRun, "dry-run", false, "print the Runtime API commands instead of sending them")
	f.BoolVar(&wait, "wait", false, "drain: return when the server has no sessions left")
	f.DurationVar(&timeout, "timeout", 60*time.Second, "how long --wait, add's first check and del's drain may take")
	f.BoolVar(&add.Check, "check", false, "add: health-check the server (enabled, and ready once the first check passes)")
	f.DurationVar(&add.Inter, "inter", 0, "add: check interval (HAProxy's default 2s)")
	f.IntVar(&add.Rise, "rise", 0, "add: checks to pass before up (HAProxy's default 2)")
	f.IntVar(&add.Fall, "fall", 0, "add: checks to fail before down (HAProxy's default 3)")
	f.IntVar(&add.Weight, "weight", 0, "add: weight 1–256 (HAProxy's default 1)")
	return c
}

// dryRunVersion is the running version when the socket answers, else unknown (zero):
// --dry-run then prints the commands of a current HAProxy.
func dryRunVersion(ctx context.Context, sf *socketFlags) hversion.V {
	api, err := sf.client()
	if err != nil {
		return hversion.V{}
	}
	v, err := api.Version(ctx)
	if err != nil {
		return hversion.V{}
	}
	return v
}

func serverAdd(ctx context.Context, c *cobra.Command, sf *socketFlags, o runtimeapi.AddOptions, dryRun bool, timeout time.Duration) error {
	out := c.OutOrStdout()
	if o.Weight < 0 || o.Weight > 256 {
		return usage(c, fmt.Errorf("--weight %d: want 1–256", o.Weight))
	}
	if dryRun {
		cmds, err := o.AddCommands(dryRunVersion(ctx, sf))
		if err != nil {
			return err
		}
		for _, cmd := range cmds {
			fmt.Fprintln(out, cmd)
		}
		return nil
	}
	api, err := sf.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	after, err := api.AddServer(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s/%s: (absent) → %s\n", o.Backend, o.Server, after)
	return nil
}

func serverDel(ctx context.Context, c *cobra.Command, sf *socketFlags, backend, server string, dryRun bool, timeout time.Duration) error {
	out := c.OutOrStdout()
	if dryRun {
		drain, remove, err := runtimeapi.DelCommands(backend, server, dryRunVersion(ctx, sf))
		if err != nil {
			return err
		}
		for _, cmd := range drain {
			fmt.Fprintln(out, cmd)
		}
		fmt.Fprintf(out, "# then poll show stat until %s/%s has no sessions (up to %s)\n", backend, server, timeout)
		for _, cmd := range remove {
			fmt.Fprintln(out, cmd)
		}
		return nil
	}
	api, err := sf.client()
	if err != nil {
		return err
	}
	before, err := api.View(ctx, backend, server)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := api.DelServer(ctx, backend, server); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s/%s: %s → (deleted)\n", backend, server, before)
	return nil
}
