package serve_test

import (
	"context"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// Two servers sharing one PostgreSQL database act as one: a user signs in
// on the first and the refresh token is redeemed on the second, whose keys
// verify the new ID token.
func TestTwoServersShareAPostgresDatabase(t *testing.T) {
	storage := dextest.NewPostgres(t).Storage()
	ctx := context.Background()

	first := startDex(t, basicConfig(storage), "")
	// Replicas share the issuer URL; the second one listens elsewhere.
	secondConfig := basicConfig(storage)
	secondConfig.Issuer = first.Issuer
	second := startDex(t, secondConfig, "")
	require.Equal(t, first.Issuer, second.Issuer)
	require.NotEqual(t, first.Addrs.HTTP, second.Addrs.HTTP)

	rp, err := dextest.NewRelyingParty(ctx, first.Issuer, "app", "app-secret", rpRedirect)
	require.NoError(t, err)
	b := passwordBrowser()
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
