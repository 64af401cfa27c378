package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/dex-spectro/dex-spectro/internal/check"
	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/connectors"
)

func newCheckCommand() *cobra.Command {
	timeout := 30 * time.Second
	cmd := &cobra.Command{
		Use:   "check [flags] [config file]",
		Short: "Validate a config file and the SpectroCloud Palette tenants it uses",
		Long: "check validates the config file as serve would, treating keys Dex would ignore as\n" +
			"errors, then, for every spectrocloud connector, resolves its issuer, fetches discovery\n" +
			"and the signing keys, and prints the endpoints it will use. It exits non-zero on any problem.",
		Example: "dex-spectro check config.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runCheck(ctx, args[0], timeout, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", timeout, "Time allowed for inspecting each spectrocloud connector")
	return cmd
}

func runCheck(ctx context.Context, path string, timeout time.Duration, stdout, stderr io.Writer) error {
	if err := connectors.Register(nil); err != nil {
		return err
	}
	cfg, warnings, err := config.LoadFile(path, config.Options{Strict: true})
	printWarnings(stderr, path, warnings, err)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "config file %s: OK (issuer %s, storage %s, %d connectors, %d static clients)\n",
		path, cfg.Issuer, cfg.Storage.Type, len(cfg.StaticConnectors), len(cfg.StaticClients))
	for _, w := range check.SessionWarnings(cfg) {
		fmt.Fprintf(stdout, "WARNING: %s\n", w)
	}
	return check.Write(stdout, check.Connectors(ctx, cfg, timeout))
}
