package demo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud"
)

func TestConfigLoadsStrictlyAsServeDoes(t *testing.T) {
	t.Parallel()
	data, err := RenderConfig(DefaultOptions())
	require.NoError(t, err)
	cfg, err := loadConfig(data)
	require.NoError(t, err)

	assert.Equal(t, "http://127.0.0.1:5556/dex", cfg.Issuer)
	assert.Equal(t, "127.0.0.1:5556", cfg.Web.HTTP)
	assert.Equal(t, "memory", cfg.Storage.Type)
	assert.Equal(t, "1m", cfg.Expiry.IDTokens)
	assert.True(t, cfg.OAuth2.SkipApprovalScreen)
	assert.Equal(t, []string{"authorization_code", "refresh_token"}, cfg.OAuth2.GrantTypes)

	require.Len(t, cfg.StaticClients, 2)
	app := cfg.StaticClients[0]
	assert.Equal(t, appClientID, app.ID)
	assert.Equal(t, []string{"http://127.0.0.1:5555/callback"}, app.RedirectURIs)
	assert.True(t, cfg.StaticClients[1].Public)

	require.Len(t, cfg.StaticConnectors, 1)
	conn := cfg.StaticConnectors[0]
	assert.Equal(t, "spectrocloud", conn.Type)
	sc, ok := conn.Config.(*spectrocloud.Config)
	require.True(t, ok, "connector config is %T", conn.Config)
	assert.Equal(t, "http://127.0.0.1:5557", sc.ConsoleURL)
	assert.Equal(t, TenantUID, sc.Tenant)
	assert.Equal(t, "http://127.0.0.1:5556/dex/callback", sc.RedirectURI)
	assert.Equal(t, allowedGroups(), sc.AllowedGroups)
	require.Len(t, sc.ClaimModifications.NewGroupFromClaims, 1)
	assert.Equal(t, []string{customClaim}, sc.ClaimModifications.NewGroupFromClaims[0].Claims)
	require.NotNil(t, sc.SignIn)
}

func TestConfigFollowsOptions(t *testing.T) {
	t.Parallel()
	data, err := RenderConfig(Options{DexPort: 9001, PalettePort: 9002, AppPort: 9003, TokenLifetime: 30 * time.Second})
	require.NoError(t, err)
	cfg, err := loadConfig(data)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:9001/dex", cfg.Issuer)
	assert.Equal(t, "30s", cfg.Expiry.IDTokens)
	assert.Equal(t, []string{"http://127.0.0.1:9003/callback"}, cfg.StaticClients[0].RedirectURIs)
	assert.Equal(t, "http://127.0.0.1:9002", cfg.StaticConnectors[0].Config.(*spectrocloud.Config).ConsoleURL)

	_, err = RenderConfig(Options{DexPort: 9001, AppPort: 9001})
	assert.ErrorContains(t, err, "--dex-port and --app-port are both 9001")
}

func TestDemoUsersCoverEveryCase(t *testing.T) {
	t.Parallel()
	var verified, unverified, outside, custom bool
	for _, u := range Users() {
		inAllowed := false
		for _, g := range u.Palette.Groups {
			for _, a := range allowedGroups() {
				inAllowed = inAllowed || g == a
			}
		}
		switch {
		case u.Palette.Claims["email_verified"] == false:
			unverified = true
			assert.False(t, u.SignsIn)
		case !inAllowed:
			outside = true
			assert.False(t, u.SignsIn)
		default:
			verified = true
			assert.True(t, u.SignsIn)
		}
		if _, ok := u.Palette.Claims[customClaim]; ok {
			custom = true
		}
		assert.NotEmpty(t, u.Shows)
	}
	assert.True(t, verified && unverified && outside && custom)
}

func TestShortDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		time.Minute:                "1m",
		time.Hour:                  "1h",
		90 * time.Second:           "1m30s",
		10 * time.Second:           "10s",
		time.Hour + 30*time.Second: "1h0m30s",
	} {
		assert.Equal(t, want, shortDuration(d))
	}
}
