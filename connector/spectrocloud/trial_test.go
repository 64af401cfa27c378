package spectrocloud

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
)

// trialSignIn runs a trial sign-in against the fixture's tenant and returns
// the report and the authorization URL.
func trialSignIn(t *testing.T, f *fixture) (*TrialReport, *url.URL) {
	t.Helper()
	trial, err := f.cfg.OpenTrial("palette", nil)
	require.NoError(t, err)
	assert.Equal(t, testRedirectURI, trial.RedirectURI())
	authURL, pending, err := trial.Start(context.Background(), testState)
	require.NoError(t, err)
	au, err := url.Parse(authURL)
	require.NoError(t, err)
	assert.Equal(t, testState, au.Query().Get("state"))
	cb, err := f.tenant.Authorize(context.Background(), authURL)
	require.NoError(t, err)
	return trial.Finish(context.Background(), pending, cb), au
}

func TestTrialReport(t *testing.T) {
	f := newFixture(t)
	rep, au := trialSignIn(t, f)
	require.NoError(t, rep.Err)

	assert.Equal(t, f.tenant.Issuer(), rep.Endpoints.Issuer)
	assert.Equal(t, EndpointSources{Issuer: "tenant and consoleURL", AuthURL: "discovery", TokenURL: "discovery", JWKSURL: "discovery"}, rep.Sources)
	assert.Equal(t, ClientAuthReport{Method: authMethodPost, Choice: authChosenByDiscoveryPost, Accepted: true}, rep.ClientAuth)
	assert.Equal(t, "S256", rep.PKCE)
	assert.Equal(t, NonceReport{Echoed: true, Matches: true}, rep.Nonce)

	require.NotNil(t, rep.Token)
	assert.Equal(t, "RS256", rep.Token.Algorithm)
	assert.Equal(t, f.tenant.SigningKeyID(), rep.Token.KeyID)
	assert.True(t, rep.Token.Verified)
	assert.Equal(t, spectrotest.DefaultIDTokenLifetime, rep.Token.Expiry.Sub(rep.Token.IssuedAt))
	claims := map[string]ClaimShape{}
	for _, c := range rep.Token.Claims {
		claims[c.Name] = c
	}
	assert.Equal(t, ClaimShape{Name: "groups", Shape: "list of 2 strings", Value: `["admins", "devs"]`}, claims["groups"])
	assert.Equal(t, ClaimShape{Name: "email", Shape: "string", Value: `"jane@example.com"`}, claims["email"])
	assert.Equal(t, ClaimShape{Name: "nonce", Shape: "string"}, claims["nonce"], "the nonce's value is not shown")
	assert.Equal(t, ClaimShape{Name: "tenant", Shape: "string"}, claims["tenant"], "custom claims are shown by shape only")

	require.NotNil(t, rep.Identity)
	assert.Equal(t, TrialIdentity{UserID: "user-jane", Username: "Jane Doe", Email: "jane@example.com", EmailVerified: true,
		Groups: []string{"admins", "devs"}}, *rep.Identity)

	// The report holds no token material: no JWT, no nonce, no verifier.
	dump := fmt.Sprintf("%+v %+v %+v", rep, *rep.Token, *rep.Identity)
	b, err := json.Marshal(rep)
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
func TestTrialReportUnverifiedToken(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetIDTokenMint(spectrotest.WithForeignKey())
	rep, _ := trialSignIn(t, f)
	var invalid *InvalidTokenError
	require.ErrorAs(t, rep.Err, &invalid)
	require.NotNil(t, rep.Token)
	assert.False(t, rep.Token.Verified)
	assert.Equal(t, "RS256", rep.Token.Algorithm)
	assert.Nil(t, rep.Identity)
}

// A failed token request is reported with the method that was refused, and
// no token.
func TestTrialReportRefusedClient(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.BasicAuthUnsupported = boolPtr(true) })
	f.tenant.SetTokenAuthMethods(spectrotest.AuthMethodBasic)
	rep, _ := trialSignIn(t, f)
	require.Error(t, rep.Err)
	assert.Equal(t, authMethodPost, rep.ClientAuth.Method)
	assert.Equal(t, authChosenByConfigPost, rep.ClientAuth.Choice)
	assert.False(t, rep.ClientAuth.Accepted)
	assert.Contains(t, rep.ClientAuth.Refusal, "Palette refused the client credentials sent with client_secret_post (invalid_client")
	assert.Contains(t, rep.ClientAuth.Advice, "set basicAuthUnsupported: false")
	assert.Nil(t, rep.Token)
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
		rep := describeIDToken(raw, claimRules{}, false)
		assert.NotNil(t, rep)
		assert.Empty(t, rep.Claims)
	}
}

// A token refused only for its missing nonce did pass verification.
func TestTrialReportMissingNonce(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetEchoNonce(false)
	rep, _ := trialSignIn(t, f)
	require.Error(t, rep.Err)
	assert.Contains(t, rep.Err.Error(), "insecureAllowMissingNonce")
	require.NotNil(t, rep.Token)
	assert.True(t, rep.Token.Verified)
	assert.Equal(t, NonceReport{}, rep.Nonce)
}
