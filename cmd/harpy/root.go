package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"harpy/hint"
)

// Exit codes: 1 for a failure of the work, 2 for bad usage or input, 130 when interrupted
// (as a shell reports SIGINT).
const (
	exitFail      = 1
	exitUsage     = 2
	exitInterrupt = 130
)

// Main runs the CLI and returns the process exit code; main only calls this, so the
// whole CLI can be driven from tests.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "harpy: %s\n", strings.TrimSpace(err.Error()))
	h := hint.Of(err)
	if h == "" {
		h = fallbackHint(err)
	}
	fmt.Fprintf(stderr, "  hint: %s\n", h)
	return exitCode(ctx, err)
}

// exitCode is decided by the error's type: an interrupt first (whatever error it caused),
// then the user's bad input, then any other failure.
func exitCode(ctx context.Context, err error) int {
	switch {
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return exitInterrupt
	case hint.IsInput(err):
		return exitUsage
	}
	return exitFail
}

// fallbackHint covers errors that no package gave a hint: every error a user sees ends
// with a next step.
func fallbackHint(err error) string {
	if hint.IsInput(err) {
		return "see `harpy --help`"
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "interrupted; run the same command again to resume (finished work is cached)"
	}
	return "run the command again with the same flags to retry; if it fails the same way, check the path or service it names"
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "harpy",
		Short:         "Build, package, configure and run HAProxy",
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
		// Without subcommand arguments are an unknown command.
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usage(c, fmt.Errorf("unknown command %q", args[0]))
			}
			return nil
		},
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usage(c, err) })
	root.SetHelpCommand(newHelpCmd())
	// Every command, in the order `harpy --help` lists them.
	root.AddCommand(
		newVersionsCmd(),
		newFetchCmd(),
		newBuildCmd(),
		newProfilesCmd(),
		newRenderCmd(),
		newCheckCmd(),
		newSpecCmd(),
		newRepoCmd(),
		newStatCmd(),
		newServerCmd(),
		newReloadCmd(),
		newWatchCmd(),
		newProvisionCmd(),
		newSelfPackageCmd(),
	)
	for _, c := range root.Commands() {
		typedArgs(c)
	}
	return root
}

// usage marks err as bad usage, with a pointer to the command's help.
func usage(c *cobra.Command, err error) error {
	if hint.Of(err) == "" {
		err = hint.With(err, "see `%s --help`", c.CommandPath())
	}
	return hint.Input(err)
}

// typedArgs makes cobra's argument checks (ExactArgs, NoArgs, …) return bad-usage errors,
// so that the exit code follows from the type and not from the message text.
func typedArgs(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return usage(c, err)
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		typedArgs(sub)
	}
}

// newHelpCmd replaces cobra's help command, which answers an unknown topic with exit 0.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return hint.Input(hint.With(fmt.Errorf("unknown help topic %q", strings.Join(args, " ")),
					"`harpy --help` lists the commands"))
			}
			return target.Help()
		},
	}
}

// buildVersion is set by `make harpy` (-ldflags -X main.buildVersion=…) from git describe.
var buildVersion string

// version is buildVersion, else the module version stamped by the Go toolchain, with the
// VCS revision when the binary was built from a checkout.
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}
