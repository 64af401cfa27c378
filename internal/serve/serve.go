// Package serve builds and runs the Dex server described by a configuration
// file, as Dex v2.45.1's `dex serve` does, with a shutdown that drains
// in-flight requests and closes storage.
//
// Tests run it in-process:
//
//	l, _ := net.Listen("tcp", "127.0.0.1:0")
//	cfg.Issuer = "http://" + l.Addr().String() + "/dex" // and web.http set
//	srv, err := serve.New(ctx, cfg, serve.WithListener(serve.ListenerHTTP, l))
//	go srv.Run(ctx) // returns once ctx is cancelled and shutdown completes
package serve

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	grpcprometheus "github.com/grpc-ecosystem/go-grpc-prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/dexidp/dex/server"
	"github.com/dexidp/dex/storage"

	"github.com/dex-spectro/dex-spectro/internal/buildinfo"
	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/connhook"
	"github.com/dex-spectro/dex-spectro/internal/logging"
)

// Addrs are the addresses the server listens on; empty for a listener the
// configuration does not enable.
type Addrs struct {
	HTTP, HTTPS, Telemetry, GRPC string
}

// Server is a Dex server with its listeners bound and its storage open.
// Call Run to serve, or Close to release it without serving.
type Server struct {
	logger          *slog.Logger
	dex             *server.Server
	store           storage.Storage
	capped          http.Handler // dex behind connectorFailures and signInLifetimes
	web             http.Handler // capped behind dexFixes
	shutdownTimeout time.Duration

	listeners map[Listener]net.Listener
	http      map[Listener]*http.Server
	grpc      *grpc.Server

	// release frees everything but the listeners, once.
	release     func()
	releaseOnce sync.Once
	runOnce     sync.Once
}

