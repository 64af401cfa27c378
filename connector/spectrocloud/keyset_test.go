package spectrocloud

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"log/slog"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUsableFor(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	tests := []struct {
		name string
		key  jose.JSONWebKey
		alg  string
		want bool
	}{
		{"RSA for RS256", jose.JSONWebKey{Key: &rsaKey.PublicKey}, "RS256", true},
		{"RSA for PS256", jose.JSONWebKey{Key: &rsaKey.PublicKey}, "PS256", true},
		{"RSA marked for encryption", jose.JSONWebKey{Key: &rsaKey.PublicKey, Use: "enc"}, "RS256", false},
		{"RSA pinned to RS512", jose.JSONWebKey{Key: &rsaKey.PublicKey, Algorithm: "RS512"}, "RS256", false},
		{"RSA for HS256 (key confusion)", jose.JSONWebKey{Key: &rsaKey.PublicKey}, "HS256", false},
		{"RSA for ES256", jose.JSONWebKey{Key: &rsaKey.PublicKey}, "ES256", false},
		{"EC for ES256", jose.JSONWebKey{Key: &ecKey.PublicKey}, "ES256", true},
		{"EC for RS256", jose.JSONWebKey{Key: &ecKey.PublicKey}, "RS256", false},
		{"Ed25519 for EdDSA", jose.JSONWebKey{Key: edPub}, "EdDSA", true},
		{"symmetric key", jose.JSONWebKey{Key: []byte("secret")}, "HS256", false},
		{"RSA private key", jose.JSONWebKey{Key: rsaKey}, "RS256", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, usableFor(tt.key, tt.alg))
		})
	}
}

func TestVerifiedTokensFollowTheKeys(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	keyA, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keyB, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ks := newKeySet("https://x/keys", nil, clock, slog.New(slog.DiscardHandler), nil, defaultJWKSMaxStale)
	setKeys := func(k *rsa.PrivateKey) {
		ks.mu.Lock()
		defer ks.mu.Unlock()
		ks.keys = []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "k", Algorithm: "RS256", Use: "sig"}}
		ks.expiry, ks.lastAttempt = now.Add(time.Hour), now
		ks.generation++
	}
	setKeys(keyA)
	v := newVerifier(&endpoints{Issuer: "https://x", Algorithms: []string{"RS256"}}, "c", ks, clock)

	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: keyA}, (&jose.SignerOptions{}).WithHeader("kid", "k"))
	require.NoError(t, err)
	jws, err := signer.Sign([]byte(`{"iss":"https://x","aud":"c","sub":"u","iat":1800000000,"exp":1800000600}`))
	require.NoError(t, err)
	raw, err := jws.CompactSerialize()
	require.NoError(t, err)

	_, err = v.verify(context.Background(), raw, fromOutside)
	require.NoError(t, err)
	_, err = v.verify(context.Background(), raw, fromOutside)
	require.NoError(t, err, "verified again from memory")

	// Palette replaces the key behind the same kid: the remembered result
	// no longer counts, and the signature no longer verifies.
	setKeys(keyB)
	_, err = v.verify(context.Background(), raw, fromOutside)
	var invalid *InvalidTokenError
	require.ErrorAs(t, err, &invalid)
	assert.Equal(t, KindInvalidSignature, invalid.Kind)

	// Expiry is checked on every use, remembered or not.
	setKeys(keyA)
	_, err = v.verify(context.Background(), raw, fromOutside)
	require.NoError(t, err)
	now = now.Add(10 * time.Minute)
	_, err = v.verify(context.Background(), raw, fromOutside)
	var expired *TokenExpiredError
	require.ErrorAs(t, err, &expired)
}
