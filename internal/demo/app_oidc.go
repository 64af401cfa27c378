package demo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// scopes are what the demo app asks Dex for: offline_access for a refresh
// token, groups for the Palette teams.
func scopes() []string {
	return []string{oidc.ScopeOpenID, "profile", "email", "groups", "federated:id", oidc.ScopeOfflineAccess}
}

// dexClient is the demo app's OIDC client of Dex, discovering Dex on first
// use (Dex may still be starting when the app is built).
type dexClient struct {
	issuer, clientID, clientSecret, redirectURI string
	http                                        *http.Client
	now                                         func() time.Time

	mu       sync.Mutex
	oauth2   *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// tokens are the result of a code exchange or a refresh.
type tokens struct {
	idToken      string
	refreshToken string
	claims       map[string]any
	expiry       time.Time
	nonce        string
}

// discover returns the client configuration, discovering Dex once.
func (c *dexClient) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.oauth2 != nil {
		return c.oauth2, c.verifier, nil
	}
	provider, err := oidc.NewProvider(c.context(ctx), c.issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("discover Dex at %s: %w", c.issuer, err)
	}
	c.oauth2 = &oauth2.Config{
		ClientID:     c.clientID,
		ClientSecret: c.clientSecret,
		RedirectURL:  c.redirectURI,
		Endpoint:     provider.Endpoint(),
		Scopes:       scopes(),
	}
	c.verifier = provider.Verifier(&oidc.Config{ClientID: c.clientID, Now: c.now})
	return c.oauth2, c.verifier, nil
}

// authCodeURL starts a sign-in with state, nonce and PKCE.
func (c *dexClient) authCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	cfg, _, err := c.discover(ctx)
	if err != nil {
		return "", err
	}
	return cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// exchange redeems an authorization code and verifies the ID token.
func (c *dexClient) exchange(ctx context.Context, code, verifier string) (*tokens, error) {
	cfg, v, err := c.discover(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := cfg.Exchange(c.context(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("redeem the code at Dex: %w", err)
	}
	return c.verify(ctx, v, tok)
}

// refresh runs the refresh grant and verifies the new ID token.
func (c *dexClient) refresh(ctx context.Context, refreshToken string) (*tokens, error) {
	cfg, v, err := c.discover(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := cfg.TokenSource(c.context(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return nil, fmt.Errorf("refresh at Dex: %w", err)
	}
	return c.verify(ctx, v, tok)
}

func (c *dexClient) verify(ctx context.Context, v *oidc.IDTokenVerifier, tok *oauth2.Token) (*tokens, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, errors.New("dex answered without an ID token")
	}
	idToken, err := v.Verify(c.context(ctx), raw)
	if err != nil {
		return nil, fmt.Errorf("verify Dex's ID token: %w", err)
	}
	var claims map[string]any
	if err := idToken.Claims(&claims); err != nil {
		return nil, fmt.Errorf("decode Dex's ID token claims: %w", err)
	}
	return &tokens{
		idToken:      raw,
		refreshToken: tok.RefreshToken,
		claims:       claims,
		expiry:       idToken.Expiry,
		nonce:        idToken.Nonce,
	}, nil
}

// context carries the HTTP client to oauth2 and go-oidc.
func (c *dexClient) context(ctx context.Context) context.Context {
	return oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, c.http), c.http)
}
