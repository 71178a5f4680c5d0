package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"harpy/hint"
)

// Exit codes: 1 for a failure of the work, 2 for bad usage or input.
const (
	exitFail  = 1
	exitUsage = 2
)

type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// Main runs the CLI and returns the process exit code; main only calls this, so the
// whole CLI can be driven from tests.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	msg := err.Error()
	fmt.Fprintf(stderr, "harpy: %s\n", strings.TrimSpace(msg))
	if h := hint.Of(err); h != "" {
		fmt.Fprintf(stderr, "  hint: %s\n", h)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "  (interrupted)")
	}
	var u usageError
	if errors.As(err, &u) || strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag") || strings.Contains(msg, "accepts ") || strings.Contains(msg, "required flag") {
		return exitUsage
	}
	return exitFail
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "harpy",
		Short:         "Build, package, configure and run HAProxy",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{hint.With(err, "see `%s --help`", c.CommandPath())}
	})
	for _, add := range commands {
		root.AddCommand(add())
	}
	return root
}

// commands lists the subcommand constructors; each command file appends itself in init,
// so adding a command never touches this file.
var commands []func() *cobra.Command
