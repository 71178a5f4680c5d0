package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"harpy/packaging"
)

func newSelfPackageCmd() *cobra.Command {
	var s packaging.Self
	c := &cobra.Command{
		Use:   "self-package",
		Short: "Package harpy itself (the binary and the harpy-watch unit) as RPM and/or .deb",
		Long: `Package a harpy binary and the systemd unit of "harpy watch" (/etc/harpy/watch.toml), so that
hosts get harpy the way they get HAProxy. The binary must be static: build it with
CGO_ENABLED=0 go build -o bin/harpy ./cmd/harpy (make self-package does).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if s.Binary == "" {
				exe, err := os.Executable()
				if err != nil {
					return err
				}
				s.Binary = exe
			}
			if s.Version == "" {
				s.Version = strings.TrimPrefix(strings.Fields(version() + " ")[0], "v")
			}
			paths, err := packaging.BuildSelf(c.Context(), s)
			if err != nil {
				return err
			}
			for _, p := range paths {
				fmt.Fprintf(c.OutOrStdout(), "package: %s\n", p)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&s.Binary, "binary", "", "the harpy binary to package (default: this one)")
	f.StringVar(&s.Version, "version", "", "package version (default: this harpy's version)")
	f.StringVar(&s.Release, "release", "1", "package release")
	f.StringVar(&s.Dist, "dist", "el9", "dist of the RPM (el7 … el10)")
	f.StringSliceVar(&s.Formats, "format", []string{"rpm", "deb"}, "rpm, deb or rpm,deb")
	f.StringVar(&s.OutDir, "out", "dist", "directory for the packages")
	return c
}
