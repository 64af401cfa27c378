package spectrocloud

import (
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
)

// An ID token longer than maxIDTokenBytes is refused before it is parsed,
// wherever it comes from; one of exactly maxIDTokenBytes is accepted.
func TestRuleIDTokenSizeCap(t *testing.T) {
	shared := newFixture(t)
	for _, entry := range allEntries {
		for _, size := range []int{maxIDTokenBytes, maxIDTokenBytes + 1} {
			t.Run(string(entry)+" "+strconv.Itoa(size)+" bytes", func(t *testing.T) {
				f := shared.freshCase(t)
				c := f.open()
				// The claims of every entry differ at most in the nonce's
				// value, not in its length.
				padding, opts := paddingForLength(t, f.tenant, ruleClaims(f), size)
				var minted int
				hook := func(claims map[string]any) {
					claims["padding"] = padding
					minted++
				}
				id, err := present(t, f, c, entry, hook, opts...)
				require.Equal(t, 1, minted)
				if size <= maxIDTokenBytes {
					require.NoError(t, err)
					var stored struct {
						IDToken string `json:"idToken"`
					}
					require.NoError(t, json.Unmarshal(id.ConnectorData, &stored))
					require.Len(t, stored.IDToken, size, "the token accepted is exactly at the limit")
					return
				}
				var invalid *InvalidTokenError
				require.ErrorAs(t, err, &invalid)
				assert.Equal(t, KindMalformed, invalid.Kind)
				assert.Contains(t, err.Error(), strconv.Itoa(maxIDTokenBytes), "the error names the limit")
				if entry == viaRefresh {
					var again *SignInAgainError
					require.ErrorAs(t, err, &again)
				}
			})
		}
	}
}

// paddingForLength returns a value for a "padding" claim and mint options
// with which the tenant mints claims (plus that claim) as a token of exactly
// n bytes.
func paddingForLength(t *testing.T, tenant *spectrotest.Tenant, claims map[string]any, n int) (string, []spectrotest.MintOption) {
	t.Helper()
	// Base64 never yields a length of 4k+1, so a few header bytes may be
	// needed to reach n.
	for extra := 0; extra < 4; extra++ {
		var opts []spectrotest.MintOption
		if extra > 0 {
			opts = append(opts, spectrotest.WithHeader("pad", strings.Repeat("h", extra)))
		}
		length := func(p int) int {
			c := maps.Clone(claims)
			c["padding"] = strings.Repeat("p", p)
			return len(tenant.MintIDToken(c, opts...))
		}
		base := length(0)
		require.Less(t, base, n)
		for p := max(0, (n-base)*3/4-4); ; p++ {
			l := length(p)
			if l == n {
				return strings.Repeat("p", p), opts
			}
			if l > n {
				break
			}
		}
	}
	t.Fatalf("no padding gives a token of %d bytes", n)
	return "", nil
}

// A token whose exp is exactly now has expired, also when it is verified in
// full (not only when it is found among the tokens verified before); one
// second later it is still valid.
func TestRuleExpiryExactlyNowOnFullVerification(t *testing.T) {
	shared := newFixture(t)
	for _, entry := range allEntries {
		for _, left := range []time.Duration{0, time.Second} {
			t.Run(string(entry)+" "+left.String()+" left", func(t *testing.T) {
				f := shared.freshCase(t)
				c := f.open()
				_, err := present(t, f, c, entry, func(claims map[string]any) {
					claims["exp"] = f.clock.Now().Add(left).Unix()
				})
				if left > 0 {
					require.NoError(t, err)
					return
				}
				var expired *TokenExpiredError
				require.ErrorAs(t, err, &expired)
				assert.True(t, expired.Expiry.Equal(f.clock.Now()))
			})
		}
	}
}

