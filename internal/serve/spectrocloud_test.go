package serve_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// spectroConfig signs users in through one Palette tenant of the emulator;
// CONSOLE_URL and TENANT_UID are replaced per test.
const spectroConfig = `
issuer: ISSUER_URL
web:
  http: HTTP_ADDR
storage:
  type: memory
staticClients:
- id: backstage
  name: Backstage
  secret: backstage-secret
  redirectURIs: ["` + rpRedirect + `"]
connectors:
- type: spectrocloud
  id: spectrocloud
  name: SpectroCloud
  config:
    consoleURL: CONSOLE_URL
    tenant: TENANT_UID
    clientID: dex
    clientSecret: dex-secret
    redirectURI: ISSUER_URL/callback
`

// The authorization-code flow runs through Dex's real endpoints (login
// redirect, Palette, callback, approval page) to a relying party that
// verifies Dex's ID token; refreshing never calls Palette's token endpoint.
func TestSpectroCloudEndToEnd(t *testing.T) {
	ctx := context.Background()
	palette := spectrotest.NewServer()
	t.Cleanup(palette.Close)
	tenant := palette.AddTenant("5f7c0a1b2c3d4e5f6a7b8c9d")

	l := listen(t)
	dexIssuer := "http://" + l.Addr().String() + "/dex"
	tenant.AddClient(spectrotest.Client{ID: "dex", Secret: "dex-secret", RedirectURIs: []string{dexIssuer + "/callback"}})
	tenant.AddUser(spectrotest.User{
		Email:      "jane@example.com",
		GivenName:  "Jane",
		FamilyName: "Doe",
		Groups:     []string{"platform", "admins"},
		Claims:     map[string]any{"preferred_username": "jdoe"},
	})
	tenant.SetAutoLogin("jane@example.com")

	template := replaceAll(spectroConfig, "CONSOLE_URL", palette.URL, "TENANT_UID", "5f7c0a1b2c3d4e5f6a7b8c9d")
	dex := startDexOn(t, template, l)
	require.Equal(t, dexIssuer, dex.Issuer)

	rp, err := dextest.NewRelyingParty(ctx, dex.Issuer, "backstage", "backstage-secret", rpRedirect)
	require.NoError(t, err)
	tokens, err := rp.SignIn(ctx, dextest.NewBrowser())
	require.NoError(t, err)

	assert.Equal(t, dex.Issuer, tokens.IDToken.Issuer)
	assert.Equal(t, "jane@example.com", tokens.Claims.Email)
	assert.True(t, tokens.Claims.EmailVerified)
	assert.Equal(t, "Jane Doe", tokens.Claims.Name)
	assert.Equal(t, "jdoe", tokens.Claims.PreferredUsername)
	assert.Equal(t, []string{"platform", "admins"}, tokens.Claims.Groups)
	assert.Equal(t, "spectrocloud", tokens.Claims.FederatedClaims.ConnectorID)
	assert.Equal(t, 1, tenant.Requests(spectrotest.EndpointAuth))
	assert.Equal(t, 1, tenant.Requests(spectrotest.EndpointToken))
	require.NotEmpty(t, tokens.OAuth2.RefreshToken)

	refreshed, err := rp.Refresh(ctx, tokens.OAuth2.RefreshToken)
	require.NoError(t, err)
	assert.Equal(t, tokens.IDToken.Subject, refreshed.IDToken.Subject)
	assert.Equal(t, "jane@example.com", refreshed.Claims.Email)
	assert.Equal(t, []string{"platform", "admins"}, refreshed.Claims.Groups)
	assert.Equal(t, 1, tenant.Requests(spectrotest.EndpointToken), "refresh makes no request to Palette's token endpoint")
}

func replaceAll(s string, oldNew ...string) string {
	return strings.NewReplacer(oldNew...).Replace(s)
}
