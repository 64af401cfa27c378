package spectrocloud

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
)

// Each case is an attack or a broken Palette answer at sign-in; every one
// must be refused with the error kind and message shown.
func TestLoginRefusesBadIDTokens(t *testing.T) {
	tests := []struct {
		name     string
		config   func(*Config)
		tenant   func(f *fixture)
		kind     TokenErrorKind // "" when another error type is expected
		expired  bool
		contains string
	}{
		{name: "alg none", tenant: func(f *fixture) { f.tenant.SetIDTokenMint(spectrotest.WithAlg("none")) },
			kind: KindMalformed, contains: "accepted algorithm (RS256)"},
		{name: "HS256 signed with the RSA public key", tenant: func(f *fixture) { f.tenant.SetIDTokenMint(spectrotest.WithHS256PublicKeyConfusion()) },
			kind: KindMalformed, contains: "accepted algorithm"},
		{name: "RS512 not listed by discovery", tenant: func(f *fixture) { f.tenant.SetIDTokenMint(spectrotest.WithAlg("RS512")) },
			kind: KindMalformed, contains: "accepted algorithm"},
		{name: "unknown kid that stays unknown", tenant: func(f *fixture) { f.tenant.SetIDTokenMint(spectrotest.WithKeyID("no-such-key")) },
			kind: KindUnknownKey, contains: `"no-such-key"`},
		{name: "signed by a key Palette does not publish", tenant: func(f *fixture) { f.tenant.SetIDTokenMint(spectrotest.WithForeignKey()) },
			kind: KindInvalidSignature, contains: "signature does not verify"},
		{name: "expired", tenant: func(f *fixture) {
			f.tenant.SetIDTokenHook(func(c map[string]any) { c["exp"] = f.clock.Now().Add(-time.Second).Unix() })
		}, expired: true, contains: "sign in again"},
		{name: "no exp", tenant: func(f *fixture) { f.tenant.SetIDTokenHook(func(c map[string]any) { delete(c, "exp") }) },
			kind: KindInvalidClaims, contains: "has no exp claim"},
		{name: "iat in the future", tenant: func(f *fixture) {
			f.tenant.SetIDTokenHook(func(c map[string]any) { c["iat"] = f.clock.Now().Add(time.Hour).Unix() })
		}, kind: KindInvalidClaims, contains: "issued in the future"},
		{name: "nbf in the future", tenant: func(f *fixture) {
			f.tenant.SetIDTokenHook(func(c map[string]any) { c["nbf"] = f.clock.Now().Add(time.Hour).Unix() })
		}, kind: KindInvalidClaims, contains: "not valid before"},
		{name: "wrong iss", tenant: func(f *fixture) {
			f.tenant.SetIDTokenHook(func(c map[string]any) { c["iss"] = "https://evil.example.com/v1/oidc/tenant/" + testTenant })
		}, kind: KindInvalidClaims, contains: `issued by "https://evil.example.com`},
		{name: "wrong aud", tenant: func(f *fixture) { f.tenant.SetIDTokenHook(func(c map[string]any) { c["aud"] = "another-client" }) },
			kind: KindInvalidClaims, contains: `not for client "dex-client"`},
		{name: "several audiences without azp", tenant: func(f *fixture) {
			f.tenant.SetIDTokenHook(func(c map[string]any) { c["aud"] = []any{testClientID, "other"} })
		}, kind: KindInvalidClaims, contains: "no authorized party"},
		{name: "azp of another client", tenant: func(f *fixture) { f.tenant.SetIDTokenHook(func(c map[string]any) { c["azp"] = "other" }) },
			kind: KindInvalidClaims, contains: "authorized party (azp)"},
		{name: "missing nonce", tenant: func(f *fixture) { f.tenant.SetEchoNonce(false) },
			kind: KindInvalidClaims, contains: "insecureAllowMissingNonce: true"},
		{name: "wrong nonce", tenant: func(f *fixture) {
			f.tenant.SetIDTokenHook(func(c map[string]any) { c["nonce"] = "AAAAAAAAAAAAAAAAAAAAAA" })
		},
			kind: KindInvalidClaims, contains: "nonce does not match"},
		{name: "wrong nonce even with the escape hatch", config: func(c *Config) { c.InsecureAllowMissingNonce = true },
			tenant: func(f *fixture) {
				f.tenant.SetIDTokenHook(func(c map[string]any) { c["nonce"] = "AAAAAAAAAAAAAAAAAAAAAA" })
			},
			kind: KindInvalidClaims, contains: "nonce does not match"},
		{name: "missing email", tenant: func(f *fixture) { f.tenant.SetIDTokenHook(func(c map[string]any) { delete(c, "email") }) },
			contains: `claim "email" is missing`},
		{name: "unverified email", tenant: func(f *fixture) { f.tenant.SetIDTokenHook(func(c map[string]any) { c["email_verified"] = false }) },
			contains: "not verified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.config != nil {
				tt.config(&f.cfg)
			}
			tt.tenant(f)
			_, err := f.login(f.open(), allScopes)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.contains)
			var invalid *InvalidTokenError
			switch {
			case tt.expired:
				var expired *TokenExpiredError
				require.ErrorAs(t, err, &expired)
			case tt.kind != "":
				require.ErrorAs(t, err, &invalid)
				assert.Equal(t, tt.kind, invalid.Kind)
			default:
				var claimErr *ClaimError
				require.ErrorAs(t, err, &claimErr)
			}
		})
	}
}