// iat and nbf may be up to one minute ahead of the connector's clock (a
// Palette clock slightly fast), and no more.
func TestRuleIssuedAtAndNotBeforeSkew(t *testing.T) {
	const skew = time.Minute // as docs/security-model.md promises
	tests := []struct {
		claim   string
		ahead   time.Duration
		refused string // "" when accepted
	}{
		{claim: "iat", ahead: skew},
		{claim: "iat", ahead: skew + time.Second, refused: "issued in the future"},
		{claim: "iat", ahead: skew + 500*time.Millisecond, refused: "issued in the future"},
		{claim: "nbf", ahead: skew},
		{claim: "nbf", ahead: skew + time.Second, refused: "not valid before"},
		{claim: "nbf", ahead: skew + 500*time.Millisecond, refused: "not valid before"},
		{claim: "nbf", ahead: -time.Hour},
	}
	shared := newFixture(t)
	for _, entry := range []ruleEntry{viaSignIn, viaExchange} {
		for _, tt := range tests {
			t.Run(string(entry)+" "+tt.claim+" "+tt.ahead.String()+" ahead", func(t *testing.T) {
				f := shared.freshCase(t)
				c := f.open()
				_, err := present(t, f, c, entry, func(claims map[string]any) {
					at := f.clock.Now().Add(tt.ahead)
					claims[tt.claim] = float64(at.UnixMilli()) / 1e3
				})
				if tt.refused == "" {
					require.NoError(t, err)
					return
				}
				var invalid *InvalidTokenError
				require.ErrorAs(t, err, &invalid)
				assert.Equal(t, KindInvalidClaims, invalid.Kind)
				assert.Contains(t, err.Error(), tt.refused)
			})
		}
	}
}

// The same rule with the real clock on both sides, Palette's tokens minted
// a little ahead of or beyond the allowed skew, with a margin for the time a
// sign-in takes.
func TestRuleIssuedAtSkewOnTheRealClock(t *testing.T) {
	const skew, margin = time.Minute, 5 * time.Second
	shared := newFixture(t).systemClock()
	for _, tt := range []struct {
		ahead    time.Duration
		accepted bool
	}{
		{ahead: skew - margin, accepted: true},
		{ahead: skew + margin},
	} {
		t.Run(tt.ahead.String()+" ahead", func(t *testing.T) {
			f := shared.freshCase(t)
			c := f.open()
			_, err := present(t, f, c, viaSignIn, func(claims map[string]any) {
				claims["iat"] = time.Now().Add(tt.ahead).Unix()
			})
			if tt.accepted {
				require.NoError(t, err)
				return
			}
			var invalid *InvalidTokenError
			require.ErrorAs(t, err, &invalid)
			assert.Contains(t, err.Error(), "issued in the future")
		})
	}
}

// A nonce claim that is not a string is refused: it neither counts as
// absent (which insecureAllowMissingNonce would accept) nor is it compared
// after a conversion, and token exchange, which checks no nonce value,
// refuses it too.
func TestRuleNonceMustBeAString(t *testing.T) {
	tests := []struct {
		name         string
		entry        ruleEntry
		allowMissing bool
		nonce        func(sent any) any
		accepted     bool
	}{
		{name: "number", entry: viaSignIn, nonce: func(any) any { return 42.0 }},
		{name: "null", entry: viaSignIn, nonce: func(any) any { return nil }},
		{name: "the nonce sent, in a list", entry: viaSignIn, nonce: func(sent any) any { return []any{sent} }},
		{name: "the nonce sent, in an object", entry: viaSignIn, nonce: func(sent any) any { return map[string]any{"nonce": sent} }},
		{name: "boolean", entry: viaSignIn, nonce: func(any) any { return true }},
		{name: "null, missing nonce allowed", entry: viaSignIn, allowMissing: true, nonce: func(any) any { return nil }},
		{name: "number, missing nonce allowed", entry: viaSignIn, allowMissing: true, nonce: func(any) any { return 0.0 }},
		{name: "empty list, missing nonce allowed", entry: viaSignIn, allowMissing: true, nonce: func(any) any { return []any{} }},
		{name: "number at token exchange", entry: viaExchange, nonce: func(any) any { return 42.0 }},
		{name: "null at token exchange", entry: viaExchange, nonce: func(any) any { return nil }},
		{name: "a string at token exchange (control)", entry: viaExchange, nonce: func(any) any { return "any-nonce" }, accepted: true},
		{name: "the nonce sent (control)", entry: viaSignIn, nonce: func(sent any) any { return sent }, accepted: true},
	}
	shared := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := shared.freshCase(t)
			f.cfg.InsecureAllowMissingNonce = tt.allowMissing
			c := f.open()
			_, err := present(t, f, c, tt.entry, func(claims map[string]any) {
				claims["nonce"] = tt.nonce(claims["nonce"])
			})
			if tt.accepted {
				require.NoError(t, err)
				return
			}
			var invalid *InvalidTokenError
			require.ErrorAs(t, err, &invalid)
			assert.Equal(t, KindInvalidClaims, invalid.Kind)
			assert.Contains(t, err.Error(), "nonce must be a string")
		})
	}
}
