package spectrotest

import (
	"fmt"
	"time"
)

// Palette's authorization codes and "refresh tokens" are both its internal
// session token: an HS256 JWT signed with a per-tenant secret. The emulator
// issues them the same way; what each one may be used for is recorded here,
// keyed by the token's jti.

// codeGrant is what an authorization code was issued for.
type codeGrant struct {
	clientID        string
	redirectURI     string
	user            string // userKey of the signed-in user
	nonce           string
	challenge       string // empty when no PKCE challenge was recorded
	challengeMethod string // S256 or plain
	sessionID       string
	expires         time.Time
	used            bool
}

// refreshGrant is what a refresh (session) token was issued for.
type refreshGrant struct {
	clientID  string
	user      string
	sessionID string
	expires   time.Time
}

// sessionToken signs a Palette-style session token.
func (t *Tenant) sessionToken(jti, sessionID, userUID string, iat, exp time.Time) string {
	claims := map[string]any{
		"jti":       jti,
		"sessionId": sessionID,
		"userUid":   userUID,
		"tenantUid": t.uid,
		"iat":       iat.Unix(),
		"exp":       exp.Unix(),
	}
	header := map[string]any{"alg": "HS256", "typ": "JWT"}
	tok, err := signCompact(header, claims, "HS256", jwsKey{hmac: t.sessionSecret})
	if err != nil {
		panic(fmt.Sprintf("spectrotest: sign session token: %v", err))
	}
	return tok
}

// sessionTokenID verifies a session token's signature and returns its jti.
func (t *Tenant) sessionTokenID(tok string) (string, bool) {
	claims, err := verifyHS256(tok, t.sessionSecret)
	if err != nil {
		return "", false
	}
	jti, ok := claims["jti"].(string)
	return jti, ok && jti != ""
}

// issueCode records a grant and returns its authorization code.
func (t *Tenant) issueCode(g codeGrant, userUID string) string {
	g.sessionID = randomHex(12)
	return t.issue(&t.codeLifetime, g.sessionID, userUID, func(jti string, expires time.Time) {
		g.expires = expires
		t.codes[jti] = &g
	})
}

// issue records a grant with store, under t.mu, by a new jti and the
// instant it expires, lifetime (read under t.mu) from now, and returns its
// session token.
func (t *Tenant) issue(lifetime *time.Duration, sessionID, userUID string, store func(jti string, expires time.Time)) string {
	now := t.clock()
	jti := randomHex(16)
	t.mu.Lock()
	expires := now.Add(*lifetime)
	t.pruneLocked(now)
	store(jti, expires)
	t.mu.Unlock()
	return t.sessionToken(jti, sessionID, userUID, now, expires)
}

// redeemCode verifies and consumes an authorization code: whatever the
// outcome of the token request, a code is good for one attempt only. Every
// call counts as a redemption (CodeRedemptions), a code that is not one
// too.
func (t *Tenant) redeemCode(code string) (codeGrant, *oauthError) {
	t.mu.Lock()
	t.codeRedemptions++
	t.mu.Unlock()
	var g codeGrant
	err := t.redeem(code, "authorization code", func(jti string, now time.Time) *oauthError {
		c, ok := t.codes[jti]
		if !ok {
			return invalidGrant("the authorization code is invalid or has expired")
		}
		if c.used {
			return invalidGrant("the authorization code has already been used")
		}
		c.used = true
		if !now.Before(c.expires) {
			return invalidGrant("the authorization code has expired")
		}
		g = *c
		return nil
	})
	return g, err
}

// redeem verifies the signature of a session token handed back (a code or
// a refresh token, named what) and runs use with its jti and the time,
// under t.mu.
func (t *Tenant) redeem(tok, what string, use func(jti string, now time.Time) *oauthError) *oauthError {
	jti, ok := t.sessionTokenID(tok)
	if !ok {
		return invalidGrant("the " + what + " is invalid")
	}
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	return use(jti, now)
}

// issueRefreshToken records a session and returns its session token, handed
// out as refresh_token.
func (t *Tenant) issueRefreshToken(g refreshGrant, userUID string) string {
	return t.issue(&t.idTokenLifetime, g.sessionID, userUID, func(jti string, expires time.Time) {
		g.expires = expires
		t.refreshes[jti] = &g
	})
}

// redeemRefreshToken verifies a refresh token issued by this tenant to
// clientID (standard refresh mode only).
func (t *Tenant) redeemRefreshToken(tok, clientID string) (refreshGrant, *oauthError) {
	var g refreshGrant
	err := t.redeem(tok, "refresh token", func(jti string, now time.Time) *oauthError {
		r, ok := t.refreshes[jti]
		if !ok || !now.Before(r.expires) {
			return invalidGrant("the refresh token is invalid or has expired")
		}
		if r.clientID != clientID {
			return invalidGrant("the refresh token was issued to another client")
		}
		g = *r
		return nil
	})
	return g, err
}

// minPruneSize is the number of remembered grants below which expired ones
// are not looked for.
const minPruneSize = 1024

// pruneLocked forgets expired grants. It scans only when the number of
// grants has doubled since the last scan, so that issuing a grant costs
// amortized constant time however many are remembered. t.mu must be held.
func (t *Tenant) pruneLocked(now time.Time) {
	if len(t.codes)+len(t.refreshes) < max(minPruneSize, t.pruneAt) {
		return
	}
	defer func() { t.pruneAt = 2 * (len(t.codes) + len(t.refreshes)) }()
	for jti, g := range t.codes {
		if !now.Before(g.expires) {
			delete(t.codes, jti)
		}
	}
	for jti, g := range t.refreshes {
		if !now.Before(g.expires) {
			delete(t.refreshes, jti)
		}
	}
}
