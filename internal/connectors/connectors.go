// Package connectors adds the connector types of this build to Dex's
// connector registry.
//
// Dex looks connector types up in server.ConnectorsConfig, a package-level
// map, both when the configuration file is decoded and when the server opens
// its connectors. Register is the one place that adds to it; the binary
// calls it once at start-up, before the configuration is loaded.
package connectors

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dexidp/dex/server"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud"
	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

// SpectroCloud is the connector type of the SpectroCloud Palette connector.
const SpectroCloud = "spectrocloud"

// Types lists the connector types this build adds to Dex's built-in ones.
func Types() []string { return []string{SpectroCloud} }

// Register adds this build's connector types to Dex's connector registry,
// and makes every type's connectors known to the server that opens them
// (connhook.Track). When reg is not nil, the spectrocloud connector's metrics are registered
// on it and every spectrocloud connector the server opens records them.
//
// Registration is idempotent: once the types are present, later calls
// change nothing (and register no metrics). The registry is shared by the
// whole process, so Register must not run concurrently with configuration
// loading or server start-up; call it first, from main or TestMain.
func Register(reg prometheus.Registerer, opts ...Option) error {
	if _, ok := server.ConnectorsConfig[SpectroCloud]; ok {
		return nil
	}
	var metrics *spectrocloud.Metrics
	if reg != nil {
		m, err := spectrocloud.NewMetrics(reg)
		if err != nil {
			return fmt.Errorf("register spectrocloud connector metrics: %w", err)
		}
		metrics = m
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	server.ConnectorsConfig[SpectroCloud] = func() server.ConnectorConfig {
		return &spectrocloud.Config{Metrics: metrics, Now: o.now}
	}
	// Every type, Dex's own included, so that a server's connhook.Hub
	// follows a connector whose type changes through the gRPC API.
	for typ, f := range server.ConnectorsConfig {
		server.ConnectorsConfig[typ] = connhook.Track(f)
	}
	return nil
}

// Option customises Register.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock makes every spectrocloud connector check token lifetimes
// against now instead of the system clock. Tests use it to reach the expiry
// of a Palette ID token without waiting.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Registered reports whether Register has added this build's types.
func Registered() bool {
	_, ok := server.ConnectorsConfig[SpectroCloud]
	return ok
}
