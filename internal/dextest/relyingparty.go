package dextest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// RelyingParty is an OIDC client of Dex, as an application would be.
type RelyingParty struct {
	// OAuth2 is the client configuration, with Dex's endpoints.
	OAuth2 oauth2.Config
	// Verifier verifies Dex's ID tokens.
	Verifier *oidc.IDTokenVerifier
	// HTTPClient talks to Dex's back-channel endpoints.
	HTTPClient *http.Client
}

// Claims are the ID token claims tests assert on.
type Claims struct {
	Subject           string   `json:"sub"`
	Email             string   `json:"email"`
	EmailVerified     bool     `json:"email_verified"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Groups            []string `json:"groups"`
	Nonce             string   `json:"nonce"`
	FederatedClaims   struct {
		ConnectorID string `json:"connector_id"`
		UserID      string `json:"user_id"`
	} `json:"federated_claims"`
}

// Tokens are the result of a sign-in or a refresh.
type Tokens struct {
	OAuth2  *oauth2.Token
	IDToken *oidc.IDToken
	Claims  Claims
	// Code is Dex's authorization code; Nonce and Verifier are the relying
	// party's nonce and PKCE verifier. A sign-in sets them, a refresh does
	// not.
	Code, Nonce, Verifier string
}

// RawIDToken is the ID token as Dex issued it.
func (t *Tokens) RawIDToken() string {
	raw, _ := t.OAuth2.Extra("id_token").(string)
	return raw
}

// NewRelyingParty discovers Dex at issuer and returns a client for it.
func NewRelyingParty(ctx context.Context, issuer, clientID, clientSecret, redirectURI string, scopes ...string) (*RelyingParty, error) {
	client := &http.Client{}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, client), issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", issuer, err)
	}
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "profile", "email", "groups", "federated:id", oidc.ScopeOfflineAccess}
	}
	return &RelyingParty{
		OAuth2: oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			RedirectURL:  redirectURI,
			Endpoint:     provider.Endpoint(),
			Scopes:       scopes,
		},
		Verifier:   provider.Verifier(&oidc.Config{ClientID: clientID}),
		HTTPClient: client,
	}, nil
}

// SignIn runs the authorization-code flow with state, nonce and PKCE: the
// browser plays the user, then the code is exchanged and the ID token
// verified. A sign-in that ends on a page instead of the redirect URI is a
// *PageError.
func (rp *RelyingParty) SignIn(ctx context.Context, b *Browser) (*Tokens, error) {
	state, nonce, verifier := randomString(), randomString(), oauth2.GenerateVerifier()
	authURL := rp.OAuth2.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	callback, err := b.Authorize(ctx, authURL, rp.OAuth2.RedirectURL)
	if err != nil {
		return nil, fmt.Errorf("authorize: %w", err)
	}
	q := callback.Query()
	if e := q.Get("error"); e != "" {
		return nil, fmt.Errorf("authorization failed: %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != state {
		return nil, errors.New("state mismatch")
	}
	code := q.Get("code")
	tok, err := rp.OAuth2.Exchange(rp.context(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("exchange code: %w", err)
	}
	tokens, err := rp.verify(ctx, tok)
	if err != nil {
		return nil, err
	}
	if tokens.Claims.Nonce != nonce {
		return nil, errors.New("nonce mismatch")
	}
	tokens.Code, tokens.Nonce, tokens.Verifier = code, nonce, verifier
	return tokens, nil
}

// Refresh redeems a refresh token and verifies the new ID token.
func (rp *RelyingParty) Refresh(ctx context.Context, refreshToken string) (*Tokens, error) {
	ts := rp.OAuth2.TokenSource(rp.context(ctx), &oauth2.Token{RefreshToken: refreshToken})
	tok, err := ts.Token()
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	return rp.verify(ctx, tok)
}

// verify verifies the ID token of a token response.
func (rp *RelyingParty) verify(ctx context.Context, tok *oauth2.Token) (*Tokens, error) {
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, errors.New("token response without id_token")
	}
	idToken, err := rp.Verifier.Verify(rp.context(ctx), raw)
	if err != nil {
		return nil, fmt.Errorf("verify ID token: %w", err)
	}
	t := &Tokens{OAuth2: tok, IDToken: idToken}
	if err := idToken.Claims(&t.Claims); err != nil {
		return nil, fmt.Errorf("decode ID token claims: %w", err)
	}
	return t, nil
}

func (rp *RelyingParty) context(ctx context.Context) context.Context {
	return oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, rp.HTTPClient), rp.HTTPClient)
}

func randomString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
