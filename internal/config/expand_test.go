package config_test

import (
	"errors"
	"testing"

	"github.com/dexidp/dex/connector/oidc"
	"github.com/dexidp/dex/storage/sql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

const expandYAML = `
issuer: http://127.0.0.1:5556/$NOT_EXPANDED
web:
  http: 127.0.0.1:5556
storage:
  type: postgres
  config:
    host: ${PG_HOST}
    port: 5432
    password: $PG_PASSWORD
connectors:
- type: oidc
  id: o
  name: $NOT_EXPANDED
  config:
    issuer: https://idp.example.com
    clientID: ${CLIENT_ID}
    clientSecret: $CLIENT_SECRET
    scopes: [openid, $EXTRA_SCOPE]
    claimModifications:
      newGroupFromClaims:
        - claims: [$CLAIM]
          prefix: p
`

// $VAR and ${VAR} are expanded inside the config blocks of storage and
// connectors, values with JSON special characters included, and nowhere
// else, as in Dex.
func TestEnvExpansion(t *testing.T) {
	for k, v := range map[string]string{
		"PG_HOST":       "db.example.com",
		"PG_PASSWORD":   `p"a\ss`,
		"CLIENT_ID":     "client",
		"CLIENT_SECRET": "se$cret",
		"EXTRA_SCOPE":   "groups",
		"CLAIM":         "org",
		"NOT_EXPANDED":  "oops",
	} {
		t.Setenv(k, v)
	}
	c, _, err := config.Load([]byte(expandYAML), config.Options{})
	require.NoError(t, err)

	pg := c.Storage.Config.(*sql.Postgres)
	assert.Equal(t, "db.example.com", pg.Host)
	assert.Equal(t, uint16(5432), pg.Port)
	assert.Equal(t, `p"a\ss`, pg.Password)

	o := c.StaticConnectors[0].Config.(*oidc.Config)
	assert.Equal(t, "client", o.ClientID)
	assert.Equal(t, "se$cret", o.ClientSecret, "expansion is not applied twice")
	assert.Equal(t, []string{"openid", "groups"}, o.Scopes)
	assert.Equal(t, []string{"org"}, o.ClaimMutations.NewGroupFromClaims[0].Claims)

	assert.Equal(t, "http://127.0.0.1:5556/$NOT_EXPANDED", c.Issuer)
	assert.Equal(t, "$NOT_EXPANDED", c.StaticConnectors[0].Name)
}

// DEX_EXPAND_ENV=false keeps every $ literally.
func TestEnvExpansionDisabled(t *testing.T) {
	t.Setenv("DEX_EXPAND_ENV", "false")
	t.Setenv("CLIENT_SECRET", "from-env")
	c, _, err := config.Load([]byte(expandYAML), config.Options{})
	require.NoError(t, err)
	assert.Equal(t, "$CLIENT_SECRET", c.StaticConnectors[0].Config.(*oidc.Config).ClientSecret)
	assert.Equal(t, "${PG_HOST}", c.Storage.Config.(*sql.Postgres).Host)
}

// Command-line overrides and Dex's start-up defaults are applied before
// validation.
func TestLoadAppliesOverridesAndDefaults(t *testing.T) {
	t.Setenv("DEX_FRONTEND_DIR", "/srv/web")
	yaml := "issuer: http://x/dex\nstorage: {type: memory}\n"
	c, _, err := config.Load([]byte(yaml), config.Options{Overrides: config.Overrides{
		WebHTTP: "127.0.0.1:1", Telemetry: "127.0.0.1:2", GRPC: "127.0.0.1:3",
	}})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:1", c.Web.HTTP)
	assert.Equal(t, "127.0.0.1:2", c.Telemetry.HTTP)
	assert.Equal(t, "127.0.0.1:3", c.GRPC.Addr)
	assert.Equal(t, "/srv/web", c.Frontend.Dir)
	assert.Contains(t, c.OAuth2.GrantTypes, "urn:ietf:params:oauth:grant-type:token-exchange")
}

// A variable that the environment does not set leaves its value empty, as in
// Dex, and is named: in a warning, and in errors about its config block.
func TestUnsetEnvIsNamed(t *testing.T) {
	t.Setenv("CLIENT_ID", "client")
	c, warnings, err := config.Load([]byte(expandYAML), config.Options{})
	require.NoError(t, err)
	var messages []string
	for _, w := range warnings {
		assert.Empty(t, w.Key, "not an unknown key")
		messages = append(messages, w.Message)
	}
	assert.Equal(t, []string{
		"storage.config.host: $PG_HOST is not set in the environment, so the value is empty",
		"storage.config.password: $PG_PASSWORD is not set in the environment, so the value is empty",
		"connectors[0].config.claimModifications.newGroupFromClaims[0].claims[0]: $CLAIM is not set in the environment, so the value is empty",
		"connectors[0].config.clientSecret: $CLIENT_SECRET is not set in the environment, so the value is empty",
		"connectors[0].config.scopes[1]: $EXTRA_SCOPE is not set in the environment, so the value is empty",
	}, messages)

	err = c.StaticConnectors[0].ExplainUnset(errors.New("clientSecret is required"))
	assert.EqualError(t, err, "clientSecret is required: not set in the environment: $CLAIM (claimModifications.newGroupFromClaims[0].claims[0]), $CLIENT_SECRET (clientSecret), $EXTRA_SCOPE (scopes[1])")
	assert.NoError(t, c.ExplainUnset(nil))
	assert.Contains(t, c.ExplainUnset(errors.New("x")).Error(), "$PG_PASSWORD (storage.config.password)")
}
