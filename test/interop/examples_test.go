package interop

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

// The Kubernetes and Backstage examples are written for the Dex of
// examples/config.yaml, whose issuer, clients and connectors the tests
// reproduce: they must agree.
func TestExamplesDescribeOneDeployment(t *testing.T) {
	data, err := os.ReadFile(examplePath("config.yaml"))
	require.NoError(t, err)
	cfg, _, err := config.Parse(data)
	require.NoError(t, err)
	assert.Equal(t, exampleIssuer, cfg.Issuer)

	clients := make(map[string]bool) // ID → public
	redirects := make(map[string][]string)
	for _, c := range cfg.StaticClients {
		clients[c.ID] = c.Public
		redirects[c.ID] = c.RedirectURIs
	}
	tests := []struct {
		client   string
		public   bool
		redirect string
	}{
		{backstageClient, false, backstageCallback},
		{kubeloginClient, true, kubeloginRedirect},
	}
	for _, tt := range tests {
		t.Run("client "+tt.client, func(t *testing.T) {
			public, ok := clients[tt.client]
			require.True(t, ok, "examples/config.yaml has no client %s", tt.client)
			assert.Equal(t, tt.public, public)
			assert.Contains(t, redirects[tt.client], tt.redirect)
		})
	}

	connectors := make(map[string]string) // ID → type
	for _, c := range cfg.StaticConnectors {
		connectors[c.ID] = c.Type
	}
	for _, id := range []string{prodConnector, labConnector} {
		assert.Equal(t, "spectrocloud", connectors[id], "connector %s", id)
	}
}
