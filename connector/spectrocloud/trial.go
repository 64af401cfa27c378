package spectrocloud

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/dexidp/dex/connector"
)

// Trial runs sign-ins through a connector the way Dex does, LoginURL and
// then HandleCallback with the URL Palette sent the browser back to, and
// reports what Palette sent and what Dex would make of it. It is what
// `dex-spectro check --sign-in` is built on. Nothing it returns holds token
// material: not the code, the ID token, the nonce or the PKCE verifier.
type Trial struct {
	conn   *spectroConnector
	config *Config
}

// OpenTrial validates the configuration and opens the connector as Open
// does, for a Trial. Unlike Open, it does not contact Palette.
func (c *Config) OpenTrial(id string, logger *slog.Logger) (*Trial, error) {
	conn, err := c.open(id, logger)
	if err != nil {
		return nil, err
	}
	return &Trial{conn: conn, config: c}, nil
}

// RedirectURI returns the connector's redirectURI: where Palette sends the
// browser back with the code.
func (t *Trial) RedirectURI() string { return t.conn.s.redirectURI }

// PendingSignIn is a sign-in started by Trial.Start. It holds the sign-in's
// secrets (nonce, PKCE verifier) and does not reveal them.
type PendingSignIn struct {
	connData []byte
	nonce    string
}

// Start returns Palette's authorization URL for a new sign-in with this
// state, exactly as Dex's login page gets it from the connector.
func (t *Trial) Start(ctx context.Context, state string) (string, *PendingSignIn, error) {
	if _, err := t.conn.providers.get(ctx); err != nil {
		return "", nil, err
	}
	authURL, connData, err := t.conn.LoginURL(trialScopes, t.conn.s.redirectURI, state)
	if err != nil {
		return "", nil, err
	}
	ls, err := t.conn.decodeLoginState(connData)
	if err != nil {
		return "", nil, err
	}
	return authURL, &PendingSignIn{connData: connData, nonce: ls.Nonce}, nil
}

// trialScopes are the scopes of a trial sign-in: groups are reported.
var trialScopes = connector.Scopes{OfflineAccess: true, Groups: true}

// TrialReport is what a trial sign-in found.
type TrialReport struct {
	// Endpoints are the endpoints used.
	Endpoints Endpoints
	// Sources say where each endpoint came from.
	Sources EndpointSources
	// ClientAuth is how the connector authenticated at the token endpoint;
	// its Method is empty when no token request was made.
	ClientAuth ClientAuthReport
	// PKCE is the PKCE method sent (S256 or plain), empty when off.
	PKCE string
	// Nonce says whether Palette echoed the nonce.
	Nonce NonceReport
	// Token describes the ID token; nil when none was received.
	Token *TokenReport
	// Identity is the Dex identity that results; nil when Err is set.
	Identity *TrialIdentity
	// Err says why Dex would refuse this sign-in; nil when it would sign
	// the user in. Its message holds no token material.
	Err error
}

// EndpointSources say where the issuer and each endpoint came from.
type EndpointSources struct {
	Issuer, AuthURL, TokenURL, JWKSURL string
}

// ClientAuthReport is the client authentication of the token request.
type ClientAuthReport struct {
	// Method is client_secret_basic or client_secret_post.
	Method string
	// Choice says how Method was chosen.
	Choice string
	// Accepted is true when the token endpoint accepted the request.
	Accepted bool
	// Refusal, when the token endpoint's answer says the method or the
	// credentials may be wrong, says what it answered; Advice says what to
	// check or set (basicAuthUnsupported).
	Refusal, Advice string
}

// NonceReport says what became of the nonce sent.
type NonceReport struct {
	// Echoed is true when the ID token carries a nonce; Matches when it is
	// the one sent.
	Echoed, Matches bool
	// AllowMissing is insecureAllowMissingNonce.
	AllowMissing bool
}

// TokenReport describes an ID token without its signature or secrets.
type TokenReport struct {
	// Algorithm and KeyID are from the JWS header.
	Algorithm, KeyID string
	// IssuedAt and Expiry are iat and exp; zero when absent or not a time.
	IssuedAt, Expiry time.Time
	// Verified is true when the token passed verification (signature,
	// issuer, audience, times; the nonce is reported apart); the claims
	// below are shown either way.
	Verified bool
	// Claims are the claims in name order.
	Claims []ClaimShape
}

// ClaimShape is one claim: its name, the JSON shape of its value, and the
// value itself for claims that are safe and useful to show.
type ClaimShape struct {
	Name  string
	Shape string
	// Value is the value for display, empty when it is not shown.
	Value string
}

