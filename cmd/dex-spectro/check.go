package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/dex-spectro/dex-spectro/internal/check"
	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/connectors"
	"github.com/dex-spectro/dex-spectro/internal/signincheck"
)

// checkOptions are the flags of check.
type checkOptions struct {
	timeout     time.Duration
	signIn      bool
	connectorID string
	wait        time.Duration
}

func newCheckCommand() *cobra.Command {
	opts := checkOptions{timeout: 30 * time.Second, wait: signincheck.DefaultWait}
	cmd := &cobra.Command{
		Use:   "check [flags] [config file]",
		Short: "Validate a config file and the SpectroCloud Palette tenants it uses",
		Long: "check validates the config file as serve would, treating keys Dex would ignore as\n" +
			"errors, then, for every spectrocloud connector, resolves its issuer, fetches discovery\n" +
			"and the signing keys, and prints the endpoints it will use. It exits non-zero on any problem.\n\n" +
			"With --sign-in, it instead signs a user in through one spectrocloud connector, as Dex\n" +
			"would: it prints a URL to open in a browser, receives Palette's answer on redirectURI\n" +
			"(when that is a loopback http URL it can listen on) or as the URL pasted on standard\n" +
			"input, and reports what Palette sent and the Dex identity that would result. Exit\n" +
			"status 0: Dex would sign the user in; 1: it would refuse (the reason is printed);\n" +
			"2: a usage or configuration error. No token, code or secret is printed.",
		Example: "dex-spectro check config.yaml\n" +
			"dex-spectro check --sign-in --connector spectrocloud config.yaml",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			if opts.signIn {
				return runSignInCheck(ctx, args[0], opts, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
			if opts.connectorID != "" {
				return &signincheck.Error{Status: signincheck.StatusUsage, Err: fmt.Errorf("--connector is used with --sign-in")}
			}
			return runCheck(ctx, args[0], opts.timeout, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().DurationVar(&opts.timeout, "timeout", opts.timeout, "Time allowed for inspecting each spectrocloud connector")
	cmd.Flags().BoolVar(&opts.signIn, "sign-in", false, "Sign a user in through a spectrocloud connector and report what Palette sent")
	cmd.Flags().StringVar(&opts.connectorID, "connector", "", "With --sign-in: the ID of the spectrocloud connector (needed when there are several)")
	cmd.Flags().DurationVar(&opts.wait, "wait", opts.wait, "With --sign-in: how long to wait for the browser to come back")
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
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stdout, "WARNING: %s\n", w.Message)
	}
	return check.Write(stdout, check.Connectors(ctx, cfg, timeout))
}

// runSignInCheck runs check --sign-in. Its errors carry their exit status
// (signincheck.Error).
func runSignInCheck(ctx context.Context, path string, opts checkOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	if err := connectors.Register(nil); err != nil {
		return err
	}
	cfg, warnings, err := config.LoadFile(path, config.Options{Strict: true})
	printWarnings(stderr, path, warnings, err)
	if err != nil {
		return &signincheck.Error{Status: signincheck.StatusUsage, Err: err}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return signincheck.Run(ctx, cfg, signincheck.Options{
		ConnectorID: opts.connectorID,
		Wait:        opts.wait,
		In:          stdin,
		Out:         stdout,
		Logger:      logger,
	})
}
