package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/dex-spectro/dex-spectro/internal/buildinfo"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), buildinfo.Read().String())
			return err
		},
	}
}
