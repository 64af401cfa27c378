package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/dex-spectro/dex-spectro/internal/connectors"
)

// Topics of the warnings Warnings returns: what they are about, as `serve`
// logs them.
const (
	TopicRefreshTokens = "refresh token policy"
	TopicTokenExchange = "token exchange"
)

// Warnings lists what a valid configuration allows that exposes sessions or
// tokens more than an operator may expect, each with its Topic: `serve`
// logs them at start-up and `check` prints them. (The warnings of Load are
// about the file itself.)
//
//   - For its spectrocloud connectors, a refresh token stays usable as long
//     as the user signs in to Palette through the connector again (the
//     offline session follows the latest sign-in), up to
//     expiry.refreshTokens.absoluteLifetime.
//   - For every client, without a reuse interval, two requests refreshing
//     one token at once make one of them fail for good.
//   - With token exchange enabled, a public static client lets anyone
//     exchange an ID token a connector accepts for Dex's tokens.
func (c *Config) Warnings() []Warning {
	var ws []Warning
	for _, w := range []Warning{
		{Topic: TopicRefreshTokens, Message: c.reuseWarning()},
		{Topic: TopicRefreshTokens, Message: c.lifetimeWarning()},
		{Topic: TopicTokenExchange, Message: c.tokenExchangeWarning()},
	} {
		if w.Message != "" {
			ws = append(ws, w)
		}
	}
	return ws
}

// paletteSessionCeiling is the longest session a Palette tenant can be set to
// (authTokenSettings.expiryTimeMinutes, 15 to 1440 minutes).
const paletteSessionCeiling = 24 * time.Hour

// reuseWarning warns when rotated refresh tokens cannot be presented again.
// Clients that share a session refresh at the same moment: Backstage's
// tabs and backend replicas, kubectl and k9s. Without a reuse interval, Dex
// rotates the token for the first request and refuses the others as
// "claimed twice", which signs their users out.
func (c *Config) reuseWarning() string {
	rt := c.Expiry.RefreshTokens
	if rt.DisableRotation || rt.ReuseInterval != "" {
		return ""
	}
	return "expiry.refreshTokens.reuseInterval is not set: when two clients of one session refresh at the same moment " +
		"(Backstage's tabs or backend replicas, kubectl and k9s), one of them is refused as \"claimed twice\" and its user is signed out; " +
		"set it (for example to 5s)"
}

// lifetimeWarning warns when refresh tokens of spectrocloud connectors have
// no end, or one far beyond any Palette session.
func (c *Config) lifetimeWarning() string {
	spectro := false
	for _, conn := range c.StaticConnectors {
		spectro = spectro || conn.Type == connectors.SpectroCloud
	}
	if !spectro {
		return ""
	}
	const follow = "a refresh token of a spectrocloud connector keeps working as long as its user signs in to Palette through Dex again, from any client"
	lifetime := c.Expiry.RefreshTokens.AbsoluteLifetime
	if lifetime == "" {
		return "expiry.refreshTokens.absoluteLifetime is not set: " + follow + ", with no end; set it (for example to 24h)"
	}
	d, err := time.ParseDuration(lifetime)
	if err != nil || d <= 4*paletteSessionCeiling {
		return ""
	}
	return fmt.Sprintf("expiry.refreshTokens.absoluteLifetime is %s, far beyond the %s a Palette session can last at most: %s, for up to %s", lifetime, paletteSessionCeiling, follow, lifetime)
}

// grantTokenExchange is the grant type of RFC 8693 token exchange.
const grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// tokenExchangeWarning warns when token exchange is open to a public
// static client: with the grant enabled (oauth2.grantTypes lists it, or is
// not set, which enables every grant), a public client authenticates with
// no secret, so anyone can exchange an ID token that a connector accepts (a
// Palette ID token, for a spectrocloud connector) for Dex's tokens issued to
// that client.
func (c *Config) tokenExchangeWarning() string {
	enabled := len(c.OAuth2.GrantTypes) == 0
	for _, g := range c.OAuth2.GrantTypes {
		enabled = enabled || g == grantTokenExchange
	}
	if !enabled {
		return ""
	}
	var public []string
	for i, client := range c.ResolvedStaticClients() {
		if client.Public {
			public = append(public, fmt.Sprintf("staticClients[%d] (%q)", i, client.ID))
		}
	}
	if len(public) == 0 {
		return ""
	}
	clients, them := strings.Join(public, ", ")+" is", "it"
	if len(public) > 1 {
		clients, them = strings.Join(public, ", ")+" are", "them"
	}
	return fmt.Sprintf("token exchange (%s) is enabled by oauth2.grantTypes (every grant is when it is not set) and %s public: "+
		"anyone can exchange an ID token that a connector accepts, a Palette ID token for a spectrocloud connector, for Dex's tokens issued to %s, without a client secret; "+
		"leave the token-exchange grant out of oauth2.grantTypes, or exchange tokens only through confidential clients",
		grantTokenExchange, clients, them)
}
