package spectrocloud

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
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
	verified verifiedTokens
}

func newVerifier(e *endpoints, clientID string, keys *keySet, now func() time.Time) *verifier {
	algs := make([]jose.SignatureAlgorithm, 0, len(e.Algorithms))
	for _, a := range e.Algorithms {
		algs = append(algs, jose.SignatureAlgorithm(a))
	}
	return &verifier{issuer: e.Issuer, clientID: clientID, algs: algs, keys: keys, now: now,
		verified: verifiedTokens{entries: make(map[[sha256.Size]byte]verifiedToken)}}
}

// idToken is a verified ID token.
type idToken struct {
	claims   map[string]any
	expiry   time.Time
	nonce    string
	hasNonce bool
}

func invalidClaims(format string, args ...any) error {
	return &InvalidTokenError{Kind: KindInvalidClaims, Reason: fmt.Sprintf(format, args...)}
}

// verify checks raw, a token from src, and returns its claims. A token
// verified before is accepted again without a new signature check while the
// key set that verified it is current and still holds its key; its expiry
// is checked every time.
func (v *verifier) verify(ctx context.Context, raw string, src tokenSource) (*idToken, error) {
	if len(raw) > maxIDTokenBytes {
		return nil, &InvalidTokenError{Kind: KindMalformed, Reason: fmt.Sprintf("longer than %d bytes", maxIDTokenBytes)}
	}
	sum := sha256.Sum256([]byte(raw))
	if hit, ok := v.verified.get(sum); ok {
		_, gen, err := v.keys.keysFor(ctx, hit.kid, src)
		if err == nil && gen == hit.generation {
			if !v.now().Before(hit.tok.expiry) {
				v.verified.drop(sum)
				return nil, &TokenExpiredError{Expiry: hit.tok.expiry}
			}
			return hit.tok, nil
		}
		v.verified.drop(sum)
	}
	verified, err := v.verifyFully(ctx, raw, src)
	if err != nil {
		return nil, err
	}
	v.verified.put(sum, verified)
	return verified.tok, nil
}

// verifyFully checks raw from scratch.
func (v *verifier) verifyFully(ctx context.Context, raw string, src tokenSource) (verifiedToken, error) {
	jws, err := jose.ParseSignedCompact(raw, v.algs)
	if err != nil {
		return verifiedToken{}, &InvalidTokenError{Kind: KindMalformed, Reason: fmt.Sprintf("not a compact JWS signed with an accepted algorithm (%s)", joinAlgs(v.algs))}
	}
	if len(jws.Signatures) != 1 {
		return verifiedToken{}, &InvalidTokenError{Kind: KindMalformed, Reason: "must carry exactly one signature"}
	}
	kid := jws.Signatures[0].Header.KeyID
	payload, gen, err := v.keys.verify(ctx, jws, src)
	if err != nil {
		return verifiedToken{}, err
	}

	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return verifiedToken{}, &InvalidTokenError{Kind: KindMalformed, Reason: "the claims are not a JSON object"}
	}

	if iss, _ := claims["iss"].(string); iss != v.issuer {
		return verifiedToken{}, invalidClaims("issued by %q, not by the configured issuer %q", claims["iss"], v.issuer)
	}
	aud, err := audiences(claims["aud"])
	if err != nil {
		return verifiedToken{}, err
	}
	if !contains(aud, v.clientID) {
		return verifiedToken{}, invalidClaims("issued for audience %q, not for client %q", aud, v.clientID)
	}
	azp, hasAZP := claims["azp"]
	if hasAZP && azp != v.clientID {
		return verifiedToken{}, invalidClaims("authorized party (azp) %q is not client %q", azp, v.clientID)
	}
	if len(aud) > 1 && !hasAZP {
		return verifiedToken{}, invalidClaims("has several audiences but no authorized party (azp)")
	}

	now := v.now()
	exp, err := numericDate(claims, "exp")
	if err != nil {
		return verifiedToken{}, err
	}
	if !now.Before(exp) {
		return verifiedToken{}, &TokenExpiredError{Expiry: exp}
	}
	iat, err := numericDate(claims, "iat")
	if err != nil {
		return verifiedToken{}, err
	}
	if iat.After(now.Add(clockSkew)) {
		return verifiedToken{}, invalidClaims("issued in the future (iat %s): check the clocks", iat.UTC().Format(time.RFC3339))
	}
	if _, ok := claims["nbf"]; ok {
		nbf, err := numericDate(claims, "nbf")
		if err != nil {
			return verifiedToken{}, err
		}
		if nbf.After(now.Add(clockSkew)) {
			return verifiedToken{}, invalidClaims("not valid before %s", nbf.UTC().Format(time.RFC3339))
		}
	}

	t := &idToken{claims: claims, expiry: exp}
	if nonce, ok := claims["nonce"]; ok {
		if t.nonce, ok = nonce.(string); !ok {
			return verifiedToken{}, invalidClaims("nonce must be a string")
		}
		t.hasNonce = true
	}
	return verifiedToken{tok: t, kid: kid, generation: gen}, nil
}

// checkNonce compares the token's nonce with the one sent, in constant time.
func (t *idToken) checkNonce(expected string, allowMissing bool) error {
	if !t.hasNonce {
		if allowMissing {
			return nil
		}
		return invalidClaims("has no nonce: if your Palette version does not echo the nonce, set insecureAllowMissingNonce: true")
	}
	if subtle.ConstantTimeCompare([]byte(t.nonce), []byte(expected)) != 1 {
		return invalidClaims("nonce does not match the one sent with this sign-in")
	}
	return nil
}

func audiences(v any) ([]string, error) {
	switch aud := v.(type) {
	case string:
		return []string{aud}, nil
	case []any:
		out := make([]string, 0, len(aud))
		for _, a := range aud {
			s, ok := a.(string)
			if !ok {
				return nil, invalidClaims("audience (aud) must be a string or a list of strings")
			}
			out = append(out, s)
		}
		return out, nil
	case nil:
		return nil, invalidClaims("has no audience (aud)")
	default:
		return nil, invalidClaims("audience (aud) must be a string or a list of strings")
	}
}

// numericDate reads a JSON numeric date (seconds since the epoch).
func numericDate(claims map[string]any, name string) (time.Time, error) {
	v, ok := claims[name]
	if !ok {
		return time.Time{}, invalidClaims("has no %s claim", name)
	}
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
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

// maxVerifiedTokens bounds the tokens remembered as verified.
const maxVerifiedTokens = 4096

// verifiedToken is a token that passed verification with the keys of a
// key-set generation.
type verifiedToken struct {
	tok        *idToken
	kid        string
	generation uint64
}

// verifiedTokens remembers verified tokens by the SHA-256 of their bytes, so
// that refreshing a session does not check the same signature again. The
// claims are shared read-only.
type verifiedTokens struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]verifiedToken
}

func (c *verifiedTokens) get(sum [sha256.Size]byte) (verifiedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[sum]
	return e, ok
}

func (c *verifiedTokens) put(sum [sha256.Size]byte, e verifiedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxVerifiedTokens {
		// Forget an arbitrary eighth: cheap, and a forgotten token is only
		// verified again.
		n := maxVerifiedTokens / 8
		for k := range c.entries {
			delete(c.entries, k)
			if n--; n == 0 {
				break
			}
		}
	}
	c.entries[sum] = e
}

func (c *verifiedTokens) drop(sum [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, sum)
}
