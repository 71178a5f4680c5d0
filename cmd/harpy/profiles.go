package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"harpy/hint"
	"harpy/profiles"
)

func newProfilesCmd() *cobra.Command {
	var show string
	c := &cobra.Command{
		Use:   "profiles",
		Short: "List the embedded profiles (or print one with --show NAME)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if show != "" {
				b, ok := profiles.Embedded(show)
				if !ok {
					return hint.Input(hint.With(fmt.Errorf("no embedded profile %q", show), "`harpy profiles` lists them"))
				}
				_, err := c.OutOrStdout().Write(b)
				return err
			}
			list, err := profiles.List()
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, p := range list {
				def := ""
				if p.Name == profiles.Default {
					def = " (default)"
				}
				fmt.Fprintf(w, "%s%s\t%s\n", p.Name, def, p.Description)
			}
			return w.Flush()
		},
	}
	c.Flags().StringVar(&show, "show", "", "print the TOML of an embedded profile (a starting point for your own)")
	return c
}
