package spectrotest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"net/http"

	jose "github.com/go-jose/go-jose/v4"
)

// signingKey is one of a tenant's RSA keys.
type signingKey struct {
	kid       string
	priv      *rsa.PrivateKey
	published bool
}

func newSigningKey() *signingKey {
	return &signingKey{kid: randomHex(8), priv: newRSAKey(), published: true}
}

func newRSAKey() *rsa.PrivateKey {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("spectrotest: generate RSA key: %v", err))
	}
	return priv
}

// RotateKey creates a new RSA-2048 key that signs ID tokens from now on and
// returns its key ID. Earlier keys stay published until RemoveKey.
func (t *Tenant) RotateKey() (kid string) {
	key := newSigningKey()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.keys = append(t.keys, key)
	t.current = key
	return key.kid
}

// RemoveKey stops publishing the key with this ID (a withdrawn key). Removing
// the current signing key does not change which key signs: ID tokens are still
// signed with it, but cannot be verified, until RotateKey. A withdrawn key
// can still sign tokens minted WithKey, as a leaked key would. Unknown IDs
// are ignored.
func (t *Tenant) RemoveKey(kid string) {
	t.setPublished(kid, false)
}

// RepublishKey publishes a key withdrawn by RemoveKey again, as a key set
// served from a stale cache in front of Palette would. Unknown IDs are
// ignored.
func (t *Tenant) RepublishKey(kid string) {
	t.setPublished(kid, true)
}

func (t *Tenant) setPublished(kid string, published bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range t.keys {
		if k.kid == kid {
			k.published = published
		}
	}
}

// SigningKeyID returns the key ID of the key that signs ID tokens.
func (t *Tenant) SigningKeyID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.current.kid
}

// PublishedKeyIDs returns the key IDs of the published keys, in the order of
// the JWKS document.
func (t *Tenant) PublishedKeyIDs() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var kids []string
	for _, k := range t.keys {
		if k.published {
			kids = append(kids, k.kid)
		}
	}
	return kids
}

// PublicKey returns the public half of the key with this ID: a published key,
// or the current signing key even when withdrawn. It returns nil for unknown
// and removed keys.
func (t *Tenant) PublicKey(kid string) *rsa.PublicKey {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range t.keys {
		if k.kid == kid && (k.published || k == t.current) {
			return &k.priv.PublicKey
		}
	}
	return nil
}

// keyByID returns the tenant's RSA key with this ID, published or not.
func (t *Tenant) keyByID(kid string) (*rsa.PrivateKey, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range t.keys {
		if k.kid == kid {
			return k.priv, true
		}
	}
	return nil, false
}

// currentKey returns the signing key.
func (t *Tenant) currentKey() (kid string, priv *rsa.PrivateKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.current.kid, t.current.priv
}

// foreign returns the tenant's never-published RSA key, creating it on first
// use.
func (t *Tenant) foreign() *rsa.PrivateKey {
	t.mu.Lock()
	priv := t.foreignKey
	t.mu.Unlock()
	if priv != nil {
		return priv
	}
	priv = newRSAKey()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.foreignKey == nil {
		t.foreignKey = priv
	}
	return t.foreignKey
}

// ecKey returns the tenant's never-published EC key for alg (ES256, ES384 or
// ES512), creating it on first use.
func (t *Tenant) ecKey(alg string) *ecdsa.PrivateKey {
	t.mu.Lock()
	defer t.mu.Unlock()
	if priv, ok := t.ecKeys[alg]; ok {
		return priv
	}
	var curve elliptic.Curve
	switch alg {
	case "ES384":
		curve = elliptic.P384()
	case "ES512":
		curve = elliptic.P521()
	default:
		curve = elliptic.P256()
	}
	priv, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("spectrotest: generate EC key: %v", err))
	}
	t.ecKeys[alg] = priv
	return priv
}

// handleJWKS serves the published keys as a JSON Web Key Set.
func (t *Tenant) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	t.mu.Lock()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range t.keys {
		if k.published {
			set.Keys = append(set.Keys, jose.JSONWebKey{
				Key:       &k.priv.PublicKey,
				KeyID:     k.kid,
				Algorithm: string(jose.RS256),
				Use:       "sig",
			})
		}
	}
	maxAge := t.jwksMaxAge
	t.mu.Unlock()

	if seconds := int64(maxAge.Seconds()); seconds > 0 {
		w.Header().Set("Cache-Control", fmt.Sprintf("max-age=%d", seconds))
	}
	writeJSON(w, http.StatusOK, set)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}
