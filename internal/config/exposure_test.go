package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

const exchangeBase = `
issuer: http://127.0.0.1:5556/dex
web:
  http: 127.0.0.1:5556
storage:
  type: memory
connectors:
- type: mockCallback
  id: mock
  name: Mock
`

// Token exchange through a public client needs no secret: a configuration
// that allows both is warned about, naming the clients.
func TestTokenExchangeWarning(t *testing.T) {
	const public = "- {id: kubectl, name: kubectl, public: true}\n"
	const confidential = "- {id: backstage, name: Backstage, secret: s, redirectURIs: [https://backstage.example.com/cb]}\n"
	tests := []struct {
		name, yaml string
		want       []string // in the one warning; none expected when empty
	}{
		{name: "every grant (grantTypes not set) and a public client", yaml: "staticClients:\n" + confidential + public,
			want: []string{`staticClients[1] ("kubectl") is public`, "urn:ietf:params:oauth:grant-type:token-exchange", "without a client secret", "oauth2.grantTypes"}},
		{name: "token exchange listed and two public clients", yaml: "oauth2:\n  grantTypes: [authorization_code, urn:ietf:params:oauth:grant-type:token-exchange]\nstaticClients:\n" + public +
			"- {id: cli, name: CLI, public: true}\n",
			want: []string{`staticClients[0] ("kubectl"), staticClients[1] ("cli") are public`, "issued to them"}},
		{name: "token exchange not listed", yaml: "oauth2:\n  grantTypes: [authorization_code, refresh_token, urn:ietf:params:oauth:grant-type:device_code]\nstaticClients:\n" + public},
		{name: "confidential clients only", yaml: "staticClients:\n" + confidential},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := config.Load([]byte(exchangeBase+tt.yaml), config.Options{Strict: true})
			require.NoError(t, err)
			var warnings []config.Warning
			for _, w := range cfg.Warnings() {
				if w.Topic == config.TopicTokenExchange {
					warnings = append(warnings, w)
				}
			}
			if len(tt.want) == 0 {
				assert.Empty(t, warnings)
				return
			}
			require.Len(t, warnings, 1)
			for _, w := range tt.want {
				assert.Contains(t, warnings[0].Message, w)
			}
		})
	}
}

// Warnings come in one order, each with its topic (serve's log message):
// the refresh token policy's first, then token exchange's.
func TestWarningsTopics(t *testing.T) {
	cfg, _, err := config.Load([]byte(exchangeBase+`- type: spectrocloud
  id: palette
  name: Palette
  config:
    tenant: `+dextest.TenantUID+`
    clientID: dex
    clientSecret: dex-secret
    redirectURI: http://127.0.0.1:5556/dex/callback
staticClients:
- {id: kubectl, name: kubectl, public: true}
`), config.Options{Strict: true})
	require.NoError(t, err)
	var topics, starts []string
	for _, w := range cfg.Warnings() {
		topics = append(topics, w.Topic)
		starts = append(starts, w.Message[:min(len(w.Message), 44)])
	}
	assert.Equal(t, []string{config.TopicRefreshTokens, config.TopicRefreshTokens, config.TopicTokenExchange}, topics)
	assert.Equal(t, []string{"expiry.refreshTokens.reuseInterval is not se", "expiry.refreshTokens.absoluteLifetime is not",
		"token exchange (urn:ietf:params:oauth:grant-"}, starts)
	assert.Equal(t, "refresh token policy", config.TopicRefreshTokens)
	assert.Equal(t, "token exchange", config.TopicTokenExchange)
}