// Run builds the server described by cfg and serves until ctx is
// cancelled, then shuts down gracefully. It returns nil after a shutdown
// requested through ctx, or the error that stopped the server.
func Run(ctx context.Context, cfg *config.Config, opts ...Option) error {
	srv, err := New(ctx, cfg, opts...)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// New opens storage, the signer and the connectors, builds Dex's server and
// binds the listeners the configuration enables; cfg is validated first.
// ctx bounds only the construction. Call Run or Close on the result.
func New(ctx context.Context, cfg *config.Config, opts ...Option) (_ *Server, err error) {
	o := newOptions(opts)
	if err := cfg.Validate(); err != nil {
		for _, l := range o.listeners {
			_ = l.Close()
		}
		return nil, err
	}
	info := buildinfo.Read()

	// Undo everything done so far if construction fails.
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	defer func() {
		if err != nil {
			cleanup()
			for _, l := range o.listeners {
				_ = l.Close()
			}
		}
	}()

	logger := o.logger
	if logger == nil {
		if logger, err = logging.New(os.Stderr, cfg.Logger.Level, cfg.Logger.Format); err != nil {
			return nil, fmt.Errorf("invalid config: %w", err)
		}
	}
	logger.Info("Version info",
		"dex_spectro_version", info.Version,
		"dex_version", info.DexVersion,
		slog.Group("go", "version", runtime.Version(), "os", runtime.GOOS, "arch", runtime.GOARCH),
	)
	if cfg.Logger.Level != slog.LevelInfo {
		logger.Info("config using log level", "level", cfg.Logger.Level)
	}
	logger.Info("config issuer", "issuer", cfg.Issuer)
	for _, w := range cfg.Warnings() {
		logger.Warn(w.Topic, "warning", w.Message)
	}

	for name := range o.listeners {
		if configuredAddr(cfg, name) == "" {
			return nil, fmt.Errorf("a %s listener was given but the config does not enable it", name)
		}
	}

	reg := o.registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if err := registerBaseMetrics(reg, info); err != nil {
		return nil, err
	}
	grpcMetrics := grpcprometheus.NewServerMetrics()
	if err := register(reg, grpcMetrics); err != nil {
		return nil, fmt.Errorf("register gRPC server metrics: %w", err)
	}
	grpcSetup, err := prepareGRPC(cfg.GRPC, grpcMetrics, logger)
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, grpcSetup.close)

	conflicts, err := newConflictMetrics(reg)
	if err != nil {
		return nil, err
	}
	backend, closeStorage, err := openStorage(cfg, logger, conflicts)
	if err != nil {
		return nil, cfg.ExplainUnset(err)
	}
	store := memoStorage{Storage: backend}
	cleanups = append(cleanups, func() {
		if err := closeStorage(); err != nil {
			logger.Error("close storage", "err", err)
		}
	})
	if err := waitForCustomResources(ctx, cfg, store, logger); err != nil {
		return nil, err
	}

	sc, err := serverConfig(cfg, logger, o.now)
	if err != nil {
		return nil, err
	}
	sc.Storage = store
	sc.PrometheusRegistry = reg
	// Dex opens its connectors with the logger it is given; through it the
	// server finds them (connhook.Hub).
	hub := connhook.NewHub(o.connectorClock)
	sc.Logger = hub.Logger(logger)
	conns := newConnectorLookup(hub, store)

	// Key rotation and garbage collection run until shutdown.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	cleanups = append(cleanups, stopBackground)

	sig, err := openSigner(bgCtx, cfg, store, sc.IDTokensValidFor, o.now, logger)
	if err != nil {
		return nil, err
	}
	if sc.Signer, err = newLifetimeSigner(sig, store, conns, o.now); err != nil {
		return nil, err
	}
	if sc.HealthChecker, err = newHealthChecker(store, o.now); err != nil {
		return nil, err
	}
	cleanups = append(cleanups, sc.HealthChecker.DeregisterAll)

	dex, err := server.NewServer(bgCtx, sc)
	if err != nil {
		return nil, cfg.ExplainUnset(fmt.Errorf("initialize server: %w", err))
	}
	conns.dex.Store(dex)

	// The fixes for Dex's holes come first; the token lifetimes and the
	// connector's failures wrap Dex itself.
	routes, err := newDexRoutes(cfg.Issuer)
	if err != nil {
		return nil, err
	}
	capped := signInLifetimes(connectorFailures(dex, routes), routes, store, conns, o.now, logger)
	web, err := dexFixes(prepareRefreshes(capped, store, conns, routes, logger), store, routes, o.now, logger)
	if err != nil {
		return nil, err
	}
	web = withReadMemos(web, routes)
	s := &Server{
		logger:          logger,
		dex:             dex,
		store:           store,
		capped:          capped,
		web:             web,
		shutdownTimeout: o.shutdownTimeout,
		listeners:       make(map[Listener]net.Listener),
		http:            make(map[Listener]*http.Server),
	}
	defer func() {
		if err != nil {
			for _, l := range s.listeners {
				_ = l.Close()
			}
		}
	}()

	if err := s.bind(ListenerTelemetry, cfg.Telemetry.HTTP, o.listeners); err != nil {
		return nil, err
	}
	if l := s.listeners[ListenerTelemetry]; l != nil {
		s.http[ListenerTelemetry] = newHTTPServer(telemetryHandler(reg, sc.HealthChecker, cfg.Telemetry.EnableProfiling), nil, logger)
	}
	if err := s.bind(ListenerHTTP, cfg.Web.HTTP, o.listeners); err != nil {
		return nil, err
	}
	if s.listeners[ListenerHTTP] != nil {
		s.http[ListenerHTTP] = newHTTPServer(s.web, nil, logger)
	}
	if cfg.Web.HTTPS != "" {
		r, err := newTLSReloader(logger, cfg.Web.TLSCert, cfg.Web.TLSKey, "", baseTLSConfig(cfg.Web.TLSMinVersion, cfg.Web.TLSMaxVersion))
		if err != nil {
			return nil, fmt.Errorf("invalid config: get HTTP TLS: %w", err)
		}
		cleanups = append(cleanups, r.Close)
		if err := s.bind(ListenerHTTPS, cfg.Web.HTTPS, o.listeners); err != nil {
			return nil, err
		}
		s.http[ListenerHTTPS] = newHTTPServer(s.web, r.Config(), logger)
	}
	if err := s.bind(ListenerGRPC, cfg.GRPC.Addr, o.listeners); err != nil {
		return nil, err
	}
	if s.listeners[ListenerGRPC] != nil {
		s.grpc = grpcSetup.newServer(cfg.GRPC, store, dex, info.APIVersion(), logger)
	}

	s.release = cleanup
	return s, nil
}

// Storage returns the storage the server reads and writes, as Dex sees it
// (with the configuration's static clients, passwords and connectors), for
// tools and tests that seed or inspect it.
func (s *Server) Storage() storage.Storage { return s.store }
