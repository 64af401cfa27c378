package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

// Every key Dex would silently drop is reported with its path and line,
// including keys merged in from YAML anchors; keys that differ from a
// known one only in case are accepted, as encoding/json accepts them.
func TestUnknownKeyWarningsNameKeyAndLine(t *testing.T) {
	c, warnings, err := config.Parse([]byte(readFixture(t, "unknown-keys.yaml")))
	require.NoError(t, err)
	require.NotNil(t, c)

	type found struct {
		Key  string
		Line int
	}
	var got []found
	for _, w := range warnings {
		got = append(got, found{w.Key, w.Line})
	}
	assert.ElementsMatch(t, []found{
		{"isuer", 1},
		{"storage.config.fiel", 7},
		{"web.headers.X-Frame-Option", 12},
		{"expiry.refreshTokens.validIfNotUsed", 15},
		{"defaults", 16},
		{"staticClients[0].secert", 18},
		{"staticClients[0].secertEnv", 24},
		{"connectors[0].nmae", 29},
		{"connectors[0].config.clientSecrett", 33},
		{"connectors[0].config.claimMapping.emial", 35},
		{"staticPasswords[0].hashh", 40},
	}, got)

	byKey := map[string]config.Warning{}
	for _, w := range warnings {
		byKey[w.Key] = w
	}
	assert.Equal(t, `line 1: unknown key "isuer" (did you mean "issuer"?); Dex ignores it`, byKey["isuer"].String())
	assert.Contains(t, byKey["connectors[0].config.clientSecrett"].Message, `did you mean "clientSecret"?`)
	assert.Contains(t, byKey["staticClients[0].secertEnv"].Message, `did you mean "secretEnv"?`)
	assert.Equal(t, 5, byKey["storage.config.fiel"].Column)
}

func TestUnknownKeysInSpectroCloudConnector(t *testing.T) {
	yaml := withMemory + `
connectors:
- type: spectrocloud
  id: palette
  name: Palette
  config:
    tenant: t1
    clientID: a
    clientSecret: b
    redirectURI: http://127.0.0.1:5556/dex/callback
    claimMapping:
      groups: teams
    signIn:
      resolvers:
        - resolver: emailLocalPartMatchingUserEntityName
          allowedDomains: [example.com]
`
	_, warnings, err := config.Load([]byte(yaml), config.Options{Strict: true})
	require.NoError(t, err)
	assert.Empty(t, warnings)

	// The connector rejects unknown keys itself; the warning adds the line.
	bad := withMemory + `
connectors:
- type: spectrocloud
  id: palette
  name: Palette
  config:
    tenat: t1
`
	_, warnings, err = config.Load([]byte(bad), config.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `connector "palette"`)
	require.Len(t, warnings, 1)
	assert.Equal(t, "connectors[0].config.tenat", warnings[0].Key)
	assert.Equal(t, 14, warnings[0].Line)
	assert.Contains(t, warnings[0].Message, `did you mean "tenant"?`)
}
