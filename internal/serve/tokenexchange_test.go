package serve_test

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// Token exchange through a public client needs no secret: anyone holding a
// Palette ID token gets Dex's tokens for that client. Start-up warns about
// it when the grant is enabled (it is when oauth2.grantTypes is not set)
// and a static client is public; without the grant there is no warning,
// and no exchange.
func TestTokenExchangeThroughAPublicClient(t *testing.T) {
	tests := []struct {
		name, oauth2 string
		open         bool
	}{
		{name: "every grant", open: true},
		{name: "grant types without token exchange", oauth2: "oauth2: {grantTypes: [authorization_code, refresh_token, 'urn:ietf:params:oauth:grant-type:device_code']}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := listen(t)
			palette, tenant, _ := lifetimePalette(t, "http://"+l.Addr().String()+"/dex")
			logs := &dextest.LogBuffer{}
			logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
			dex := harness.Start(t, lifetimeConfig(palette.URL).With(tt.oauth2), l, serve.WithLogger(logger))

			form := tokenExchangeForm(tenant.MintIDToken(tenant.Claims(tenant.Users()[0], "dex", "")), "openid email")
			form.Set("client_id", "kubectl")
			status, body := postForm(t, dex.Issuer+"/token", form)
			warnings := logs.Lines(`level=WARN msg="token exchange"`)
			if !tt.open {
				assert.Empty(t, warnings)
				assert.Equal(t, http.StatusBadRequest, status, body)
				assert.Equal(t, "unsupported_grant_type", decodeError(t, body).Error)
				return
			}
			require.Equal(t, http.StatusOK, status, "the exposure: a Palette ID token and no secret: %s", body)
			require.Len(t, warnings, 1)
			assert.Contains(t, warnings[0], `staticClients[2] (\"kubectl\") is public`)
			assert.Contains(t, warnings[0], "without a client secret")
		})
	}
}
