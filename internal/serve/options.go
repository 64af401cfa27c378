package serve

import (
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultShutdownTimeout bounds how long a shutdown waits for in-flight
// requests before closing their connections.
const DefaultShutdownTimeout = 30 * time.Second

// Listener names one of the server's listeners.
type Listener string

// The server's listeners.
const (
	// ListenerHTTP serves Dex over HTTP (web.http).
	ListenerHTTP Listener = "http"
	// ListenerHTTPS serves Dex over HTTPS (web.https).
	ListenerHTTPS Listener = "https"
	// ListenerTelemetry serves metrics and health checks (telemetry.http).
	ListenerTelemetry Listener = "telemetry"
	// ListenerGRPC serves Dex's gRPC API (grpc.addr).
	ListenerGRPC Listener = "grpc"
)

// Option customises New and Run.
type Option func(*options)

type options struct {
	logger          *slog.Logger
	registry        *prometheus.Registry
	listeners       map[Listener]net.Listener
	shutdownTimeout time.Duration
	now             func() time.Time
	connectorClock  func() time.Time // nil: the connectors use the system clock
}

func newOptions(opts []Option) options {
	o := options{
		listeners:       make(map[Listener]net.Listener),
		shutdownTimeout: DefaultShutdownTimeout,
		now:             func() time.Time { return time.Now().UTC() },
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithLogger sets the logger; by default one is built from the config's
// `logger` section, writing to standard error.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithRegistry sets the Prometheus registry that metrics are registered on
// and that /metrics serves; by default the server creates its own.
func WithRegistry(r *prometheus.Registry) Option {
	return func(o *options) { o.registry = r }
}

// WithListener hands the server an open listener for one of the listeners
// the config enables, instead of listening on the configured address. The
// server closes it. Tests use it to listen on 127.0.0.1:0 and learn the
// port (and so the issuer URL) before the server starts.
func WithListener(name Listener, l net.Listener) Option {
	return func(o *options) { o.listeners[name] = l }
}

// WithShutdownTimeout bounds how long shutdown waits for in-flight requests
// (default DefaultShutdownTimeout).
func WithShutdownTimeout(d time.Duration) Option {
	return func(o *options) { o.shutdownTimeout = d }
}

// WithClock sets the clock Dex uses for token lifetimes and expiry.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithConnectorClock sets the clock the connectors the server opens check
// token times against (connhook.Clock); by default the system clock. A test
// moves it to take a Palette ID token past its expiry, or a key set past its
// refetch interval, without waiting; with WithClock it can move Dex and the
// connectors apart, as a test of clock skew does.
func WithConnectorClock(now func() time.Time) Option {
	return func(o *options) { o.connectorClock = now }
}
