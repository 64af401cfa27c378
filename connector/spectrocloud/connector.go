// Package spectrocloud implements a Dex connector for SpectroCloud Palette.
//
// Palette is an OIDC provider whose refresh token is an internal session
// token that cannot be used for a refresh grant, while its RS256 ID tokens
// are long-lived. The connector signs users in with the authorization-code
// flow (client secret, nonce, PKCE), verifies the ID token, and refreshes a
// Dex session by re-verifying the stored ID token against Palette's current
// signing keys, without any request to Palette's token endpoint: once the
// Palette ID token has expired, refresh fails and the user signs in again.
//
// The package has Dex's shape: Config (with the types of its keys) and
// Open, the connector Open returns behind Dex's connector interfaces, and
// the error types a caller tells apart. Beyond Dex's interfaces, the
// connector tells dex-spectro's server (internal/connhook) when the Palette
// sign-in behind an identity ends, so that no token Dex issues outlives it,
// and why a sign-in or refresh failed; it prepares a refresh before Dex
// opens its storage transaction; and it answers dex-spectro's commands
// (internal/probe) through Config.Probe. NewFactory is what dex-spectro
// registers in Dex's connector registry: its configurations record the
// connectors' metrics.
//
// Time follows one rule. Every instant the connector compares with a time
// Palette gave or with a time it kept (a token's exp, iat and nbf, the
// lifetime and refetch interval of cached keys, discovery and catalog
// answers, the age of the directory's copy) comes from one clock: the one
// the server that opens the connector gives it (connhook.Clock), the
// system's in production, a test's when the test moves it. Every duration
// the connector measures (request latencies in metrics and logs, the time a
// directory read took) is wall time, from time.Now and time.Since, so that
// a moved clock never shows in a latency.
package spectrocloud

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/dexidp/dex/connector"
	"golang.org/x/oauth2"

	"github.com/dex-spectro/dex-spectro/internal/connhook"
	"github.com/dex-spectro/dex-spectro/resolver"
)

var (
	_ connector.CallbackConnector      = (*spectroConnector)(nil)
	_ connector.RefreshConnector       = (*spectroConnector)(nil)
	_ connector.TokenIdentityConnector = (*spectroConnector)(nil)
	_ connhook.Lifetime                = (*spectroConnector)(nil)
	_ connhook.RefreshPreparer         = (*spectroConnector)(nil)
)

// spectroConnector is the connector returned by Config.Open.
type spectroConnector struct {
	id        string
	s         *settings
	client    *http.Client
	logger    *slog.Logger
	now       func() time.Time
	metrics   *connectorMetrics
	resolvers *resolver.Chain // nil without signIn
	providers providerCache
	auth      *clientAuth
	dir       *directoryGate // nil without a directory block
}

// Open validates the configuration and returns the connector. It tries
// discovery once; when Palette cannot be reached, the connector still opens
// and retries discovery at the first sign-in.
func (c *Config) Open(id string, logger *slog.Logger) (connector.Connector, error) {
	conn, err := c.open(id, logger)
	if err != nil {
		return nil, err
	}
	conn.startDirectory()
	if _, err := conn.providers.get(context.Background()); err != nil {
		conn.logger.Warn("palette discovery failed; it will be retried at the first sign-in", "err", err)
	}
	return conn, nil
}

// open builds the connector without any network request.
func (c *Config) open(id string, logger *slog.Logger) (*spectroConnector, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s, err := c.validate()
	if err != nil {
		return nil, err
	}
	client, err := newHTTPClient(s.rootCAs, s.insecureSkipVerify, s.timeout)
	if err != nil {
		return nil, err
	}
	now := connhook.Clock(logger)
	conn := &spectroConnector{
		id:      id,
		s:       s,
		client:  client,
		logger:  logger.With(slog.Group("connector", "type", "spectrocloud", "id", id)),
		now:     now,
		metrics: c.metrics.forConnector(id),
		auth:    newClientAuth(s.authMode),
	}
	for _, w := range s.warnings() {
		conn.logger.Warn("insecure setting", "key", w.Key, "risk", w.Risk)
	}
	if s.signIn != nil {
		conn.resolvers, err = resolver.New(*s.signIn, resolver.Options{Logger: conn.logger, Now: now, ObserveCatalog: conn.metrics.catalog})
		if err != nil {
			return nil, fmt.Errorf("spectrocloud: signIn: %w", err)
		}
	}
	if conn.dir, err = newDirectoryGate(s.directory, client, now, conn.metrics, conn.logger); err != nil {
		return nil, err
	}
	conn.providers.resolve, conn.providers.now = conn.resolveProvider, now
	return conn, nil
}

// resolveProvider finds the endpoints (discovery, overrides, Palette's
// layout) and builds the key set, verifier and OAuth2 configuration.
func (c *spectroConnector) resolveProvider(ctx context.Context) (*provider, error) {
	start := time.Now()
	doc, err := discover(ctx, c.client, c.s.issuer)
	c.metrics.upstream("discovery", start, err)
	if err != nil {
		if errors.Is(err, errIssuerMismatch) {
			// Configured endpoints never bypass a document for another issuer.
			return nil, &UpstreamError{Endpoint: "discovery", Err: fmt.Errorf("%s: %w: set issuer (or tenant and consoleURL) to the issuer Palette names", discoveryURL(c.s.issuer), err)}
		}
		if c.s.overrides.JWKSURL == "" {
			return nil, &UpstreamError{Endpoint: "discovery", Err: fmt.Errorf("%s: %w: without discovery, set providerDiscoveryOverrides.jwksURL (authURL defaults to <issuer>/auth, tokenURL to its sibling /token)", discoveryURL(c.s.issuer), err)}
		}
		c.logger.Warn("palette discovery failed; using the configured endpoints", "discovery_url", discoveryURL(c.s.issuer), "err", err)
		doc = nil
	}
	e, err := buildEndpoints(c.s.issuer, c.s.overrides, doc)
	if err != nil {
		return nil, fmt.Errorf("spectrocloud: %w", err)
	}
	if !cleartext(e.Issuer) {
		for _, u := range []string{e.AuthURL, e.TokenURL, e.JWKSURL} {
			if cleartext(u) {
				c.logger.Warn("insecure endpoint: plain http to another host", "url", u)
			}
		}
	}
	keys := newKeySet(e.JWKSURL, c.client, c.now, c.logger, c.metrics, c.s.jwksMaxStale)
	c.auth.discovered(doc, c.s.overrides.TokenURL != "")
	c.logger.Debug("palette endpoints", "auth_url", e.AuthURL, "token_url", e.TokenURL, "jwks_url", e.JWKSURL, "from_discovery", e.FromDiscovery)
	return &provider{
		endpoints: e,
		doc:       doc,
		keys:      keys,
		verifier:  newVerifier(e, c.s.clientID, keys, c.now),
		oauth2: &oauth2.Config{
			ClientID:     c.s.clientID,
			ClientSecret: c.s.clientSecret,
			RedirectURL:  c.s.redirectURI,
			Scopes:       c.s.scopes,
			// The AuthStyle is chosen per token request, by clientAuth.
			Endpoint: oauth2.Endpoint{AuthURL: e.AuthURL, TokenURL: e.TokenURL, AuthStyle: oauth2.AuthStyleInHeader},
		},
	}, nil
}
