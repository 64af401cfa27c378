package serve_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// postgresDSNEnv names the variable holding the PostgreSQL test database,
// as a URL: postgres://user:password@host:port/database?sslmode=disable
const postgresDSNEnv = "DEX_SPECTRO_TEST_POSTGRES_DSN"

// postgresStorage returns a storage section for the test database, or skips
// the test when none is configured (and fails it in CI).
func postgresStorage(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(postgresDSNEnv)
	if dsn == "" {
		msg := postgresDSNEnv + " is not set; set it to a PostgreSQL URL such as " +
			"postgres://dex:dex@127.0.0.1:5432/dex_test?sslmode=disable to run this test"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	u, err := url.Parse(dsn)
	require.NoError(t, err, "parse %s", postgresDSNEnv)
	require.Contains(t, []string{"postgres", "postgresql"}, u.Scheme, "%s must be a postgres:// URL", postgresDSNEnv)
	password, _ := u.User.Password()
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	mode := u.Query().Get("sslmode")
	if mode == "" {
		mode = "disable"
	}
	return fmt.Sprintf(`storage:
  type: postgres
  config:
    host: %q
    port: %s
    database: %q
    user: %q
    password: %q
    ssl:
      mode: %q
`, u.Hostname(), port, strings.TrimPrefix(u.Path, "/"), u.User.Username(), password, mode)
}

// Two servers sharing one PostgreSQL database act as one: a user signs in
// on the first and the refresh token is redeemed on the second, whose keys
// verify the new ID token.
func TestTwoServersShareAPostgresDatabase(t *testing.T) {
	storage := postgresStorage(t)
	ctx := context.Background()

	first := startDex(t, withStorage(basicConfig, storage), "")
	// Replicas share the issuer URL; the second one listens elsewhere.
	secondTemplate := strings.Replace(withStorage(basicConfig, storage), "issuer: ISSUER_URL", "issuer: "+first.Issuer, 1)
	second := startDex(t, secondTemplate, "")
	require.Equal(t, first.Issuer, second.Issuer)
	require.NotEqual(t, first.Addrs.HTTP, second.Addrs.HTTP)

	rp, err := dextest.NewRelyingParty(ctx, first.Issuer, "app", "app-secret", rpRedirect)
	require.NoError(t, err)
	b := dextest.NewBrowser()
	b.Connector, b.Login, b.Password = "Email", "jane@example.com", "s3cret-pass"
	signedIn, err := rp.SignIn(ctx, b)
	require.NoError(t, err)

	// Send the refresh to the second server and verify with its keys.
	secondURL := "http://" + second.Addrs.HTTP + "/dex"
	rp.OAuth2.Endpoint.TokenURL = secondURL + "/token"
	rp.Verifier = oidc.NewVerifier(first.Issuer, oidc.NewRemoteKeySet(ctx, secondURL+"/keys"), &oidc.Config{ClientID: "app"})
	refreshed, err := rp.Refresh(ctx, signedIn.OAuth2.RefreshToken)
	require.NoError(t, err)
	assert.Equal(t, signedIn.IDToken.Subject, refreshed.IDToken.Subject)
	assert.Equal(t, "jane@example.com", refreshed.Claims.Email)

}
