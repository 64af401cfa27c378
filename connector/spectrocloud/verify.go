package spectrocloud

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	// clockSkew tolerates clocks slightly ahead of ours for iat and nbf.
	// Expiry gets no leeway.
	clockSkew = time.Minute
	// maxIDTokenBytes bounds the size of an ID token we parse.
	maxIDTokenBytes = 64 << 10
)

// verifier checks Palette ID tokens: compact JWS, an accepted asymmetric
// algorithm, a signature by a published key, iss, aud (and azp), exp, iat
// and nbf.
type verifier struct {
	issuer   string
	clientID string
	algs     []jose.SignatureAlgorithm
	keys     *keySet
	now      func() time.Time
}

func newVerifier(e *Endpoints, clientID string, keys *keySet, now func() time.Time) *verifier {
	algs := make([]jose.SignatureAlgorithm, 0, len(e.Algorithms))
	for _, a := range e.Algorithms {
		algs = append(algs, jose.SignatureAlgorithm(a))
	}
	return &verifier{issuer: e.Issuer, clientID: clientID, algs: algs, keys: keys, now: now}
}

// idToken is a verified ID token.
type idToken struct {
	claims   map[string]any
	subject  string
	expiry   time.Time
	nonce    string
	hasNonce bool
}

// registered are the registered claims checked by the verifier.
type registered struct {
	Issuer   string          `json:"iss"`
	Audience json.RawMessage `json:"aud"`
	AZP      *string         `json:"azp"`
	Expiry   *json.Number    `json:"exp"`
	IssuedAt *json.Number    `json:"iat"`
	NotBef   *json.Number    `json:"nbf"`
	Nonce    *string         `json:"nonce"`
	Subject  string          `json:"sub"`
}

func invalidClaims(format string, args ...any) error {
	return &InvalidTokenError{Kind: KindInvalidClaims, Reason: fmt.Sprintf(format, args...)}
}

// verify checks raw and returns its claims.
func (v *verifier) verify(ctx context.Context, raw string) (*idToken, error) {
	if len(raw) > maxIDTokenBytes {
		return nil, &InvalidTokenError{Kind: KindMalformed, Reason: fmt.Sprintf("longer than %d bytes", maxIDTokenBytes)}
	}
	jws, err := jose.ParseSignedCompact(raw, v.algs)
	if err != nil {
		return nil, &InvalidTokenError{Kind: KindMalformed, Reason: fmt.Sprintf("not a compact JWS signed with an accepted algorithm (%s)", joinAlgs(v.algs))}
	}
	if len(jws.Signatures) != 1 {
		return nil, &InvalidTokenError{Kind: KindMalformed, Reason: "must carry exactly one signature"}
	}
	payload, err := v.keys.verify(ctx, jws)
	if err != nil {
		return nil, err
	}

	var reg registered
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&reg); err != nil {
		return nil, &InvalidTokenError{Kind: KindMalformed, Reason: "the claims are not a JSON object with standard claim types"}
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, &InvalidTokenError{Kind: KindMalformed, Reason: "the claims are not a JSON object"}
	}

	if reg.Issuer != v.issuer {
		return nil, invalidClaims("issued by %q, not by the configured issuer %q", reg.Issuer, v.issuer)
	}
	aud, err := audiences(reg.Audience)
	if err != nil {
		return nil, err
	}
	if !contains(aud, v.clientID) {
		return nil, invalidClaims("issued for audience %q, not for client %q", aud, v.clientID)
	}
	if reg.AZP != nil && *reg.AZP != v.clientID {
		return nil, invalidClaims("authorized party (azp) %q is not client %q", *reg.AZP, v.clientID)
	}
	if len(aud) > 1 && reg.AZP == nil {
		return nil, invalidClaims("has several audiences but no authorized party (azp)")
	}

	now := v.now()
	exp, err := numericDate("exp", reg.Expiry)
	if err != nil {
		return nil, err
	}
	if !now.Before(exp) {
		return nil, &TokenExpiredError{Expiry: exp}
	}
	iat, err := numericDate("iat", reg.IssuedAt)
	if err != nil {
		return nil, err
	}
	if iat.After(now.Add(clockSkew)) {
		return nil, invalidClaims("issued in the future (iat %s); check the clocks", iat.UTC().Format(time.RFC3339))
	}
	if reg.NotBef != nil {
		nbf, err := numericDate("nbf", reg.NotBef)
		if err != nil {
			return nil, err
		}
		if nbf.After(now.Add(clockSkew)) {
			return nil, invalidClaims("not valid before %s", nbf.UTC().Format(time.RFC3339))
		}
	}

	t := &idToken{claims: claims, subject: reg.Subject, expiry: exp}
	if reg.Nonce != nil {
		t.nonce, t.hasNonce = *reg.Nonce, true
	}
	return t, nil
}

// checkNonce compares the token's nonce with the one sent, in constant time.
func (t *idToken) checkNonce(expected string, allowMissing bool) error {
	if !t.hasNonce {
		if allowMissing {
			return nil
		}
		return invalidClaims("has no nonce; if your Palette version does not echo the nonce, set insecureAllowMissingNonce: true")
	}
	if subtle.ConstantTimeCompare([]byte(t.nonce), []byte(expected)) != 1 {
		return invalidClaims("nonce does not match the one sent with this sign-in")
	}
	return nil
}

func audiences(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, invalidClaims("has no audience (aud)")
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, invalidClaims("audience (aud) must be a string or a list of strings")
	}
	return many, nil
}

func numericDate(name string, n *json.Number) (time.Time, error) {
	if n == nil {
		return time.Time{}, invalidClaims("has no %s claim", name)
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, invalidClaims("%s is not a valid time", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

func joinAlgs(algs []jose.SignatureAlgorithm) string {
	s := make([]string, len(algs))
	for i, a := range algs {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}
