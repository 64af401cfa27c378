package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"
)

// errUsage reports that the command line was incomplete; help was printed.
var errUsage = errors.New("usage")

// newRootCommand builds the command tree, writing normal output to stdout
// and diagnostics to stderr.
func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "dex-spectro",
		Short: "Dex, the OpenID Connect provider, with a SpectroCloud Palette connector",
		Long: "dex-spectro is upstream Dex (same configuration file, endpoints, storage and gRPC API)\n" +
			"with an additional connector type, spectrocloud, for SpectroCloud Palette tenants.",
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_ = cmd.Help()
			return errUsage
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCommand(false), newCheckCommand(), newVersionCommand(), newDemoCommand(), newDexCompatCommand(), newSessionsCommand())
	return root
}

// newDexCompatCommand accepts the command lines written for Dex's image,
// which name the binary first ("dex serve config.yaml"), as the official
// Dex Helm chart does: "dex-spectro dex serve config.yaml" is
// "dex-spectro serve config.yaml" after rendering the config file as a
// template when its name ends in .tpl, .tmpl or .yaml, as the entrypoint of
// Dex's image does.
func newDexCompatCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "dex",
		Short:  "Run a command written for the upstream dex binary",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_ = cmd.Help()
			return errUsage
		},
	}
	cmd.AddCommand(newServeCommand(true), newCheckCommand(), newVersionCommand())
	return cmd
}
