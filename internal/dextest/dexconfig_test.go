package dextest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// A configuration renders the issuer into its connectors, memory storage
// by default, and the sections With sets, replacing those of the same key.
func TestDexConfigYAML(t *testing.T) {
	cfg := DexConfig{
		Issuer:  "http://127.0.0.1:5556/dex",
		HTTP:    "127.0.0.1:5556",
		Clients: []Client{{ID: "kubectl", Name: "kubectl", Public: true}},
		Connectors: []ConnectorFunc{
			SpectroCloud("palette", "http://127.0.0.1:9000", TenantUID, YAMLMap("clientSecret: $SECRET\nconsoleURL: null\nsignIn: {resolvers: [{resolver: claim, claim: sub}]}")),
			MockCallback("mock", "Mock"),
		},
	}.With("expiry: {idTokens: 1h}\noauth2: {skipApprovalScreen: true}").With("expiry: {idTokens: 2h}")
	data, err := cfg.YAML()
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, yaml.Unmarshal(data, &got))
	assert.Equal(t, map[string]any{
		"issuer":        "http://127.0.0.1:5556/dex",
		"web":           map[string]any{"http": "127.0.0.1:5556"},
		"storage":       map[string]any{"type": "memory"},
		"expiry":        map[string]any{"idTokens": "2h"},
		"oauth2":        map[string]any{"skipApprovalScreen": true},
		"staticClients": []any{map[string]any{"id": "kubectl", "name": "kubectl", "public": true}},
		"connectors": []any{
			map[string]any{"type": "spectrocloud", "id": "palette", "name": "SpectroCloud", "config": map[string]any{
				"tenant": TenantUID, "clientID": PaletteClientID, "clientSecret": "$SECRET",
				"redirectURI": "http://127.0.0.1:5556/dex/callback",
				"signIn":      map[string]any{"resolvers": []any{map[string]any{"resolver": "claim", "claim": "sub"}}},
			}},
			map[string]any{"type": "mockCallback", "id": "mock", "name": "Mock"},
		},
	}, got)
	assert.Panics(t, func() { YAMLMap("- a list") })
}
