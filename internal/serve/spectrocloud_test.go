package serve_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// The authorization-code flow runs through Dex's real endpoints (login
// redirect, Palette, callback, approval page) to a relying party that
// verifies Dex's ID token; refreshing never calls Palette's token endpoint.
func TestSpectroCloudEndToEnd(t *testing.T) {
	ctx := context.Background()
	l := listen(t)
	dexIssuer := "http://" + l.Addr().String() + "/dex"
	palette, tenant := paletteFor(t, dexIssuer, spectrotest.User{
		Email:      "jane@example.com",
		GivenName:  "Jane",
		FamilyName: "Doe",
		Groups:     []string{"platform", "admins"},
		Claims:     map[string]any{"preferred_username": "jdoe", "tenant": "acme"},
	})

	var clock dextest.Clock // the connector's
	dex := harness.Start(t, spectroConfig(palette.URL), l, serve.WithConnectorClock(clock.Now))
	require.Equal(t, dexIssuer, dex.Issuer)

	rp, err := dextest.NewRelyingParty(ctx, dex.Issuer, "backstage", "backstage-secret", rpRedirect)
	require.NoError(t, err)
	tokens, err := rp.SignIn(ctx, dextest.NewBrowser())
	require.NoError(t, err)

	assert.Equal(t, dex.Issuer, tokens.IDToken.Issuer)
	assert.Equal(t, "jane@example.com", tokens.Claims.Email)
	assert.True(t, tokens.Claims.EmailVerified)
	assert.Equal(t, "Jane Doe", tokens.Claims.Name)
	assert.Equal(t, "jdoe", tokens.Claims.PreferredUsername)
	assert.Equal(t, []string{"platform", "admins", "spectrocloud:acme"}, tokens.Claims.Groups, "a group built from a custom claim")
	assert.Equal(t, "spectrocloud", tokens.Claims.FederatedClaims.ConnectorID)
	assert.Equal(t, 1, tenant.Requests(spectrotest.EndpointAuth))
	assert.Equal(t, 1, tenant.Requests(spectrotest.EndpointToken))
	require.NotEmpty(t, tokens.OAuth2.RefreshToken)

	refreshed, err := rp.Refresh(ctx, tokens.OAuth2.RefreshToken)
	require.NoError(t, err)
	assert.Equal(t, tokens.IDToken.Subject, refreshed.IDToken.Subject)
	assert.Equal(t, "jane@example.com", refreshed.Claims.Email)
	assert.Equal(t, []string{"platform", "admins", "spectrocloud:acme"}, refreshed.Claims.Groups)
	assert.Equal(t, 1, tenant.Requests(spectrotest.EndpointToken), "refresh makes no request to Palette's token endpoint")

	t.Run("token exchange of a Palette ID token", func(t *testing.T) {
		paletteToken := tenant.MintIDToken(tenant.Claims(tenant.Users()[0], "dex", ""))
		form := tokenExchangeForm(paletteToken, "openid email groups")
		status, body := postToken(t, dex.Issuer, "backstage", "backstage-secret", form)
		require.Equal(t, http.StatusOK, status, body)
		var resp struct {
			AccessToken     string `json:"access_token"`
			IssuedTokenType string `json:"issued_token_type"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &resp))
		assert.Equal(t, "urn:ietf:params:oauth:token-type:id_token", resp.IssuedTokenType)
		idToken, err := rp.Verifier.Verify(ctx, resp.AccessToken)
		require.NoError(t, err, "Dex's token verifies against Dex's keys")
		var claims dextest.Claims
		require.NoError(t, idToken.Claims(&claims))
		assert.Equal(t, "jane@example.com", claims.Email)

		form.Set("subject_token", paletteToken[:len(paletteToken)-4]+"AAAA")
		status, body = postToken(t, dex.Issuer, "backstage", "backstage-secret", form)
		assert.NotEqual(t, http.StatusOK, status, body)
	})

	t.Run("a refused sign-in shows the connector's reason", func(t *testing.T) {
		tenant.AddUser(spectrotest.User{Email: "carol@example.com", GivenName: "Carol",
			Claims: map[string]any{"email_verified": false}})
		tenant.SetAutoLogin("carol@example.com")
		t.Cleanup(func() { tenant.SetAutoLogin("jane@example.com") })
		_, err := rp.SignIn(ctx, dextest.NewBrowser())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "status 403", "a user who may not sign in gets 403, not Dex's 500")
	})

	t.Run("refresh fails with invalid_grant once the Palette ID token expired", func(t *testing.T) {
		tokenRequests := tenant.Requests(spectrotest.EndpointToken)
		clock.Advance(spectrotest.DefaultIDTokenLifetime + time.Minute)
		t.Cleanup(clock.Reset)
		_, err := rp.Refresh(ctx, refreshed.OAuth2.RefreshToken)
		var re *oauth2.RetrieveError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "invalid_grant", re.ErrorCode)
		assert.Contains(t, re.ErrorDescription, "sign in again")
		assert.Equal(t, tokenRequests, tenant.Requests(spectrotest.EndpointToken))
	})
}

// tokenExchangeForm asks Dex's token endpoint to exchange a Palette ID token,
// through the spectrocloud connector, for a Dex ID token.
func tokenExchangeForm(paletteToken, scope string) url.Values {
	return url.Values{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"connector_id":         {"spectrocloud"},
		"subject_token":        {paletteToken},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:id_token"},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:id_token"},
		"scope":                {scope},
	}
}

// postToken posts a form to Dex's token endpoint with client credentials.
func postToken(t *testing.T, issuer, clientID, secret string, form url.Values) (int, string) {
	t.Helper()
	status, body, err := dextest.PostToken(context.Background(), http.DefaultClient, issuer, clientID, secret, form)
	require.NoError(t, err)
	return status, body
}

// serve names the environment variable behind a value that start-up refuses.
func TestServeNamesUnsetVariables(t *testing.T) {
	l := listen(t)
	yaml, err := harness.For(spectroConfig("http://127.0.0.1:1", "clientSecret: ${DEX_SPECTRO_TEST_UNSET_SECRET}"), l).YAML()
	require.NoError(t, err)
	cfg, warnings, err := config.Load(yaml, config.Options{Strict: true})
	require.NoError(t, err)
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0].Message, "connectors[0].config.clientSecret: $DEX_SPECTRO_TEST_UNSET_SECRET is not set")
	_, err = serve.New(context.Background(), cfg, serve.WithListener(serve.ListenerHTTP, l), serve.WithLogger(testLogger(t)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "failed to open all connectors", "Dex logs the connector's reason, clientSecret is required")
	assert.Contains(t, err.Error(), "not set in the environment: $DEX_SPECTRO_TEST_UNSET_SECRET (connectors[0].config.clientSecret)")
}
