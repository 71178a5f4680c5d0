package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"harpy/packaging"
)

func newRepoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "repo DIR",
		Short: "Make a yum/dnf repository of the RPMs in DIR (createrepo_c)",
		Long: `Run createrepo_c on DIR, so that hosts can install harpy's packages with dnf or
yum: point a .repo file's baseurl at DIR (file:// or served over HTTP), or try it
once with dnf --repofrompath=harpy,DIR --repo=harpy list --available.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rpms, err := packaging.MakeRepo(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			for _, r := range rpms {
				fmt.Fprintln(cmd.OutOrStdout(), r)
			}
			return nil
		},
	}
}