func TestUnknownKidRefetchesAtMostOnce(t *testing.T) {
	f := newFixture(t)
	c := f.open()
	_, err := f.login(c, allScopes) // warms the key cache
	require.NoError(t, err)
	require.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointJWKS))

	f.clock.Advance(minRefetchInterval)
	claims := f.tenant.Claims(jane, testClientID, "")
	for i := 0; i < 100; i++ {
		junk := f.tenant.MintIDToken(claims, spectrotest.WithKeyID("junk-"+string(rune('a'+i%26))+strings.Repeat("x", i)))
		_, err := c.TokenIdentity(context.Background(), tokenTypeIDToken, junk)
		var invalid *InvalidTokenError
		require.ErrorAs(t, err, &invalid)
		require.Equal(t, KindUnknownKey, invalid.Kind)
	}
	assert.Equal(t, 2, f.tenant.Requests(spectrotest.EndpointJWKS), "a flood of unknown kids causes one refetch per interval")
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	c := f.open()
	oldKid := f.tenant.SigningKeyID()
	oldSession, err := f.login(c, allScopes)
	require.NoError(t, err)

	// Palette rotates: the new key signs, the old one is still published.
	f.tenant.RotateKey()
	f.clock.Advance(minRefetchInterval)
	f.tenant.ResetRequests()
	newSession, err := f.login(c, allScopes)
	require.NoError(t, err, "a token with the new kid triggers a refetch")
	assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointJWKS))
	_, err = c.Refresh(context.Background(), allScopes, oldSession)
	require.NoError(t, err, "old sessions keep refreshing while their key is published")
	_, err = c.Refresh(context.Background(), allScopes, newSession)
	require.NoError(t, err)
	assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointJWKS), "no more fetches while the keys are fresh")

	// Palette withdraws the old key: once the cached JWKS is stale, the
	// refetch drops it and its sessions end.
	f.tenant.RemoveKey(oldKid)
	f.clock.Advance(defaultKeysTTL)
	_, err = c.Refresh(context.Background(), allScopes, oldSession)
	var again *SignInAgainError
	require.ErrorAs(t, err, &again)
	assert.Contains(t, err.Error(), "sign in again")
	_, err = c.Refresh(context.Background(), allScopes, newSession)
	require.NoError(t, err)
}

func TestKeysFailStatic(t *testing.T) {
	f := newFixture(t)
	c, session := f.signedIn(5 * time.Minute)

	// Palette goes down after the keys' lifetime: refresh keeps working on
	// the cached keys, and retries are spaced.
	f.tenant.SetFault(spectrotest.EndpointJWKS, spectrotest.Fault{Status: http.StatusServiceUnavailable})
	f.clock.Advance(5 * time.Minute)
	f.tenant.ResetRequests()
	for i := 0; i < 10; i++ {
		_, err := c.Refresh(context.Background(), allScopes, session)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointJWKS))
	assert.Contains(t, f.logs.String(), "keeping the previous keys")

	f.tenant.ClearFaults()
	f.clock.Advance(minRefetchInterval)
	_, err := c.Refresh(context.Background(), allScopes, session)
	require.NoError(t, err)
	assert.Equal(t, 2, f.tenant.Requests(spectrotest.EndpointJWKS), "recovers when Palette is back")
}

func TestReplayedCode(t *testing.T) {
	f := newFixture(t)
	c := f.open()
	req, connData := f.authorize(c, allScopes)
	_, err := c.HandleCallback(allScopes, connData, req)
	require.NoError(t, err)

	_, err = c.HandleCallback(allScopes, connData, req.Clone(context.Background()))
	var upstream *UpstreamError
	require.ErrorAs(t, err, &upstream)
	assert.Equal(t, "token", upstream.Endpoint)
	assert.Contains(t, err.Error(), "invalid_grant")
}

func TestTamperedConnData(t *testing.T) {
	tests := []struct {
		name     string
		tamper   func(ls map[string]any) any
		contains string
	}{
		{name: "another nonce", tamper: func(ls map[string]any) any { ls["nonce"] = "BBBBBBBBBBBBBBBBBBBBBB"; return ls }, contains: "nonce does not match"},
		{name: "another PKCE verifier", tamper: func(ls map[string]any) any {
			ls["pkceVerifier"] = strings.Repeat("v", 43)
			return ls
		}, contains: "invalid_grant"},
		{name: "PKCE verifier removed", tamper: func(ls map[string]any) any { delete(ls, "pkceVerifier"); return ls }, contains: "sign-in state is missing or corrupt"},
		{name: "unknown version", tamper: func(ls map[string]any) any { ls["v"] = 2; return ls }, contains: "sign-in state is missing or corrupt"},
		{name: "extra field", tamper: func(ls map[string]any) any { ls["x"] = 1; return ls }, contains: "sign-in state is missing or corrupt"},
		{name: "short nonce", tamper: func(ls map[string]any) any { ls["nonce"] = "a"; return ls }, contains: "sign-in state is missing or corrupt"},
		{name: "not JSON", tamper: func(map[string]any) any { return nil }, contains: "sign-in state is missing or corrupt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.open()
			req, connData := f.authorize(c, allScopes)
			var ls map[string]any
			require.NoError(t, json.Unmarshal(connData, &ls))
			tampered := []byte("{garbage")
			if v := tt.tamper(ls); v != nil {
				var err error
				tampered, err = json.Marshal(v)
				require.NoError(t, err)
			}
			_, err := c.HandleCallback(allScopes, tampered, req)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.contains)
		})
	}
}

