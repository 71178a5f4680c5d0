package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"harpy/check"
	"harpy/hint"
	"harpy/hversion"
)

func newCheckCmd() *cobra.Command {
	var version, binary string
	var noHAProxy bool
	c := &cobra.Command{
		Use:   "check FILE",
		Short: `Check an haproxy.cfg: "haproxy -c" plus deprecated/removed directives for the target version`,
		Long: `Run "haproxy -c -V -f FILE" with the haproxy on PATH (or --binary), then harpy's lint: directives the
target version (--haproxy, default: the binary's version) deprecated or removed, with their replacement.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			file := args[0]
			// Read (bounded, regular files only) before anything runs: /dev/zero or a FIFO
			// is refused here, not fed to haproxy -c.
			cfg, err := check.ReadConfig(file)
			if err != nil {
				return err
			}
			var target hversion.V
			if version != "" {
				if target, err = hversion.Parse(version); err != nil {
					return hint.Input(err)
				}
			} else if !noHAProxy {
				if target, err = check.BinaryVersion(ctx, binary); err != nil {
					return err
				}
			} else {
				return hint.Input(hint.With(errors.New("--no-haproxy needs --haproxy"), "name the target version, e.g. --haproxy 2.6"))
			}
			findings := check.Lint(cfg, target)
			removed := 0
			for _, f := range findings {
				f.File = file
				fmt.Fprintln(c.OutOrStdout(), f)
				if f.Severity == check.Removed {
					removed++
				}
			}
			if !noHAProxy {
				out, err := check.HAProxyOutput(ctx, binary, file)
				if err != nil {
					return err
				}
				fmt.Fprint(c.OutOrStdout(), out)
			}
			if removed > 0 {
				return fmt.Errorf("%s: %d directive(s) HAProxy %s refuses or ignores: %w", file, removed, target, errLint)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&version, "haproxy", "", "target HAProxy version for the lint (default: the binary's version)")
	f.StringVar(&binary, "binary", check.DefaultBinary, "haproxy binary to run -c with")
	f.BoolVar(&noHAProxy, "no-haproxy", false, "lint only, do not run haproxy -c")
	return c
}
