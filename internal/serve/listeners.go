package serve

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

// configuredAddr is the configured address of a listener.
func configuredAddr(cfg *config.Config, name Listener) string {
	switch name {
	case ListenerHTTP:
		return cfg.Web.HTTP
	case ListenerHTTPS:
		return cfg.Web.HTTPS
	case ListenerTelemetry:
		return cfg.Telemetry.HTTP
	case ListenerGRPC:
		return cfg.GRPC.Addr
	default:
		return ""
	}
}

// bind listens on addr for the named listener, or takes the listener given
// with WithListener. An empty addr without a given listener leaves it off.
func (s *Server) bind(name Listener, addr string, given map[Listener]net.Listener) error {
	l := given[name]
	if l == nil {
		if addr == "" {
			return nil
		}
		var err error
		if l, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("listening (%s) on %s: %w", name, addr, err)
		}
	}
	delete(given, name)
	s.listeners[name] = l
	s.logger.Info("listening on", "server", string(name), "address", l.Addr().String())
	return nil
}

func newHTTPServer(h http.Handler, tlsConfig *tls.Config, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// Addrs returns the bound addresses.
func (s *Server) Addrs() Addrs {
	addr := func(name Listener) string {
		if l := s.listeners[name]; l != nil {
			return l.Addr().String()
		}
		return ""
	}
	return Addrs{
		HTTP:      addr(ListenerHTTP),
		HTTPS:     addr(ListenerHTTPS),
		Telemetry: addr(ListenerTelemetry),
		GRPC:      addr(ListenerGRPC),
	}
}
