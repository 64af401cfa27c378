package serve_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// A refresh token survives a restart on the same sqlite3 file: shutdown
// leaves the database complete, and the next server picks it up.
func TestRefreshAfterRestartOnSQLite(t *testing.T) {
	ctx := context.Background()
	template := basicConfig(sqlite(filepath.Join(t.TempDir(), "dex.db")))

	first := startDex(t, template, "")
	rp, err := dextest.NewRelyingParty(ctx, first.Issuer, "app", "app-secret", rpRedirect)
	require.NoError(t, err)
	b := passwordBrowser()
	signedIn, err := rp.SignIn(ctx, b)
	require.NoError(t, err)
	require.NotEmpty(t, signedIn.OAuth2.RefreshToken)
	require.NoError(t, first.Stop())
	// The relying party would otherwise reuse a kept-alive connection to the
	// stopped process, and a POST on it fails with EOF.
	rp.HTTPClient.CloseIdleConnections()

	// Same address, so the same issuer; new process state, same file.
	second := startDex(t, template, first.Addrs.HTTP)
	require.Equal(t, first.Issuer, second.Issuer)

	refreshed, err := rp.Refresh(ctx, signedIn.OAuth2.RefreshToken)
	require.NoError(t, err)
	assert.Equal(t, signedIn.IDToken.Subject, refreshed.IDToken.Subject)
	assert.Equal(t, "jane@example.com", refreshed.Claims.Email)
	assert.NotEqual(t, signedIn.OAuth2.RefreshToken, refreshed.OAuth2.RefreshToken, "refresh tokens rotate")

	// The ID token is signed with a key the first server created and
	// stored: the signing keys were persisted too.
	assert.Equal(t, signedIn.IDToken.Issuer, refreshed.IDToken.Issuer)
}
