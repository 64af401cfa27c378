package connectors_test

import (
	"testing"

	"github.com/dexidp/dex/connector/ldap"
	"github.com/dexidp/dex/connector/mock"
	"github.com/dexidp/dex/connector/oidc"
	"github.com/dexidp/dex/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud"
	"github.com/dex-spectro/dex-spectro/internal/connectors"
	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

func metricNames(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	return names
}

// Register adds the spectrocloud type once, with metrics on the first
// registry; later calls change nothing.
func TestRegister(t *testing.T) {
	first := prometheus.NewRegistry()
	require.NoError(t, connectors.Register(first))
	require.True(t, connectors.Registered())
	// The metrics are on the first registry (their series appear once
	// observed): registering them again there fails.
	_, err := spectrocloud.NewFactory(first)
	require.Error(t, err, "the connector's metrics are registered on the first registry")

	cfg := server.ConnectorsConfig[connectors.SpectroCloud]()
	_, ok := connhook.Unwrap(cfg).(*spectrocloud.Config)
	require.True(t, ok)
	assert.NotSame(t, cfg, server.ConnectorsConfig[connectors.SpectroCloud](), "each call returns a fresh config")

	second := prometheus.NewRegistry()
	require.NoError(t, connectors.Register(second))
	assert.Empty(t, metricNames(t, second))
	_, err = spectrocloud.NewFactory(second)
	require.NoError(t, err, "nothing was registered on the second registry")

	// Dex's built-in types are there, each tracked once (connhook.Track):
	// their configurations are Dex's own underneath.
	for typ, want := range map[string]any{"oidc": &oidc.Config{}, "ldap": &ldap.Config{}, "mockCallback": &mock.CallbackConfig{}} {
		require.Contains(t, server.ConnectorsConfig, typ)
		cfg := server.ConnectorsConfig[typ]()
		assert.IsType(t, want, connhook.Unwrap(cfg), typ)
		assert.IsType(t, want, connhook.Unwrap(connhook.Unwrap(cfg)), "%s is wrapped once", typ)
	}
}
