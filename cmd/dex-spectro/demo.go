package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/dex-spectro/dex-spectro/internal/connectors"
	"github.com/dex-spectro/dex-spectro/internal/demo"
	"github.com/dex-spectro/dex-spectro/internal/logging"
)

type demoFlags struct {
	opts        demo.Options
	logLevel    slog.Level
	printConfig bool
}

func newDemoCommand() *cobra.Command {
	f := demoFlags{opts: demo.DefaultOptions(), logLevel: slog.LevelWarn}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "See dex-spectro work in a browser, without a SpectroCloud tenant",
		Long: "demo runs, all on 127.0.0.1, an emulated SpectroCloud Palette tenant with demo users,\n" +
			"Dex with the spectrocloud connector (configured with an ordinary config file and\n" +
			"started as serve starts it), and a demo app that signs in through Dex, shows the ID\n" +
			"token's claims, refreshes it, and shows a kubeconfig entry for kubelogin. Open the\n" +
			"URL it prints. Ctrl-C stops it.",
		Example: "  dex-spectro demo\n" +
			"  dex-spectro demo --token-lifetime 30s --app-port 8080\n" +
			"  dex-spectro demo --print-config",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	flags := cmd.Flags()
	flags.IntVar(&f.opts.AppPort, demo.FlagAppPort, f.opts.AppPort, "Port of the demo app, the page to open (0 picks a free port)")
	flags.IntVar(&f.opts.DexPort, demo.FlagDexPort, f.opts.DexPort, "Port of Dex (0 picks a free port)")
	flags.IntVar(&f.opts.PalettePort, demo.FlagPalettePort, f.opts.PalettePort, "Port of the emulated Palette console (0 picks a free port)")
	flags.DurationVar(&f.opts.TokenLifetime, demo.FlagTokenLifetime, f.opts.TokenLifetime,
		"Lifetime of the emulated Palette's ID tokens: Dex refreshes sessions until they expire")
	flags.TextVar(&f.logLevel, "log-level", f.logLevel, "Level of the logs written to standard error: debug, info, warn or error")
	flags.BoolVar(&f.printConfig, "print-config", false, "Print the Dex configuration the demo runs with, and exit")
	return cmd
}

// runDemo runs the demo until SIGINT or SIGTERM; a second signal during
// the shutdown ends the process at once.
func runDemo(parent context.Context, f demoFlags, stdout, stderr io.Writer) error {
	if parent == nil {
		parent = context.Background()
	}
	if f.printConfig {
		data, err := demo.RenderConfig(f.opts)
		if err != nil {
			return err
		}
		_, err = stdout.Write(data)
		return err
	}
	if err := connectors.Register(nil); err != nil {
		return err
	}
	logger, err := logging.New(stderr, f.logLevel, "text")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	f.opts.Logger = logger

	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	return demo.Run(ctx, f.opts, stdout)
}
