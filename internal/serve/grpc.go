package serve

import (
	"fmt"
	"log/slog"

	grpcprometheus "github.com/grpc-ecosystem/go-grpc-prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/reflection"

	"github.com/dexidp/dex/api/v2"
	"github.com/dexidp/dex/server"
	"github.com/dexidp/dex/storage"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

// grpcSetup holds what the gRPC API needs before the Dex server exists.
type grpcSetup struct {
	options  []grpc.ServerOption
	metrics  *grpcprometheus.ServerMetrics
	reloader *tlsReloader
}

// prepareGRPC loads the gRPC TLS settings, as Dex does before opening
// storage. Request metrics are collected when client certificates are
// required, as in Dex. An API that does not require client certificates is
// warned about (see warnUnauthenticatedGRPC).
func prepareGRPC(cfg config.GRPC, metrics *grpcprometheus.ServerMetrics, logger *slog.Logger) (*grpcSetup, error) {
	g := &grpcSetup{metrics: metrics, options: []grpc.ServerOption{grpc.ChainUnaryInterceptor(refuseNilConnector, refuseFileReadingConnectors)}}
	if cfg.Addr != "" && cfg.TLSClientCA == "" {
		warnUnauthenticatedGRPC(cfg, logger)
	}
	if cfg.TLSCert == "" {
		return g, nil
	}
	r, err := newTLSReloader(logger, cfg.TLSCert, cfg.TLSKey, cfg.TLSClientCA, baseTLSConfig(cfg.TLSMinVersion, cfg.TLSMaxVersion))
	if err != nil {
		return nil, fmt.Errorf("invalid config: get gRPC TLS: %w", err)
	}
	g.reloader = r
	if cfg.TLSClientCA != "" {
		g.options = append(g.options,
			grpc.StreamInterceptor(metrics.StreamServerInterceptor()),
			grpc.UnaryInterceptor(metrics.UnaryServerInterceptor()),
		)
	}
	g.options = append(g.options, grpc.Creds(credentials.NewTLS(r.Config())))
	return g, nil
}

// newServer returns a gRPC server serving Dex's API over storage s, which it
// writes connectors through apiStorage.
func (g *grpcSetup) newServer(cfg config.GRPC, s storage.Storage, dex *server.Server, version string, logger *slog.Logger) *grpc.Server {
	srv := grpc.NewServer(g.options...)
	api.RegisterDexServer(srv, server.NewAPI(apiStorage{Storage: s}, logger, version, dex))
	g.metrics.InitializeMetrics(srv)
	if cfg.Reflection {
		logger.Info("enabling reflection in grpc service")
		reflection.Register(srv)
	}
	return srv
}

// close stops the TLS reloader, if any.
func (g *grpcSetup) close() {
	if g != nil && g.reloader != nil {
		g.reloader.Close()
	}
}