func TestTamperedConnectorData(t *testing.T) {
	f := newFixture(t)
	c := f.open()
	id, err := f.login(c, allScopes)
	require.NoError(t, err)
	var sess session
	require.NoError(t, json.Unmarshal(id.ConnectorData, &sess))
	parts := strings.Split(sess.IDToken, ".")

	forged := func(claims map[string]any) []byte {
		payload, err := json.Marshal(claims)
		require.NoError(t, err)
		raw := parts[0] + "." + b64url(payload) + "." + parts[2]
		data, err := json.Marshal(session{Version: 1, IDToken: raw})
		require.NoError(t, err)
		return data
	}
	claims := f.tenant.Claims(jane, testClientID, "")
	claims["email"] = "admin@example.com"

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{name: "claims changed, signature kept", data: forged(claims), want: "signature does not verify"},
		{name: "another connector's data", data: []byte(`{"RefreshToken":"dG9rZW4="}`), want: "not a SpectroCloud session"},
		{name: "unknown version", data: []byte(`{"v":9,"idToken":"a.b.c"}`), want: "not a SpectroCloud session"},
		{name: "garbage", data: []byte("\x00\xff"), want: "not a SpectroCloud session"},
		{name: "empty", data: nil, want: "not a SpectroCloud session"},
		{name: "not a JWT", data: []byte(`{"v":1,"idToken":"not-a-jwt"}`), want: "not a compact JWS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tampered := id
			tampered.ConnectorData = tt.data
			_, err := c.Refresh(context.Background(), allScopes, tampered)
			var again *SignInAgainError
			require.ErrorAs(t, err, &again)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "sign in again")
		})
	}
}

func TestTokenEndpointFaults(t *testing.T) {
	tests := []struct {
		name     string
		fault    spectrotest.Fault
		contains string
	}{
		{name: "500", fault: spectrotest.Fault{Status: 500, Body: []byte("internal error")}, contains: "unexpected answer HTTP 500"},
		{name: "HTML", fault: spectrotest.Fault{Status: 200, ContentType: "text/html", Body: []byte("<html><body>Maintenance</body></html>")}, contains: "not a valid token response"},
		{name: "truncated JSON", fault: spectrotest.Fault{Status: 200, ContentType: "application/json", Body: []byte(`{"access_token":"x","id_token":"ey`)}, contains: "not a valid token response"},
		{name: "5 MiB body", fault: spectrotest.Fault{Status: 200, ContentType: "application/json", OversizeBytes: 5 << 20}, contains: "Palette token endpoint"},
		{name: "hangs past the timeout", fault: spectrotest.Fault{Delay: time.Minute}, contains: "did not answer in time"},
		{name: "no id_token", fault: spectrotest.Fault{Status: 200, ContentType: "application/json", Body: []byte(`{"access_token":"x","token_type":"Bearer"}`)}, contains: "no id_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.UpstreamTimeout = "300ms" })
			c := f.open()
			req, connData := f.authorize(c, allScopes)
			f.tenant.SetFault(spectrotest.EndpointToken, tt.fault)
			start := time.Now()
			_, err := c.HandleCallback(allScopes, connData, req)
			var upstream *UpstreamError
			require.ErrorAs(t, err, &upstream)
			assert.Contains(t, err.Error(), tt.contains)
			assert.NotContains(t, err.Error(), "Maintenance", "the body is not echoed")
			assert.Less(t, time.Since(start), 5*time.Second)
		})
	}
}

func TestLimitedBody(t *testing.T) {
	for _, size := range []int{maxResponseBytes, maxResponseBytes + 1} {
		b := &limitedBody{rc: ioNopCloser(strings.NewReader(strings.Repeat("a", size))), left: maxResponseBytes}
		data, err := readBody(&http.Response{Body: b})
		if size <= maxResponseBytes {
			require.NoError(t, err)
			assert.Len(t, data, size)
		} else {
			assert.True(t, errors.Is(err, errResponseTooLarge))
		}
	}
}

func TestPaletteUnreachableAtCallback(t *testing.T) {
	f := newFixture(t)
	c := f.open()
	req, connData := f.authorize(c, allScopes)
	f.srv.Close()
	_, err := c.HandleCallback(allScopes, connData, req)
	var upstream *UpstreamError
	require.ErrorAs(t, err, &upstream)
	assert.Contains(t, err.Error(), "Palette could not be reached")
}
