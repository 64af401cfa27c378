package config_test

import (
	"path/filepath"
	"testing"

	"github.com/dexidp/dex/storage/sql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud"
	"github.com/dex-spectro/dex-spectro/internal/config"
)

// The production example loads in strict mode, without warnings, and
// without the warnings check prints about the configuration's exposure.
func TestExampleConfigLoads(t *testing.T) {
	t.Setenv("SPECTROCLOUD_CLIENT_ID", "prod-client")
	t.Setenv("SPECTROCLOUD_CLIENT_SECRET", "prod-secret")
	t.Setenv("SPECTROCLOUD_LAB_CLIENT_ID", "lab-client")
	t.Setenv("SPECTROCLOUD_LAB_CLIENT_SECRET", "lab-secret")
	t.Setenv("BACKSTAGE_CLIENT_SECRET", "backstage-secret")

	c, warnings, err := config.LoadFile(filepath.Join("..", "..", "examples", "config.yaml"), config.Options{Strict: true})
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Empty(t, c.Warnings(), "token exchange is not open to the public kubernetes client")

	assert.Equal(t, "sqlite3", c.Storage.Type)
	assert.IsType(t, &sql.SQLite3{}, c.Storage.Config)

	clients := c.ResolvedStaticClients()
	require.Len(t, clients, 2)
	assert.Equal(t, "backstage", clients[0].ID)
	assert.False(t, clients[0].Public)
	assert.Equal(t, "backstage-secret", clients[0].Secret)
	assert.Equal(t, "kubernetes", clients[1].ID)
	assert.True(t, clients[1].Public)

	require.Len(t, c.StaticConnectors, 2)
	tenants := map[string]bool{}
	for _, conn := range c.StaticConnectors {
		assert.Equal(t, "spectrocloud", conn.Type)
		sc, ok := conn.Config.(*spectrocloud.Config)
		require.True(t, ok)
		assert.NotEmpty(t, sc.Tenant)
		tenants[sc.Tenant] = true
	}
	assert.Len(t, tenants, 2, "two tenants")
	prod := c.StaticConnectors[0].Config.(*spectrocloud.Config)
	assert.Equal(t, "prod-client", prod.ClientID)
	assert.Equal(t, "prod-secret", prod.ClientSecret)
	assert.Equal(t, "lab-client", c.StaticConnectors[1].Config.(*spectrocloud.Config).ClientID)
}
