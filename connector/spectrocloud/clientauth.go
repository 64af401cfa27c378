package spectrocloud

import (
	"context"
	"errors"
	"sync"

	"golang.org/x/oauth2"
)

// Client authentication methods at the token endpoint, by their names in
// token_endpoint_auth_methods_supported.
const (
	authMethodBasic = "client_secret_basic"
	authMethodPost  = "client_secret_post"
)

// How the client authentication method of a token request was chosen.
const (
	authChosenByConfig    = "basicAuthUnsupported is true"
	authChosenByDiscovery = "token_endpoint_auth_methods_supported in discovery"
	authChosenByDefault   = "tried first: discovery does not say which methods the token endpoint takes"
	authChosenByFallback  = "fallback: the token endpoint refused client_secret_basic with invalid_client"
	authChosenByMemory    = "remembered: it worked for an earlier sign-in"
)

// clientAuth chooses how the connector authenticates at Palette's token
// endpoint. Whether Palette takes client_secret_basic is not known; the
// Backstage module uses client_secret_post. In order:
//
//   - basicAuthUnsupported: true forces client_secret_post;
//   - a discovery document that lists token_endpoint_auth_methods_supported
//     decides: client_secret_basic when listed, else client_secret_post when
//     listed;
//   - otherwise client_secret_basic is tried, and client_secret_post once when
//     the token endpoint answers invalid_client; whatever works is remembered
//     for the connector's lifetime.
//
// The fallback resends the code, which is single use. It happens only after
// invalid_client: a token endpoint authenticates the client before it looks
// at the code (RFC 6749 section 3.2.1), so that code has not been redeemed.
// After any other failure, such as invalid_grant, a timeout or a broken
// connection, Palette may have consumed the code and it is never sent
// again. It is safe for concurrent use.
type clientAuth struct {
	forcePost bool

	mu         sync.Mutex
	advertised string // the method discovery decides, "" when it does not
	learned    string // the method that worked when probing, "" before
}

// authAttempt is one way of sending a token request.
type authAttempt struct {
	method string // authMethodBasic or authMethodPost
	why    string // one of the authChosenBy constants
}

func (a authAttempt) style() oauth2.AuthStyle {
	if a.method == authMethodPost {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// discovered records what a discovery document (nil when there is none)
// says about the token endpoint. tokenOverridden, true when
// providerDiscoveryOverrides.tokenURL replaces the document's token
// endpoint, makes the document's methods irrelevant.
func (a *clientAuth) discovered(doc *discoveryDoc, tokenOverridden bool) {
	advertised := ""
	if doc != nil && !tokenOverridden {
		switch {
		case contains(doc.TokenAuthMethods, authMethodBasic):
			advertised = authMethodBasic
		case contains(doc.TokenAuthMethods, authMethodPost):
			advertised = authMethodPost
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.advertised = advertised
}

// plan returns the first attempt, and whether a fallback to
// client_secret_post is allowed after invalid_client.
func (a *clientAuth) plan() (authAttempt, bool) {
	if a.forcePost {
		return authAttempt{authMethodPost, authChosenByConfig}, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.advertised != "":
		return authAttempt{a.advertised, authChosenByDiscovery}, false
	case a.learned != "":
		return authAttempt{a.learned, authChosenByMemory}, false
	}
	return authAttempt{authMethodBasic, authChosenByDefault}, true
}

// learn remembers the method that worked while probing.
func (a *clientAuth) learn(method string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.learned = method
}

// redeem sends the token request, falling back to client_secret_post once
// when plan allows it and the token endpoint refused the client with
// invalid_client. It returns the attempt that got the final answer.
func (a *clientAuth) redeem(ctx context.Context, cfg *oauth2.Config, code string, opts []oauth2.AuthCodeOption) (*oauth2.Token, authAttempt, error) {
	attempt, mayFallBack := a.plan()
	tok, err := exchangeWith(ctx, cfg, attempt, code, opts)
	if err != nil && mayFallBack && isInvalidClient(err) {
		attempt = authAttempt{authMethodPost, authChosenByFallback}
		tok, err = exchangeWith(ctx, cfg, attempt, code, opts)
	}
	if err == nil && mayFallBack {
		a.learn(attempt.method)
	}
	return tok, attempt, err
}

func exchangeWith(ctx context.Context, cfg *oauth2.Config, attempt authAttempt, code string, opts []oauth2.AuthCodeOption) (*oauth2.Token, error) {
	c := *cfg
	c.Endpoint.AuthStyle = attempt.style()
	return c.Exchange(ctx, code, opts...)
}

// isInvalidClient reports whether the token endpoint answered the OAuth
// error invalid_client (RFC 6749 section 5.2), the one answer that tells
// the code was not looked at.
func isInvalidClient(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_client"
}
