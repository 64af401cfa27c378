// Package connectors adds the connector types of this build to Dex's
// connector registry.
//
// Dex looks connector types up in server.ConnectorsConfig, a package-level
// map, both when the configuration file is decoded and when the server opens
// its connectors. Register is the one place that adds to it; the binary
// calls it once at start-up, before the configuration is loaded.
package connectors

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dexidp/dex/server"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud"
	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

// SpectroCloud is the connector type of the SpectroCloud Palette connector.
const SpectroCloud = "spectrocloud"

// Register adds this build's connector types to Dex's connector registry,
// and makes every type's connectors known to the server that opens them
// (connhook.Track). When reg is not nil, the spectrocloud connector's
// metrics are registered on it and every spectrocloud connector the
// process opens records them (spectrocloud.NewFactory).
//
// Registration is idempotent: once the types are present, later calls
// change nothing (and register no metrics). The registry is shared by the
// whole process, so Register must not run concurrently with configuration
// loading or server start-up; call it first, from main or TestMain.
func Register(reg prometheus.Registerer) error {
	if Registered() {
		return nil
	}
	spectro, err := spectrocloud.NewFactory(reg)
	if err != nil {
		return err
	}
	server.ConnectorsConfig[SpectroCloud] = func() server.ConnectorConfig { return spectro() }
	// Every type, Dex's own included, so that a server's connhook.Hub
	// follows a connector whose type changes through the gRPC API.
	for typ, f := range server.ConnectorsConfig {
		server.ConnectorsConfig[typ] = connhook.Track(f)
	}
	return nil
}

// Registered reports whether Register has added this build's types.
func Registered() bool {
	_, ok := server.ConnectorsConfig[SpectroCloud]
	return ok
}
