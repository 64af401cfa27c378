package check_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/check"
	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// configFor is a configuration with one spectrocloud connector for tenant;
// extra, a YAML mapping, adds keys to the connector's configuration.
func configFor(t *testing.T, srv *spectrotest.Server, tenant *spectrotest.Tenant, extra string) *config.Config {
	t.Helper()
	yaml, err := dextest.DexConfig{
		Issuer: "https://dex.example.com/dex", HTTP: "127.0.0.1:5556",
		Connectors: []dextest.ConnectorFunc{dextest.SpectroCloud("palette", srv.URL, tenant.UID(), dextest.YAMLMap(extra))},
	}.YAML()
	require.NoError(t, err)
	cfg, _, err := config.Load(yaml, config.Options{Strict: true})
	require.NoError(t, err, "%s", yaml)
	return cfg
}

// Key IDs come from Palette's key set: check prints them so that none can
// move the cursor, rewrite the terminal or start a line of its own.
func TestKeyIDsPrintedClean(t *testing.T) {
	srv := spectrotest.NewServer()
	t.Cleanup(srv.Close)
	tenant := srv.AddTenant(dextest.TenantUID)
	pub := tenant.PublicKey(tenant.SigningKeyID())
	hostile := "k1\x1b[2J\x1b]0;pwned\x07\nconnector \"palette\" (SpectroCloud): OK"
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: pub, KeyID: hostile, Algorithm: "RS256", Use: "sig"},
		{Key: pub, KeyID: "plain-kid", Algorithm: "RS256", Use: "sig"},
	}}
	body, err := json.Marshal(set)
	require.NoError(t, err)
	tenant.SetFault(spectrotest.EndpointJWKS, spectrotest.Fault{Status: 200, ContentType: "application/json", Body: body})

	results := check.Connectors(context.Background(), configFor(t, srv, tenant, ""), 10*time.Second)
	require.Len(t, results, 1)
	require.NoError(t, results[0].Err)
	var out bytes.Buffer
	require.NoError(t, check.Write(&out, results))

	printed := out.String()
	for _, c := range []string{"\x1b", "\x07", "\r"} {
		assert.NotContains(t, printed, c)
	}
	assert.Contains(t, printed, `signing key IDs:        "k1\x1b[2J\x1b]0;pwned\a\nconnector \"palette\" (SpectroCloud): OK", plain-kid`+"\n")
	assert.Equal(t, 1, strings.Count(printed, "): OK\n"), "no forged line")
}

// The connector's warnings are printed, each with the key it is about.
func TestWarningsPrinted(t *testing.T) {
	srv := spectrotest.NewServer()
	t.Cleanup(srv.Close)
	tenant := srv.AddTenant(dextest.TenantUID)
	cfg := configFor(t, srv, tenant, "signIn: {resolvers: [{resolver: emailLocalPartMatchingUserEntityName}]}")
	var out bytes.Buffer
	require.NoError(t, check.Write(&out, check.Connectors(context.Background(), cfg, 10*time.Second)))
	assert.Contains(t, out.String(), `connector "palette" (SpectroCloud): WARNING: signIn.resolvers[0].allowedDomains: `)
	assert.Contains(t, out.String(), "alice@any-domain")
}
