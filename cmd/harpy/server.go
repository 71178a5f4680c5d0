package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"harpy/hint"
	"harpy/runtimeapi"
)

func newServerCmd() *cobra.Command {
	var sf socketFlags
	var dryRun bool
	var verbs []string
	for _, a := range runtimeapi.Actions {
		u := "  " + a.Verb
		if a.Arg != "" {
			u += " " + a.Arg
		}
		verbs = append(verbs, fmt.Sprintf("%-20s %s", u, a.Doc))
	}
	c := &cobra.Command{
		Use:   "server VERB BACKEND/SERVER [ARG]",
		Short: "Change a server of a running HAProxy (drain, maint, ready, weight, health, agent, addr)",
		Long: `Change one server through the Runtime API, then read its state back through show stat and print
it as before → after. The socket needs "level admin".

Verbs:
` + strings.Join(verbs, "\n") + `

A runtime change is lost on reload unless the configuration says the same.`,
		Example: `  harpy server drain app/web1
  harpy server weight app/web1 50%
  harpy server addr app/web1 10.0.0.7:8080 --dry-run`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(c *cobra.Command, args []string) error {
			backend, server, err := runtimeapi.ParseTarget(args[1])
			if err != nil {
				return err
			}
			arg := ""
			if len(args) == 3 {
				arg = args[2]
			}
			a, err := runtimeapi.NewAction(args[0], backend, server, arg)
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			if dryRun {
				for _, cmd := range a.Commands() {
					fmt.Fprintln(out, cmd)
				}
				return nil
			}
			api, err := sf.client()
			if err != nil {
				return err
			}
			res, err := api.Apply(c.Context(), a)
			if res != nil {
				fmt.Fprintf(out, "%s/%s: %s → %s\n", backend, server, res.Before, res.After)
				if res.Answer != "" {
					fmt.Fprintf(out, "  haproxy: %s\n", res.Answer)
				}
			}
			if err != nil && hint.Of(err) == "" {
				err = hint.With(err, "`harpy stat %s` shows the server's state", backend)
			}
			return err
		},
	}
	sf.add(c.Flags())
	c.Flags().BoolVar(&dryRun, "dry-run", false, "print the Runtime API commands instead of sending them")
	return c
}
