package spectrotest

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMintIDToken(t *testing.T) {
	f := newFixture(t)
	tenant := f.tenant
	kid := tenant.SigningKeyID()
	set := fetchJWKS(t, f, tenant)
	claims := tenant.Claims(testUser, testClientID, testNonce)

	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustDER(t, tenant, kid)})

	// verifyHMAC verifies an HMAC token with a key, as a confused verifier
	// would.
	verifyHMAC := func(raw string, alg jose.SignatureAlgorithm, key []byte) error {
		jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{alg})
		if err != nil {
			return err
		}
		_, err = jws.Verify(key)
		return err
	}

	tests := []struct {
		name   string
		opts   []MintOption
		header map[string]any
		check  func(t *testing.T, raw string)
	}{
		{
			name:   "default RS256",
			header: map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"},
			check: func(t *testing.T, raw string) {
				got, err := verifyWithJWKS(set, raw, jose.RS256)
				require.NoError(t, err)
				assert.Equal(t, jsonRoundTrip(t, claims), got)
			},
		},
		{
			name:   "alg none",
			opts:   []MintOption{WithAlg("none")},
			header: map[string]any{"alg": "none", "kid": kid, "typ": "JWT"},
			check: func(t *testing.T, raw string) {
				assert.True(t, strings.HasSuffix(raw, "."), "empty signature")
				_, err := verifyWithJWKS(set, raw, jose.RS256)
				assert.Error(t, err)
			},
		},
		{
			name:   "HS256 key confusion with the PEM public key",
			opts:   []MintOption{WithHS256PublicKeyConfusion()},
			header: map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"},
			check: func(t *testing.T, raw string) {
				_, err := verifyWithJWKS(set, raw, jose.RS256)
				assert.Error(t, err, "an RS256-only verifier rejects it")
				assert.NoError(t, verifyHMAC(raw, jose.HS256, pemKey), "a confused verifier accepts it")
			},
		},
		{
			name:   "WithAlg HS256 defaults to the PEM public key",
			opts:   []MintOption{WithAlg("HS256")},
			header: map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"},
			check: func(t *testing.T, raw string) {
				assert.NoError(t, verifyHMAC(raw, jose.HS256, pemKey))
			},
		},
		{
			name:   "HS256 key confusion with the DER public key",
			opts:   []MintOption{WithHS256PublicKeyConfusion(), WithHMACKey(mustDER(t, tenant, kid))},
			header: map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"},
			check: func(t *testing.T, raw string) {
				assert.NoError(t, verifyHMAC(raw, jose.HS256, mustDER(t, tenant, kid)))
				assert.Error(t, verifyHMAC(raw, jose.HS256, pemKey))
			},
		},
		{
			name:   "HS512",
			opts:   []MintOption{WithAlg("HS512")},
			header: map[string]any{"alg": "HS512", "kid": kid, "typ": "JWT"},
			check: func(t *testing.T, raw string) {
				assert.NoError(t, verifyHMAC(raw, jose.HS512, pemKey))
			},
		},
		{
			name:   "unknown kid",
			opts:   []MintOption{WithKeyID("no-such-key")},
			header: map[string]any{"alg": "RS256", "kid": "no-such-key", "typ": "JWT"},
			check: func(t *testing.T, raw string) {
				_, err := verifyWithJWKS(set, raw, jose.RS256)
				assert.ErrorIs(t, err, errNoKey)
			},
		},
		{
			name:   "no kid",
			opts:   []MintOption{WithKeyID("")},
			header: map[string]any{"alg": "RS256", "typ": "JWT"},
		},
		{
			name:   "foreign key keeps the published kid",
			opts:   []MintOption{WithForeignKey()},
			header: map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"},
			check: func(t *testing.T, raw string) {
				_, err := verifyWithJWKS(set, raw, jose.RS256)
				require.Error(t, err)
				assert.NotErrorIs(t, err, errNoKey)
			},
		},
		{
			name:   "RS384 with the published key",
			opts:   []MintOption{WithAlg("RS384")},
			header: map[string]any{"alg": "RS384", "kid": kid, "typ": "JWT"},
			check: func(t *testing.T, raw string) {
				_, err := verifyWithJWKS(set, raw, jose.RS384)
				assert.NoError(t, err)
				_, err = verifyWithJWKS(set, raw, jose.RS256)
				assert.Error(t, err)
			},
		},
		{
			name:   "PS256 with the published key",
			opts:   []MintOption{WithAlg("PS256")},
			header: map[string]any{"alg": "PS256", "kid": kid, "typ": "JWT"},
			check: func(t *testing.T, raw string) {
				_, err := verifyWithJWKS(set, raw, jose.PS256)
				assert.NoError(t, err)
			},
		},
		{
			name:   "RS512 with a foreign key",
			opts:   []MintOption{WithAlg("RS512"), WithForeignKey()},
			header: map[string]any{"alg": "RS512", "kid": kid, "typ": "JWT"},
			check: func(t *testing.T, raw string) {
				_, err := verifyWithJWKS(set, raw, jose.RS512)
				assert.Error(t, err)
			},
		},
		{
			name:   "ES256 with an unpublished key",
			opts:   []MintOption{WithAlg("ES256")},
			header: map[string]any{"alg": "ES256", "kid": kid, "typ": "JWT"},
			check: func(t *testing.T, raw string) {
				parts := strings.Split(raw, ".")
				assert.Len(t, parts[2], 86, "64-byte r||s signature")
			},
		},
		{
			name:   "unknown alg in the header, RS256 signature",
			opts:   []MintOption{WithAlg("XS999")},
			header: map[string]any{"alg": "XS999", "kid": kid, "typ": "JWT"},
		},
		{
			name:   "extra and removed header parameters",
			opts:   []MintOption{WithHeader("jku", "https://evil.example.com/keys"), WithHeader("typ", nil)},
			header: map[string]any{"alg": "RS256", "kid": kid, "jku": "https://evil.example.com/keys"},
			check: func(t *testing.T, raw string) {
				_, err := verifyWithJWKS(set, raw, jose.RS256)
				assert.NoError(t, err)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tenant.MintIDToken(claims, tt.opts...)
			assert.Equal(t, tt.header, header(t, raw))
			assert.Equal(t, jsonRoundTrip(t, claims), payload(t, raw))
			if tt.check != nil {
				tt.check(t, raw)
			}
		})
	}

	t.Run("unencodable claims panic", func(t *testing.T) {
		assert.Panics(t, func() { tenant.MintIDToken(map[string]any{"bad": make(chan int)}) })
	})
	t.Run("arbitrary claims", func(t *testing.T) {
		raw := tenant.MintIDToken(map[string]any{"aud": []string{"a", "b"}, "exp": 1})
		got, err := verifyWithJWKS(set, raw, jose.RS256)
		require.NoError(t, err)
		want := map[string]any{}
		require.NoError(t, json.Unmarshal([]byte(`{"aud":["a","b"],"exp":1}`), &want))
		assert.Equal(t, want, got)
	})
}

func mustDER(t *testing.T, tenant *Tenant, kid string) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(tenant.PublicKey(kid))
	require.NoError(t, err)
	return der
}
