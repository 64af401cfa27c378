package spectrocloud

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/dexidp/dex/connector"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/probe"
)

// probeSignIn runs a sign-in through a connector opened by Probe against
// the fixture's tenant, as check --sign-in does, and returns what the
// connector recorded, the identity or the error, and the authorization URL.
func probeSignIn(t *testing.T, f *fixture) (*probe.SignIn, connector.Identity, error, *url.URL) {
	t.Helper()
	ctx := context.Background()
	p, err := f.cfg.Probe("palette", nil)
	require.NoError(t, err)
	assert.Equal(t, testRedirectURI, p.SignInSettings().RedirectURI)
	authURL, connData, err := p.LoginURL(allScopes, testRedirectURI, testState)
	require.NoError(t, err)
	au, err := url.Parse(authURL)
	require.NoError(t, err)
	assert.Equal(t, testState, au.Query().Get("state"))
	cb, err := f.tenant.Authorize(ctx, authURL)
	require.NoError(t, err)
	ctx, rec := probe.WithSignIn(ctx)
	id, err := p.HandleCallback(allScopes, connData, httptest.NewRequestWithContext(ctx, http.MethodGet, cb.String(), nil))
	return rec, id, err, au
}

func TestProbeSignIn(t *testing.T) {
	f := newFixture(t)
	rec, id, err, au := probeSignIn(t, f)
	require.NoError(t, err)

	p, err := f.cfg.Probe("palette", nil)
	require.NoError(t, err)
	e, err := p.Endpoints(context.Background())
	require.NoError(t, err)
	assert.Equal(t, f.tenant.Issuer(), e.Issuer)
	assert.Equal(t, probe.Sources{Issuer: "tenant and consoleURL", AuthURL: "discovery", TokenURL: "discovery", JWKSURL: "discovery"}, e.Sources)
	assert.Equal(t, probe.SignInSettings{RedirectURI: testRedirectURI, PKCE: "S256"}, p.SignInSettings())
	require.NotNil(t, rec.ClientAuth)
	assert.Equal(t, probe.ClientAuth{Method: authMethodPost, Choice: authChosenByDiscoveryPost, Accepted: true}, *rec.ClientAuth)

	require.NotNil(t, rec.Token)
	assert.True(t, rec.Token.NonceEchoed)
	assert.True(t, rec.Token.NonceMatches)
	assert.Equal(t, "RS256", rec.Token.Algorithm)
	assert.Equal(t, f.tenant.SigningKeyID(), rec.Token.KeyID)
	assert.True(t, rec.Token.Verified)
	assert.Equal(t, spectrotest.DefaultIDTokenLifetime, rec.Token.Expiry.Sub(rec.Token.IssuedAt))
	claims := map[string]probe.Claim{}
	for _, c := range rec.Token.Claims {
		claims[c.Name] = c
	}
	assert.Equal(t, probe.Claim{Name: "groups", Shape: "list of 2 strings", Value: `["admins", "devs"]`}, claims["groups"])
	assert.Equal(t, probe.Claim{Name: "email", Shape: "string", Value: `"jane@example.com"`}, claims["email"])
	assert.Equal(t, probe.Claim{Name: "nonce", Shape: "string"}, claims["nonce"], "the nonce's value is not shown")
	assert.Equal(t, probe.Claim{Name: "tenant", Shape: "string"}, claims["tenant"], "custom claims are shown by shape only")
	assert.Equal(t, "user-jane", id.UserID)

	// What the connector records holds no token material: no JWT, no
	// nonce, no verifier.
	dump := fmt.Sprintf("%+v %+v %+v", rec, *rec.Token, *rec.ClientAuth)
	b, err := json.Marshal(rec)
	require.NoError(t, err)
	for _, s := range []string{dump, string(b)} {
		assert.NotContains(t, s, "eyJ")
		assert.NotContains(t, s, au.Query().Get("nonce"))
		assert.NotContains(t, s, testClientSecret)
	}
	assert.Equal(t, 1, f.tenant.CodeRedemptions())
}

