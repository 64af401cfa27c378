package spectrocloud

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"

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
