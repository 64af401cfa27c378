package spectrotest

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
)

// MintOption changes how MintIDToken (or, through SetIDTokenMint, the token
// endpoint) signs an ID token. Without options a token is signed like Palette's:
// RS256 with the current key, header {"alg":"RS256","kid":<kid>,"typ":"JWT"}.
type MintOption func(*mintSettings)

type mintSettings struct {
	alg     string
	kid     *string
	keyID   *string // WithKey
	foreign bool
	hmacKey []byte
	header  map[string]any
}

// WithAlg sets the header's alg and the signature that goes with it:
//
//   - "none": an unsigned token (empty signature);
//   - "HS256", "HS384", "HS512": an HMAC keyed with the PEM encoding of the
//     current signing key's public key (the classic RSA/HMAC key-confusion
//     attack), or with the key given by WithHMACKey;
//   - "RS256", "RS384", "RS512", "PS256", "PS384", "PS512": the current RSA key
//     (or the foreign key with WithForeignKey);
//   - "ES256", "ES384", "ES512": an EC key that is never published;
//   - anything else: the header says alg, the signature is RS256.
//
// The header keeps the current key's kid unless WithKeyID says otherwise.
func WithAlg(alg string) MintOption {
	return func(s *mintSettings) { s.alg = alg }
}

// WithKeyID puts kid in the header instead of the signing key's ID (for
// example an unknown kid); the empty string leaves kid out of the header.
func WithKeyID(kid string) MintOption {
	return func(s *mintSettings) { s.kid = &kid }
}

// WithKey signs with the tenant's RSA key with this ID, published or
// withdrawn by RemoveKey, and names it in the header (unless WithKeyID says
// otherwise): for example a token forged with a withdrawn, leaked key. A kid
// the tenant never had makes minting fail.
func WithKey(kid string) MintOption {
	return func(s *mintSettings) { s.keyID = &kid }
}

// WithForeignKey signs with an RSA key that is never published, while the
// header keeps the published kid of the current key: a forged token.
func WithForeignKey() MintOption {
	return func(s *mintSettings) { s.foreign = true }
}

// WithHS256PublicKeyConfusion signs with HS256 keyed with the PEM encoding
// (PKIX, "PUBLIC KEY") of the current signing key's public key, and keeps its
// kid: a verifier that takes the alg from the token and uses the RSA public key
// as an HMAC secret accepts it. Combine with WithHMACKey to use other bytes, such
// as the DER encoding.
func WithHS256PublicKeyConfusion() MintOption {
	return func(s *mintSettings) { s.alg = "HS256" }
}

// WithHMACKey sets the secret of HS256/HS384/HS512 signatures (see WithAlg);
// it has no effect on other algorithms.
func WithHMACKey(key []byte) MintOption {
	key = slices.Clone(key)
	return func(s *mintSettings) { s.hmacKey = key }
}

// WithHeader sets a header parameter after all others (so it can also
// override alg, kid or typ without changing the signature); a nil value
// removes the parameter.
func WithHeader(name string, value any) MintOption {
	return func(s *mintSettings) {
		if s.header == nil {
			s.header = make(map[string]any)
		}
		s.header[name] = value
	}
}

// MintIDToken signs arbitrary claims as a compact JWT with the tenant's current
// key, or as the options say. Tests build their own, and attack, tokens with it:
//
//	tok := tenant.MintIDToken(tenant.Claims(user, "my-client", nonce), spectrotest.WithAlg("none"))
//
// It panics only if the claims cannot be encoded as JSON.
func (t *Tenant) MintIDToken(claims map[string]any, opts ...MintOption) string {
	tok, err := t.mint(claims, opts)
	if err != nil {
		panic(fmt.Sprintf("spectrotest: mint ID token: %v", err))
	}
	return tok
}

func (t *Tenant) mint(claims map[string]any, opts []MintOption) (string, error) {
	s := mintSettings{alg: "RS256"}
	for _, opt := range opts {
		if opt != nil {
			opt(&s)
		}
	}
	kid, priv := t.currentKey()
	if s.keyID != nil {
		var ok bool
		if priv, ok = t.keyByID(*s.keyID); !ok {
			return "", fmt.Errorf("no key with ID %q", *s.keyID)
		}
		kid = *s.keyID
	}

	header := map[string]any{"alg": s.alg, "kid": kid, "typ": "JWT"}
	if s.kid != nil {
		if *s.kid == "" {
			delete(header, "kid")
		} else {
			header["kid"] = *s.kid
		}
	}
	for name, value := range s.header {
		if value == nil {
			delete(header, name)
		} else {
			header[name] = value
		}
	}

	rsaKey := priv
	if s.foreign {
		rsaKey = t.foreign()
	}
	var key jwsKey
	sigAlg := s.alg
	switch s.alg {
	case "none":
	case "HS256", "HS384", "HS512":
		key.hmac = s.hmacKey
		if key.hmac == nil {
			pemKey, err := publicKeyPEM(&priv.PublicKey)
			if err != nil {
				return "", err
			}
			key.hmac = pemKey
		}
	case "ES256", "ES384", "ES512":
		key.ec = t.ecKey(s.alg)
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		key.rsa = rsaKey
	default:
		sigAlg, key.rsa = "RS256", rsaKey
	}
	return signCompact(header, claims, sigAlg, key)
}

// publicKeyPEM encodes pub as a PKIX "PUBLIC KEY" PEM block, as found in a
// public key file.
func publicKeyPEM(pub *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}
