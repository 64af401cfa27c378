package signincheck

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud"
	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/probe"
)

// dexDefaultIDTokens is Dex's default expiry.idTokens.
const dexDefaultIDTokens = 24 * time.Hour

// writeReport prints a trial's report, with more sections (such as the
// directory's) before the result. Every value comes from the report, which
// holds no token material.
func writeReport(w io.Writer, conn *config.Connector, expiry config.Expiry, rep *report, more ...func(io.Writer)) {
	e, s := rep.endpoints, rep.endpoints.Sources
	fmt.Fprintf(w, "connector %q (%s)\n", conn.ID, clean(conn.Name))
	fmt.Fprintln(w, "Palette")
	field(w, "issuer", e.Issuer, "source: "+s.Issuer)
	field(w, "authorization endpoint", e.AuthURL, "source: "+s.AuthURL)
	field(w, "token endpoint", e.TokenURL, "source: "+s.TokenURL)
	field(w, "JWKS", e.JWKSURL, "source: "+s.JWKSURL)
	field(w, "client authentication", clientAuthLine(rep.seen.ClientAuth), "")
	if a := rep.seen.ClientAuth; a != nil && a.Refusal != "" {
		field(w, "Palette answered", a.Refusal, "")
		field(w, "what to do", a.Advice, "")
	}
	field(w, "PKCE", pkceLine(rep.settings.PKCE), "")
	field(w, "nonce", nonceLine(rep), "")

	fmt.Fprintln(w, "ID token")
	if rep.seen.Token == nil {
		fmt.Fprintln(w, "  (none received)")
	} else {
		writeToken(w, rep.seen.Token, expiry)
	}

	fmt.Fprintln(w, "Dex identity")
	if rep.identity == nil {
		fmt.Fprintln(w, "  (none: the sign-in is refused)")
		var ce *spectrocloud.ClaimError
		if errors.As(rep.err, &ce) && ce.Key != "" {
			field(w, ce.Key, fmt.Sprintf("claim %q %s", ce.Claim, ce.Reason), "")
			field(w, "what to do", ce.Advice, "")
		}
	} else {
		id := rep.identity
		field(w, "user ID", id.UserID, "")
		field(w, "name", id.Username, "")
		field(w, "preferred_username", orNone(id.PreferredUsername), "")
		field(w, "email", id.Email, "")
		field(w, "email_verified", fmt.Sprint(id.EmailVerified), "")
		field(w, "groups", listOrNone(id.Groups), "")
		field(w, "decided by", decidedBy(rep.seen), "")
	}
	for _, section := range more {
		section(w)
	}
	fmt.Fprintln(w)
	if rep.err != nil {
		fmt.Fprintf(w, "Result: REFUSED. Dex would not sign this user in: %s\n", clean(rep.err.Error()))
		return
	}
	fmt.Fprintln(w, "Result: OK. Dex would sign this user in.")
}

// field prints one line of the report. Values come from Palette, the
// catalog or the configuration, so they are cleaned of control characters
// that a terminal would act on.
func field(w io.Writer, name, value, note string) {
	if note != "" {
		value += " (" + note + ")"
	}
	fmt.Fprintf(w, "  %-23s %s\n", name+":", clean(value))
}

// clean keeps the printable characters of s, so that text from Palette
// cannot move the cursor, recolour or rewrite the operator's terminal.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
}

func clientAuthLine(a *probe.ClientAuth) string {
	if a == nil {
		return "not tried: no token request was made"
	}
	verdict := "accepted"
	if !a.Accepted {
		verdict = "refused"
	}
	return fmt.Sprintf("%s, %s (%s)", a.Method, verdict, a.Choice)
}

func pkceLine(method string) string {
	if method == "" {
		return "not sent (pkceChallenge: none)"
	}
	return method + " challenge sent, verifier sent with the code; whether Palette enforces PKCE cannot be seen from here"
}

func nonceLine(rep *report) string {
	t := rep.seen.Token
	switch {
	case t == nil:
		return "sent; no ID token to look for it in"
	case t.NonceEchoed && t.NonceMatches:
		return "sent and echoed in the ID token; it matches"
	case t.NonceEchoed:
		return "sent, but the ID token carries another nonce: refused"
	case rep.settings.AllowMissingNonce:
		return "sent, not echoed in the ID token; accepted because insecureAllowMissingNonce is true"
	}
	return "sent, not echoed in the ID token: Dex refuses such tokens unless insecureAllowMissingNonce is true"
}

