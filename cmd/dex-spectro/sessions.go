package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/connectors"
	"github.com/dex-spectro/dex-spectro/internal/sessions"
)

// sessionsFlags are the flags of sessions list and sessions revoke.
type sessionsFlags struct {
	opts    sessions.Options
	timeout time.Duration
}

func newSessionsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sessions",
		Short: "List or end a user's Dex sessions through Dex's gRPC API",
		Long: "sessions lists (list) or deletes (revoke) every refresh token of one user, for every\n" +
			"client, through Dex's gRPC API: the kill switch for a user who must lose access now.\n" +
			"Name the user by --email (the configuration's spectrocloud connectors find the user ID:\n" +
			"the email itself when it is the user ID, else the Palette UID through the connector's\n" +
			"directory), by --user-id (with --connector, or every spectrocloud connector of the file),\n" +
			"or by --subject (the sub of the user's Dex ID tokens). Tokens Dex issued before stay\n" +
			"valid until they expire.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_ = cmd.Help()
			return errUsage
		},
	}
	cmd.AddCommand(
		newSessionsSubcommand("list", "List a user's refresh tokens", sessions.List),
		newSessionsSubcommand("revoke", "Delete every refresh token of a user", sessions.Revoke),
	)
	return cmd
}

func newSessionsSubcommand(name, short string, do func(context.Context, sessions.Options) error) *cobra.Command {
	f := sessionsFlags{timeout: 30 * time.Second}
	cmd := &cobra.Command{
		Use:   name + " [flags] [config file]",
		Short: short,
		Example: "dex-spectro sessions " + name + " --email jane@example.com --ca-cert ca.crt --client-cert client.crt --client-key client.key config.yaml\n" +
			"dex-spectro sessions " + name + " --user-id 64a1b2c3d4e5f60718293a4b --connector spectrocloud --grpc-addr dex:5557 --ca-cert ca.crt --client-cert client.crt --client-key client.key",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, cancel := context.WithTimeout(ctx, f.timeout)
			defer cancel()
			opts := f.opts
			if len(args) == 1 {
				if err := connectors.Register(nil); err != nil {
					return err
				}
				cfg, warnings, err := config.LoadFile(args[0], config.Options{})
				printWarnings(cmd.ErrOrStderr(), args[0], warnings, err)
				if err != nil {
					return &sessions.UsageError{Err: err}
				}
				opts.Config = cfg
				if opts.GRPC.Addr == "" {
					opts.GRPC.Addr = sessions.DefaultAddr(cfg)
				}
			}
			opts.Out = cmd.OutOrStdout()
			return do(ctx, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&f.opts.Who.Email, "email", "", "The user's email")
	flags.StringVar(&f.opts.Who.UserID, "user-id", "", "The user ID the connector gave the user (Palette's sub, or the claim userIDKey names)")
	flags.StringVar(&f.opts.Who.Subject, "subject", "", "The sub of the user's Dex ID tokens")
	flags.StringSliceVar(&f.opts.Connectors, "connector", nil, "Connector IDs to look in (default: every spectrocloud connector of the config file)")
	flags.StringVar(&f.opts.GRPC.Addr, "grpc-addr", "", "Address of Dex's gRPC API (default: grpc.addr of the config file)")
	flags.StringVar(&f.opts.GRPC.CACert, "ca-cert", "", "PEM file of the CA of the API's server certificate (default: the system's roots)")
	flags.StringVar(&f.opts.GRPC.ClientCert, "client-cert", "", "PEM file of the client certificate, for an API that requires one (grpc.tlsClientCA)")
	flags.StringVar(&f.opts.GRPC.ClientKey, "client-key", "", "PEM file of the client certificate's key")
	flags.StringVar(&f.opts.GRPC.ServerName, "server-name", "", "Name the server certificate must carry (default: the host of --grpc-addr)")
	flags.BoolVar(&f.opts.GRPC.Plaintext, "plaintext", false, "Talk to an API without TLS (no grpc.tlsCert); anyone on the path can read and change the exchange")
	flags.DurationVar(&f.timeout, "timeout", f.timeout, "Time allowed for the whole command")
	return cmd
}
