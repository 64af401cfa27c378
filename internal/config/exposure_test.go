package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// warningsOf loads cfg and returns its warnings of topic, all of them when
// topic is empty.
func warningsOf(t *testing.T, cfg dextest.DexConfig, topic string) []config.Warning {
	t.Helper()
	cfg.Issuer, cfg.HTTP = "http://127.0.0.1:5556/dex", "127.0.0.1:5556"
	yaml, err := cfg.YAML()
	require.NoError(t, err)
	loaded, _, err := config.Load(yaml, config.Options{Strict: true})
	require.NoError(t, err)
	var warnings []config.Warning
	for _, w := range loaded.Warnings() {
		if topic == "" || w.Topic == topic {
			warnings = append(warnings, w)
		}
	}
	return warnings
}

// mock is a configuration with Dex's mock connector.
var mock = dextest.DexConfig{Connectors: []dextest.ConnectorFunc{dextest.MockCallback("mock", "Mock")}}

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
			warnings := warningsOf(t, mock.With(tt.yaml), config.TopicTokenExchange)
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
	cfg := dextest.DexConfig{
		Clients:    []dextest.Client{{ID: "kubectl", Name: "kubectl", Public: true}},
		Connectors: []dextest.ConnectorFunc{dextest.SpectroCloud("palette", "https://palette.example.com", dextest.TenantUID, nil)},
	}
	var topics, starts []string
	for _, w := range warningsOf(t, cfg, "") {
		topics = append(topics, w.Topic)
		starts = append(starts, w.Message[:min(len(w.Message), 44)])
	}
	assert.Equal(t, []string{config.TopicRefreshTokens, config.TopicRefreshTokens, config.TopicTokenExchange}, topics)
	assert.Equal(t, []string{"expiry.refreshTokens.reuseInterval is not se", "expiry.refreshTokens.absoluteLifetime is not",
		"token exchange (urn:ietf:params:oauth:grant-"}, starts)
	assert.Equal(t, "refresh token policy", config.TopicRefreshTokens)
	assert.Equal(t, "token exchange", config.TopicTokenExchange)
}