func writeToken(w io.Writer, t *probe.Token, expiry config.Expiry) {
	sig := "signature (against the JWKS), issuer, audience and times verified"
	if !t.Verified {
		sig = "not accepted (see the result below)"
	}
	field(w, "signing algorithm", orNone(t.Algorithm), "")
	field(w, "key ID", orNone(t.KeyID), "")
	field(w, "verification", sig, "")
	if t.IssuedAt.IsZero() || t.Expiry.IsZero() {
		field(w, "lifetime", "unknown: iat or exp is missing or not a time", "")
	} else {
		lifetime := t.Expiry.Sub(t.IssuedAt)
		field(w, "lifetime", fmt.Sprintf("%s (iat %s, exp %s)", lifetime, t.IssuedAt.UTC().Format(time.RFC3339), t.Expiry.UTC().Format(time.RFC3339)), "")
		idTokens, idNote := durationSetting(expiry.IDTokens, dexDefaultIDTokens)
		field(w, "Dex expiry", fmt.Sprintf("idTokens %s%s; refreshTokens absoluteLifetime %s, validIfNotUsedFor %s",
			idTokens, idNote, settingOrUnlimited(expiry.RefreshTokens.AbsoluteLifetime), settingOrUnlimited(expiry.RefreshTokens.ValidIfNotUsedFor)), "")
		for _, line := range lifetimeMeaning(lifetime, expiry) {
			field(w, "what it means", line, "")
		}
	}
	fmt.Fprintln(w, "  claims:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range t.Claims {
		value := c.Value
		if value == "" {
			value = "(value not shown)"
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\n", clean(c.Name), clean(c.Shape), clean(value))
	}
	_ = tw.Flush()
}

// lifetimeMeaning explains what the Palette ID token's lifetime means for
// Dex sessions under the configured expiry.
func lifetimeMeaning(lifetime time.Duration, expiry config.Expiry) []string {
	lines := []string{fmt.Sprintf("every token Dex issues from this sign-in ends with it, after at most %s: dex-spectro caps their exp at the Palette ID token's, and a refresh re-verifies that token and fails once it expires, unless the user has signed in through this connector again since", lifetime)}
	idTokens, _ := durationSetting(expiry.IDTokens, dexDefaultIDTokens)
	if idTokens > lifetime {
		lines = append(lines, fmt.Sprintf("expiry.idTokens (%s) is longer than the Palette sign-in: Dex's tokens end with the sign-in instead, up to %s earlier", idTokens, idTokens-lifetime))
	}
	d, err := time.ParseDuration(expiry.RefreshTokens.AbsoluteLifetime)
	switch {
	case expiry.RefreshTokens.AbsoluteLifetime == "":
		lines = append(lines, "refreshTokens.absoluteLifetime is not set: a refresh token stays usable as long as the user keeps signing in to Palette through Dex, from any client")
	case err == nil && d > 0 && d < lifetime:
		lines = append(lines, fmt.Sprintf("refreshTokens.absoluteLifetime (%s) ends sessions before the Palette ID token does", d))
	case err == nil && d > 4*lifetime:
		lines = append(lines, fmt.Sprintf("refreshTokens.absoluteLifetime (%s) is far beyond this sign-in's lifetime: a refresh token stays usable that long as the user keeps signing in to Palette through Dex, from any client", d))
	}
	return lines
}

func durationSetting(v string, def time.Duration) (time.Duration, string) {
	if v == "" {
		return def, " (Dex's default)"
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return def, " (unreadable setting " + fmt.Sprintf("%q", v) + "; Dex's default)"
	}
	return d, ""
}

func settingOrUnlimited(v string) string {
	if v == "" {
		return "not set (unlimited)"
	}
	return v
}

func decidedBy(seen *probe.SignIn) string {
	if seen.Resolver == "" {
		return "the ID token's claims (no signIn resolvers configured)"
	}
	s := "sign-in resolver " + seen.Resolver
	if seen.EntityRef != "" {
		s += ", catalog entity " + seen.EntityRef
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func listOrNone(items []string) string {
	if len(items) == 0 {
		return "(none)"
	}
	return strings.Join(items, ", ")
}
