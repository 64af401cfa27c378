package interop

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

// The Kubernetes and Backstage examples are written for the Dex of
// examples/config.yaml: its issuer, clients and connectors, and the
// audience of the clusters' client, which the clusters check and Backstage
// asks for.
func TestExamplesDescribeOneDeployment(t *testing.T) {
	data, err := os.ReadFile(examplePath("config.yaml"))
	require.NoError(t, err)
	cfg, _, err := config.Parse(data)
	require.NoError(t, err)
	assert.Equal(t, exampleIssuer, cfg.Issuer)
	assert.Equal(t, exampleIDTokenExpiry.String(), func() string {
		d, err := time.ParseDuration(cfg.Expiry.IDTokens)
		require.NoError(t, err)
		return d.String()
	}())

	type client struct {
		public       bool
		redirects    []string
		trustedPeers []string
	}
	clients := make(map[string]client)
	for _, c := range cfg.StaticClients {
		clients[c.ID] = client{c.Public, c.RedirectURIs, c.TrustedPeers}
	}
	tests := []struct {
		client       string
		public       bool
		redirect     string
		trustedPeers []string
	}{
		{backstageClient, false, backstageCallback, nil},
		// Any client listed here can obtain ID tokens the clusters accept.
		{kubernetesClient, true, kubeloginRedirect, []string{backstageClient}},
	}
	for _, tt := range tests {
		t.Run("client "+tt.client, func(t *testing.T) {
			c, ok := clients[tt.client]
			require.True(t, ok, "examples/config.yaml has no client %s", tt.client)
			assert.Equal(t, tt.public, c.public)
			assert.Contains(t, c.redirects, tt.redirect)
			assert.Equal(t, tt.trustedPeers, c.trustedPeers)
		})
	}
	assert.Len(t, clients, len(tests))

	connectors := make(map[string]string) // ID → type
	for _, c := range cfg.StaticConnectors {
		connectors[c.ID] = c.Type
	}
	for _, id := range []string{prodConnector, labConnector} {
		assert.Equal(t, "spectrocloud", connectors[id], "connector %s", id)
	}

	// The clusters' audience, everywhere.
	t.Run("audience", func(t *testing.T) {
		text, err := os.ReadFile(examplePath("kubernetes", "apiserver-flags.txt"))
		require.NoError(t, err)
		flags, err := parseAPIServerFlags(string(text))
		require.NoError(t, err)
		assert.Equal(t, exampleIssuer, flags.IssuerURL)
		assert.Equal(t, kubernetesClient, flags.ClientID, "--oidc-client-id")
		assert.Equal(t, "email", flags.UsernameClaim)
		assert.Equal(t, "groups", flags.GroupsClaim)
		assert.Empty(t, flags.UsernamePrefix)
		assert.Empty(t, flags.GroupsPrefix)

		for _, sc := range structuredConfigs {
			cfg := loadExampleAuthenticationConfiguration(t, sc.file)
			require.Len(t, cfg.JWT, 1)
			assert.Equal(t, exampleIssuer, cfg.JWT[0].Issuer.URL, sc.file)
			assert.Equal(t, []string{kubernetesClient}, cfg.JWT[0].Issuer.Audiences, sc.file)
		}

		assert.Equal(t, kubernetesClient, loadKubeloginSettings(t).ClientID, "kubelogin signs in as the clusters' client")
		assert.Contains(t, backstageScopes(t, loadBackstageAppConfig(t, backstageEnv())), clustersAudienceScope)
	})
}

// Dex issues ID tokens with the clusters' audience only to the clients the
// `kubernetes` client trusts: without its trustedPeers, Backstage's sign-in
// with the scopes of app-config.yaml is refused.
func TestClustersAudienceNeedsTrust(t *testing.T) {
	st := startExampleStack(t, configEdit{
		path:  []any{"staticClients", 1, "trustedPeers"},
		want:  []any{backstageClient},
		value: []any{},
	})
	scopes := backstageScopes(t, loadBackstageAppConfig(t, backstageEnv()))
	rp := st.relyingParty(t, backstageClient, backstageSecret, backstageCallback, scopes...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := rp.SignIn(ctx, st.browser(t, prodConnector, prodName, jane()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid_scope")
	assert.Contains(t, err.Error(), clustersAudienceScope)
}