// A token that fails verification is still described, marked as not
// verified, and the sign-in is refused.
func TestProbeSignInUnverifiedToken(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetIDTokenMint(spectrotest.WithForeignKey())
	rec, _, err, _ := probeSignIn(t, f)
	var invalid *InvalidTokenError
	require.ErrorAs(t, err, &invalid)
	require.NotNil(t, rec.Token)
	assert.False(t, rec.Token.Verified)
	assert.Equal(t, "RS256", rec.Token.Algorithm)
}

// A failed token request is recorded with the method that was refused, and
// no token.
func TestProbeSignInRefusedClient(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.BasicAuthUnsupported = boolPtr(true) })
	f.tenant.SetTokenAuthMethods(spectrotest.AuthMethodBasic)
	rec, _, err, _ := probeSignIn(t, f)
	require.Error(t, err)
	require.NotNil(t, rec.ClientAuth)
	assert.Equal(t, authMethodPost, rec.ClientAuth.Method)
	assert.Equal(t, authChosenByConfigPost, rec.ClientAuth.Choice)
	assert.False(t, rec.ClientAuth.Accepted)
	assert.Contains(t, rec.ClientAuth.Refusal, "Palette refused the client credentials sent with client_secret_post (basicAuthUnsupported: true): invalid_client")
	assert.Contains(t, rec.ClientAuth.Advice, "set basicAuthUnsupported: false")
	assert.Nil(t, rec.Token)
}

// Endpoints say where each came from: configuration keys, discovery or
// Palette's layout.
func TestProbeEndpointSources(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.ConsoleURL, c.Issuer = "", ""
		c.ProviderDiscoveryOverrides.TokenURL = "http://127.0.0.1:1/token"
	})
	f.cfg.Issuer, f.cfg.Tenant = f.tenant.Issuer(), ""
	p, err := f.cfg.Probe("palette", nil)
	require.NoError(t, err)
	e, err := p.Endpoints(context.Background())
	require.NoError(t, err)
	assert.Equal(t, probe.Sources{Issuer: "issuer", AuthURL: "discovery", TokenURL: "providerDiscoveryOverrides.tokenURL", JWKSURL: "discovery"}, e.Sources)

	f.cfg.Tenant, f.cfg.Issuer = testTenant, ""
	p, err = f.cfg.Probe("palette", nil)
	require.NoError(t, err)
	assert.Equal(t, "tenant, with the default consoleURL "+defaultConsoleURL, p.(*probed).sources(nil).Issuer)
	assert.Equal(t, "Palette's layout, <issuer>/auth", p.(*probed).sources(nil).AuthURL)
}

func TestShapeOf(t *testing.T) {
	tests := []struct {
		json, want string
	}{
		{`"x"`, "string"},
		{`true`, "boolean"},
		{`12`, "number"},
		{`null`, "null"},
		{`{"a":1}`, "object (1 keys)"},
		{`[]`, "empty list"},
		{`["a","b"]`, "list of 2 strings"},
		{`[{"name":"a"}]`, "list of 1 objects"},
		{`["a",1]`, "list of 2 mixed values"},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			var v any
			require.NoError(t, decodeSegment(b64url([]byte(tt.json)), &v))
			assert.Equal(t, tt.want, shapeOf(v))
		})
	}
}

func TestDescribeIDTokenBadInput(t *testing.T) {
	for _, raw := range []string{"", "a.b", "!!.!!.!!", b64url([]byte(`{"alg":"RS256"}`)) + ".!!.x"} {
		rep := describeIDToken(raw, claimRules{}, false, "nonce")
		assert.NotNil(t, rep)
		assert.Empty(t, rep.Claims)
	}
}

// A token refused only for its missing nonce did pass verification.
func TestProbeSignInMissingNonce(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetEchoNonce(false)
	rec, _, err, _ := probeSignIn(t, f)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "insecureAllowMissingNonce")
	require.NotNil(t, rec.Token)
	assert.True(t, rec.Token.Verified)
	assert.False(t, rec.Token.NonceEchoed)
	assert.False(t, rec.Token.NonceMatches)
}
