package spectrotest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"strings"
)

// The JWS compact serialization is written here rather than with go-jose's
// signer, because tests need tokens no well-behaved signer produces: alg none,
// HMAC keyed with a public key, a header kid naming another key.

// jwsKey is what signs a token: an RSA key, an EC key, an HMAC secret, or
// nothing for alg none.
type jwsKey struct {
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	hmac []byte
}

// signCompact returns header.payload.signature. sigAlg chooses the signature
// computation, which may differ from the header's alg.
func signCompact(header, claims map[string]any, sigAlg string, key jwsKey) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("encode header: %w", err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	input := b64(h) + "." + b64(p)
	sig, err := computeSignature(sigAlg, key, []byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

func computeSignature(alg string, key jwsKey, input []byte) ([]byte, error) {
	if alg == "none" {
		return nil, nil
	}
	if len(alg) != 5 {
		return nil, fmt.Errorf("unsupported alg %q", alg)
	}
	var (
		hashID crypto.Hash
		newFn  func() hash.Hash
	)
	switch alg[2:] {
	case "256":
		hashID, newFn = crypto.SHA256, sha256.New
	case "384":
		hashID, newFn = crypto.SHA384, sha512.New384
	case "512":
		hashID, newFn = crypto.SHA512, sha512.New
	default:
		return nil, fmt.Errorf("unsupported alg %q", alg)
	}
	switch alg[:2] {
	case "HS":
		mac := hmac.New(newFn, key.hmac)
		mac.Write(input)
		return mac.Sum(nil), nil
	}
	digest := newFn()
	digest.Write(input)
	sum := digest.Sum(nil)
	switch alg[:2] {
	case "RS":
		return rsa.SignPKCS1v15(rand.Reader, key.rsa, hashID, sum)
	case "PS":
		return rsa.SignPSS(rand.Reader, key.rsa, hashID, sum, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES":
		r, s, err := ecdsa.Sign(rand.Reader, key.ec, sum)
		if err != nil {
			return nil, err
		}
		size := (key.ec.Curve.Params().BitSize + 7) / 8
		return append(fixedBytes(r, size), fixedBytes(s, size)...), nil
	}
	return nil, fmt.Errorf("unsupported alg %q", alg)
}

// verifyHS256 checks an HS256 compact JWS made with secret and returns its
// claims. Any other alg is rejected.
func verifyHS256(token string, secret []byte) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if header.Alg != "HS256" {
		return nil, fmt.Errorf("unexpected alg %q", header.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return nil, errors.New("bad signature")
	}
	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	return claims, nil
}

func decodeSegment(seg string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func fixedBytes(n *big.Int, size int) []byte {
	b := make([]byte, size)
	return n.FillBytes(b)
}
