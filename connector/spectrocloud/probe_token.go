package spectrocloud

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dex-spectro/dex-spectro/internal/probe"
)

// shownClaims are the claims whose values `check --sign-in` shows (see
// describeIDToken): who the user is and what Dex maps. Other claims (nonce,
// at_hash, sid, jti, custom claims) are shown by shape only.
var shownClaims = []string{"iss", "aud", "azp", "sub", "email", "email_verified", "name", "given_name",
	"family_name", "preferred_username", "groups"}

// timeClaims are shown as times.
var timeClaims = []string{"iat", "exp", "nbf", "auth_time"}

// describeIDToken reads the header and claims of a compact JWS for a
// command (probe.SignIn), without checking the signature: the caller says
// whether the connector verified it, and gives the nonce the sign-in sent,
// which is compared, never shown. A token that cannot be read gives a
// description of what could be read. Nothing returned is token material.
func describeIDToken(raw string, rules claimRules, verified bool, nonce string) *probe.Token {
	rep := &probe.Token{Verified: verified}
	if n, ok := tokenNonce(raw); ok {
		rep.NonceEchoed = true
		rep.NonceMatches = subtle.ConstantTimeCompare([]byte(n), []byte(nonce)) == 1
	}
	parts := strings.Split(raw, ".")
	if len(raw) > maxIDTokenBytes || len(parts) != 3 {
		rep.Algorithm = "(not a compact JWS)"
		return rep
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		rep.Algorithm = "(unreadable header)"
		return rep
	}
	rep.Algorithm, rep.KeyID = printable(header.Alg, 32), printable(header.Kid, 128)
	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil {
		return rep
	}
	rep.IssuedAt, _ = claimTime(claims["iat"])
	rep.Expiry, _ = claimTime(claims["exp"])
	shown := slices.Clone(shownClaims)
	shown = append(shown, rules.userIDKey, rules.userNameKey, rules.emailKey, rules.groupsKey, rules.preferredUsernameKey)
	names := make([]string, 0, len(claims))
	for name := range claims {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := claims[name]
		c := probe.Claim{Name: printable(name, 64), Shape: shapeOf(v)}
		switch {
		case slices.Contains(timeClaims, name):
			if ts, ok := claimTime(v); ok {
				c.Value = ts.UTC().Format(time.RFC3339)
			}
		case name != "" && slices.Contains(shown, name):
			c.Value = displayValue(v)
		}
		rep.Claims = append(rep.Claims, c)
	}
	return rep
}

// tokenNonce returns the token's nonce claim, for comparison only.
func tokenNonce(raw string) (string, bool) {
	parts := strings.Split(raw, ".")
	if len(raw) > maxIDTokenBytes || len(parts) != 3 {
		return "", false
	}
	var claims struct {
		Nonce *string `json:"nonce"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil || claims.Nonce == nil {
		return "", false
	}
	return *claims.Nonce, true
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

func claimTime(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// shapeOf names the JSON shape of a claim value.
func shapeOf(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case map[string]any:
		return fmt.Sprintf("object (%d keys)", len(t))
	case []any:
		kinds := map[string]bool{}
		for _, item := range t {
			kinds[shapeOf(item)] = true
		}
		switch len(kinds) {
		case 0:
			return "empty list"
		case 1:
			for k := range kinds {
				return fmt.Sprintf("list of %d %ss", len(t), strings.Fields(k)[0])
			}
		}
		return fmt.Sprintf("list of %d mixed values", len(t))
	}
	return "unknown"
}

// displayValue renders a shown claim's value on one line, capped.
func displayValue(v any) string {
	switch t := v.(type) {
	case string:
		return fmt.Sprintf("%q", printable(t, 200))
	case bool:
		return fmt.Sprint(t)
	case json.Number:
		return printable(t.String(), 32)
	case []any:
		items := make([]string, 0, len(t))
		for i, item := range t {
			if i == 20 {
				items = append(items, fmt.Sprintf("… %d more", len(t)-i))
				break
			}
			items = append(items, displayValue(item))
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return ""
}
