package spectrotest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDiscovery(t *testing.T) {
	f := newFixture(t)
	res, body := get(t, f, f.tenant.DiscoveryURL())
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))

	var doc map[string]any
	require.NoError(t, json.Unmarshal(body, &doc))
	iss := f.tenant.Issuer()
	assert.Equal(t, iss, doc["issuer"])
	assert.Equal(t, iss+"/auth", doc["authorization_endpoint"])
	assert.Equal(t, iss+"/token", doc["token_endpoint"])
	assert.Equal(t, f.tenant.JWKSURL(), doc["jwks_uri"])
	assert.Equal(t, []any{"code"}, doc["response_types_supported"])
	assert.Equal(t, []any{"public"}, doc["subject_types_supported"])
	assert.Equal(t, []any{"RS256"}, doc["id_token_signing_alg_values_supported"])
	assert.Contains(t, doc["scopes_supported"], "openid")
	assert.Equal(t, []any{"client_secret_basic", "client_secret_post"}, doc["token_endpoint_auth_methods_supported"])
	assert.Contains(t, doc["claims_supported"], "groups")
	assert.NotContains(t, doc, "code_challenge_methods_supported")
	assert.NotContains(t, doc, "userinfo_endpoint")

	f.tenant.SetDiscovery(false)
	res, _ = get(t, f, f.tenant.DiscoveryURL())
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	f.tenant.SetDiscovery(true)
	res, _ = get(t, f, f.tenant.DiscoveryURL())
	assert.Equal(t, http.StatusOK, res.StatusCode)

	resp, err := f.srv.Client().Post(f.tenant.DiscoveryURL(), "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestJWKS(t *testing.T) {
	f := newFixture(t)
	first := f.tenant.SigningKeyID()

	set := fetchJWKS(t, f, f.tenant)
	require.Len(t, set.Keys, 1)
	key := set.Keys[0]
	assert.Equal(t, first, key.KeyID)
	assert.Equal(t, "RS256", key.Algorithm)
	assert.Equal(t, "sig", key.Use)
	assert.True(t, key.IsPublic())
	assert.True(t, key.Valid())
	assert.Equal(t, []string{first}, f.tenant.PublishedKeyIDs())
	require.NotNil(t, f.tenant.PublicKey(first))
	assert.Equal(t, 2048, f.tenant.PublicKey(first).N.BitLen())

	// Rotation: the new key signs, both are published.
	second := f.tenant.RotateKey()
	assert.NotEqual(t, first, second)
	assert.Equal(t, second, f.tenant.SigningKeyID())
	set = fetchJWKS(t, f, f.tenant)
	assert.Len(t, set.Keys, 2)
	assert.Len(t, set.Key(first), 1)
	assert.Len(t, set.Key(second), 1)
	tok := f.tenant.MintIDToken(map[string]any{"sub": "x"})
	assert.Equal(t, second, header(t, tok)["kid"])
	_, err := verifyWithJWKS(set, tok, "RS256")
	require.NoError(t, err)

	// Removal of the old key.
	f.tenant.RemoveKey(first)
	set = fetchJWKS(t, f, f.tenant)
	require.Len(t, set.Keys, 1)
	assert.Equal(t, second, set.Keys[0].KeyID)
	assert.Nil(t, f.tenant.PublicKey(first))

	// A withdrawn key still signs tokens minted with it, and can be
	// published again, as by a stale cache.
	forged := f.tenant.MintIDToken(map[string]any{"sub": "x"}, WithKey(first))
	assert.Equal(t, first, header(t, forged)["kid"])
	_, err = verifyWithJWKS(set, forged, "RS256")
	assert.ErrorIs(t, err, errNoKey)
	f.tenant.RepublishKey(first)
	_, err = verifyWithJWKS(fetchJWKS(t, f, f.tenant), forged, "RS256")
	require.NoError(t, err)
	f.tenant.RemoveKey(first)
	assert.Panics(t, func() { f.tenant.MintIDToken(map[string]any{"sub": "x"}, WithKey("never")) })

	// Removing the signing key withdraws it, but it still signs.
	f.tenant.RemoveKey(second)
	assert.Empty(t, fetchJWKS(t, f, f.tenant).Keys)
	assert.Equal(t, second, f.tenant.SigningKeyID())
	_, err = verifyWithJWKS(fetchJWKS(t, f, f.tenant), f.tenant.MintIDToken(map[string]any{"sub": "x"}), "RS256")
	assert.ErrorIs(t, err, errNoKey)
	f.tenant.RemoveKey("unknown") // ignored
}

// The discovery document in the shape of Palette's published API schema:
// lists as strings, userinfo and registration endpoints, and neither
// client authentication methods nor signing algorithms.
func TestSchemaShapedDiscovery(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetAdvertisedTokenAuthMethods(AuthMethodBasic)
	f.tenant.SetSchemaShapedDiscovery(true)
	iss := f.tenant.Issuer()
	assert.Equal(t, map[string]any{
		"issuer":                   iss,
		"authorization_endpoint":   iss + "/auth",
		"token_endpoint":           iss + "/token",
		"userinfo_endpoint":        iss + "/userinfo",
		"jwks_uri":                 iss + "/keys",
		"registration_endpoint":    iss + "/register",
		"scopes_supported":         "openid profile email",
		"response_types_supported": "code",
		"subject_types_supported":  "public",
		"claims_supported":         "iss aud sub iat exp email given_name family_name groups nonce",
	}, discoveryDoc(t, f))

	f.tenant.SetSchemaShapedDiscovery(false)
	doc := discoveryDoc(t, f)
	assert.Equal(t, []any{"code"}, doc["response_types_supported"])
	assert.Equal(t, []any{AuthMethodBasic}, doc["token_endpoint_auth_methods_supported"])
}

func TestJWKSMaxAge(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		maxAge time.Duration
		want   string
	}{
		{0, ""},
		{5 * time.Minute, "max-age=300"},
		{time.Hour, "max-age=3600"},
		{0, ""},
	}
	for _, tt := range tests {
		f.tenant.SetJWKSMaxAge(tt.maxAge)
		res, _ := get(t, f, f.tenant.JWKSURL())
		assert.Equal(t, tt.want, res.Header.Get("Cache-Control"), "max age %v", tt.maxAge)
	}
}
