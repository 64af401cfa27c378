package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/connectors"
	"github.com/dex-spectro/dex-spectro/internal/entrypoint"
	"github.com/dex-spectro/dex-spectro/internal/logging"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

type serveFlags struct {
	overrides config.Overrides
	strict    bool
	// template is the file the config file was rendered from, if any.
	template string
}

// newServeCommand builds `serve`. With renderTemplates, as `dex serve`
// (the command line of Dex's image), a config file ending in .tpl, .tmpl
// or .yaml is first rendered as Dex's image renders it.
func newServeCommand(renderTemplates bool) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:     "serve [flags] [config file]",
		Short:   "Launch Dex",
		Example: "dex-spectro serve config.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if renderTemplates && entrypoint.IsTemplate(path) {
				r := &entrypoint.Renderer{Env: entrypoint.EnvFromList(os.Environ())}
				rendered, cleanup, err := r.RenderArgs(args)
				if err != nil {
					return fmt.Errorf("render config template: %w", err)
				}
				defer cleanup()
				f.template, path = path, rendered[0]
			}
			return runServe(cmd.Context(), path, f, cmd.ErrOrStderr())
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&f.overrides.WebHTTP, "web-http-addr", "", "Web HTTP address")
	flags.StringVar(&f.overrides.WebHTTPS, "web-https-addr", "", "Web HTTPS address")
	flags.StringVar(&f.overrides.Telemetry, "telemetry-addr", "", "Telemetry address")
	flags.StringVar(&f.overrides.GRPC, "grpc-addr", "", "gRPC API address")
	flags.BoolVar(&f.strict, "strict", false, "Refuse to start when the config file has keys Dex would ignore")
	return cmd
}

// runServe loads the file and serves until SIGINT or SIGTERM; a second
// signal during the graceful shutdown ends the process at once.
func runServe(parent context.Context, path string, f serveFlags, stderr io.Writer) error {
	if parent == nil {
		parent = context.Background()
	}
	registry := prometheus.NewRegistry()
	if err := connectors.Register(registry); err != nil {
		return err
	}

	cfg, warnings, err := loadServeConfig(path, f)
	if f.template != "" {
		path = f.template + " (rendered)"
	}
	if err != nil {
		printWarnings(stderr, path, warnings, err)
		return err
	}
	logger, err := logging.New(os.Stderr, cfg.Logger.Level, cfg.Logger.Format)
	if err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	for _, w := range warnings {
		logger.Warn("config file: "+w.Message, "file", path, "line", w.Line, "key", w.Key)
	}

	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	return serve.Run(ctx, cfg, serve.WithLogger(logger), serve.WithRegistry(registry))
}

// loadServeConfig loads the config file. A file rendered from a template
// is removed as soon as it is read, so that the secrets it may hold stay on
// disk no longer than needed, and errors name the template.
func loadServeConfig(path string, f serveFlags) (*config.Config, []config.Warning, error) {
	opts := config.Options{Strict: f.strict, Overrides: f.overrides}
	name := path
	data, err := os.ReadFile(path)
	if f.template != "" {
		name = f.template + " (rendered)"
		os.Remove(path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read config file: %w", err)
	}
	var pre []config.Warning
	if f.template == "" && entrypoint.LooksLikeTemplate(data) {
		pre = append(pre, config.Warning{Message: "the file holds template actions ({{ ... }}), which are not rendered: " +
			"`dex serve` renders files whose names end in .tpl, .tmpl or .yaml, as Dex's image does"})
	}
	cfg, warnings, err := config.Load(data, opts)
	warnings = append(pre, warnings...)
	if err != nil {
		return nil, warnings, fmt.Errorf("config file %s: %w", name, err)
	}
	return cfg, warnings, nil
}

// printWarnings prints the warnings of loading path, leaving out those that
// err, a strict-mode failure, already lists.
func printWarnings(w io.Writer, path string, warnings []config.Warning, err error) {
	var unknown *config.UnknownKeysError
	strictFailure := errors.As(err, &unknown)
	for _, warning := range warnings {
		if strictFailure && warning.Key != "" {
			continue
		}
		fmt.Fprintf(w, "warning: %s: %s\n", path, warning)
	}
}