// TrialIdentity is the identity Dex would receive.
type TrialIdentity struct {
	UserID, Username, PreferredUsername, Email string
	EmailVerified                              bool
	Groups                                     []string
	// Resolver is the sign-in resolver that decided, empty without signIn;
	// EntityRef the catalog entity it found, if any.
	Resolver, EntityRef string
}

// Finish completes the sign-in with the URL Palette sent the browser back
// to (redirectURI with code and state, or with error), through the
// connector's HandleCallback. The caller checks state, as Dex does before
// it calls the connector.
func (t *Trial) Finish(ctx context.Context, p *PendingSignIn, callback *url.URL) *TrialReport {
	rep := &TrialReport{PKCE: t.conn.s.pkce, Nonce: NonceReport{AllowMissing: t.conn.s.insecureAllowMissingNonce}}
	if p == nil || callback == nil {
		rep.Err = errors.New("spectrocloud: no sign-in to finish")
		return rep
	}
	prov, err := t.conn.providers.get(ctx)
	if err != nil {
		rep.Err = err
		return rep
	}
	rep.Endpoints = *prov.endpoints
	rep.Sources = t.sources(ctx, prov.endpoints)

	ctx, trace := withTrace(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, callback.String(), nil)
	if err != nil {
		rep.Err = fmt.Errorf("spectrocloud: callback URL: %w", err)
		return rep
	}
	id, err := t.conn.HandleCallback(trialScopes, p.connData, req)
	rep.Err = err
	if trace.authSent {
		r := trace.authRequest
		rep.ClientAuth = ClientAuthReport{Method: r.attempt.method, Choice: r.attempt.why, Accepted: trace.authOK}
		if r.refusal != nil {
			rep.ClientAuth.Refusal, rep.ClientAuth.Advice = r.refusal.summary, r.refusal.advice
		}
	}
	if trace.rawIDToken != "" {
		rep.Token = describeIDToken(trace.rawIDToken, t.conn.s.claims, trace.tokenOK)
		if n, ok := tokenNonce(trace.rawIDToken); ok {
			rep.Nonce.Echoed = true
			rep.Nonce.Matches = subtle.ConstantTimeCompare([]byte(n), []byte(p.nonce)) == 1
		}
	}
	if err == nil {
		rep.Identity = &TrialIdentity{
			UserID: id.UserID, Username: id.Username, PreferredUsername: id.PreferredUsername,
			Email: id.Email, EmailVerified: id.EmailVerified, Groups: id.Groups,
		}
		if trace.resolved != nil {
			rep.Identity.Resolver, rep.Identity.EntityRef = trace.resolved.Resolver, trace.resolved.EntityRef
		}
	}
	return rep
}

// sources says where each endpoint came from. It reads the discovery
// document again, to tell endpoints it gave from those derived from
// Palette's layout.
func (t *Trial) sources(ctx context.Context, e *Endpoints) EndpointSources {
	s := EndpointSources{Issuer: "issuer"}
	switch {
	case t.config.Tenant != "" && t.config.ConsoleURL == "":
		s.Issuer = "tenant, with the default consoleURL " + DefaultConsoleURL
	case t.config.Tenant != "":
		s.Issuer = "tenant and consoleURL"
	}
	var doc *discoveryDoc
	if e.FromDiscovery {
		doc, _ = discover(ctx, t.conn.client, e.Issuer)
	}
	o := t.conn.s.overrides
	pick := func(override, fromDoc, fallback string) string {
		switch {
		case override != "":
			return "providerDiscoveryOverrides"
		case fromDoc != "":
			return "discovery"
		}
		return fallback
	}
	var docAuth, docToken, docJWKS string
	if doc != nil {
		docAuth, docToken, docJWKS = doc.AuthURL, doc.TokenURL, doc.JWKSURL
	}
	s.AuthURL = pick(o.AuthURL, docAuth, "Palette's layout, <issuer>/auth")
	s.TokenURL = pick(o.TokenURL, docToken, "derived from the authorization endpoint, …/auth → …/token")
	s.JWKSURL = pick(o.JWKSURL, docJWKS, "discovery")
	if o.AuthURL != "" {
		s.AuthURL += ".authURL"
	}
	if o.TokenURL != "" {
		s.TokenURL += ".tokenURL"
	}
	if o.JWKSURL != "" {
		s.JWKSURL += ".jwksURL"
	}
	return s
}
