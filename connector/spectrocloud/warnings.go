package spectrocloud

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/dex-spectro/dex-spectro/internal/probe"
	"github.com/dex-spectro/dex-spectro/resolver"
)

// warnings lists the settings that weaken the connector's security: valid,
// but an operator should know what they expose. Open logs each of them at
// start-up; `dex-spectro check` prints them (probe.Connector.Warnings).
func (s *settings) warnings() []probe.Warning {
	var ws []probe.Warning
	add := func(key, risk string) { ws = append(ws, probe.Warning{Key: key, Risk: risk}) }
	if s.insecureSkipVerify {
		add("insecureSkipVerify", "Palette's TLS certificate is not verified: anyone on the network path can pose as Palette and sign in as any user")
	}
	for _, u := range []struct{ key, url string }{
		{"issuer", s.issuer},
		{"providerDiscoveryOverrides.authURL", s.overrides.AuthURL},
		{"providerDiscoveryOverrides.tokenURL", s.overrides.TokenURL},
		{"providerDiscoveryOverrides.jwksURL", s.overrides.JWKSURL},
	} {
		if cleartext(u.url) {
			add(u.key, "plain http to another host: the client secret, authorization codes and ID tokens cross the network unencrypted, and the signing keys can be replaced on the way")
		}
	}
	if s.signIn != nil && s.signIn.Catalog != nil && cleartext(s.signIn.Catalog.BaseURL) {
		add("signIn.catalog.baseURL", "plain http to another host: the catalog's bearer token crosses the network unencrypted")
	}
	switch s.pkce {
	case "":
		add("pkceChallenge", "none: an authorization code intercepted on its way back from Palette can be redeemed by whoever holds the client secret")
	case pkcePlain:
		add("pkceChallenge", "plain: the verifier travels in the authorization URL, which gives PKCE no protection against an intercepted code")
	}
	if s.insecureAllowMissingNonce {
		add("insecureAllowMissingNonce", "an ID token without a nonce is accepted: a token replayed from another sign-in is not detected")
	}
	if s.signIn != nil {
		for i, r := range s.signIn.Resolvers {
			if r.Resolver == resolver.EmailLocalPartMatchingUserEntityName && len(r.AllowedDomains) == 0 {
				add(fmt.Sprintf("signIn.resolvers[%d].allowedDomains", i), "not set for emailLocalPartMatchingUserEntityName: "+
					"the email's local part alone decides the user, so alice@any-domain signs in as the catalog user alice; "+
					"list the domains whose addresses are your users'")
			}
		}
	}
	if s.insecureSkipEmailVerified && usesEmailResolver(s.signIn) {
		add("insecureSkipEmailVerified", "with an email resolver, an unverified email decides which Backstage user signs in: anyone who can set an email address in Palette can become that user")
	}
	return append(ws, s.directory.warnings()...)
}

// usesEmailResolver reports whether a resolver decides by email.
func usesEmailResolver(c *resolver.Config) bool {
	if c == nil {
		return false
	}
	for _, r := range c.Resolvers {
		if r.Resolver == resolver.EmailMatchingUserEntityProfileEmail || r.Resolver == resolver.EmailLocalPartMatchingUserEntityName {
			return true
		}
	}
	return false
}

// cleartext reports whether raw is a plain http URL to a host other than
// this one (loopback traffic does not cross a network).
func cleartext(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !strings.EqualFold(u.Scheme, "http") {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}
