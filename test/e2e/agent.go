package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// maxSteps bounds the requests of one walk.
const maxSteps = 30

// Agent is the user's browser: it keeps cookies, follows redirects between
// the application, Dex and Palette, and picks a user on Palette's sign-in
// page. Dex runs with skipApprovalScreen and one connector, so it shows no
// page on the way of a successful sign-in.
type Agent struct {
	// Client sends the requests; it must not follow redirects itself.
	Client *http.Client
	// PaletteLogin is the email picked on Palette's sign-in page; with
	// Palette's auto-login the page is not shown.
	PaletteLogin string
	// BeforeRequest, when set, is called before each request of a walk.
	BeforeRequest func(*url.URL)
}

// NewAgent returns a browser with an empty cookie jar that signs in to
// Palette as login. A nil transport uses http.DefaultTransport.
func NewAgent(login string, transport http.RoundTripper) *Agent {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err) // only for a bad PublicSuffixList
	}
	return &Agent{
		PaletteLogin: login,
		Client: &http.Client{
			Jar:       jar,
			Transport: transport,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
			Timeout: time.Minute,
		},
	}
}

// Page is where a walk ended: the application's redirect URI (Status 0) or
// a page that is not a redirect.
type Page struct {
	URL    *url.URL
	Status int
	Body   string
}

var dexErrorRE = regexp.MustCompile(`(?s)<h2 class="theme-heading">\s*(.*?)\s*</h2>\s*<p>\s*(.*?)\s*</p>`)

// Message is the heading and message of a Dex error page ("Internal Server
// Error: Login error."), or else a snippet of the body.
func (p *Page) Message() string {
	if m := dexErrorRE.FindStringSubmatch(p.Body); m != nil {
		return html.UnescapeString(m[1]) + ": " + html.UnescapeString(m[2])
	}
	s := strings.Join(strings.Fields(p.Body), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// PageError reports a sign-in that ended on a page instead of the
// application's redirect URI.
type PageError struct {
	Page *Page
}

func (e *PageError) Error() string {
	return fmt.Sprintf("sign-in ended on %s with status %d: %s", e.Page.URL.Redacted(), e.Page.Status, e.Page.Message())
}

// Walk starts at rawURL and follows redirects, submitting Palette's sign-in
// page on the way, until a URL starts with stopAt (returned with Status 0)
// or a page answers without a redirect.
func (a *Agent) Walk(ctx context.Context, rawURL, stopAt string) (*Page, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse URL: %w", err)
	}
	method, form := http.MethodGet, url.Values(nil)
	for range maxSteps {
		if stopAt != "" && strings.HasPrefix(u.String(), stopAt) {
			return &Page{URL: u}, nil
		}
		if a.BeforeRequest != nil {
			a.BeforeRequest(u)
		}
		resp, body, err := a.do(ctx, method, u, form)
		if err != nil {
			return nil, err
		}
		method, form = http.MethodGet, nil
		if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
			if u, err = u.Parse(loc); err != nil {
				return nil, fmt.Errorf("parse redirect: %w", err)
			}
			continue
		}
		if resp.StatusCode == http.StatusOK && a.PaletteLogin != "" && resp.Request.Method == http.MethodGet &&
			strings.HasSuffix(u.Path, "/auth") && strings.Contains(body, `name="login"`) {
			// Palette's sign-in page: post the authorization request back
			// with the chosen user, as clicking the user's button does.
			form = u.Query()
			form.Set("login", a.PaletteLogin)
			next := *u
			next.RawQuery = ""
			u, method = &next, http.MethodPost
			continue
		}
		return &Page{URL: u, Status: resp.StatusCode, Body: body}, nil
	}
	return nil, errors.New("too many redirects")
}

func (a *Agent) do(ctx context.Context, method string, u *url.URL, form url.Values) (*http.Response, string, error) {
	return dextest.Do(ctx, a.Client, method, u, form)
}

// SignedIn is a completed sign-in with the values exchanged on the way.
type SignedIn struct {
	*dextest.Tokens
	// Code is Dex's authorization code; State, Nonce and Verifier are the
	// application's state, nonce and PKCE verifier.
	Code, State, Nonce, Verifier string
}

// RawIDToken is the ID token as Dex issued it.
func (s *SignedIn) RawIDToken() string {
	raw, _ := s.OAuth2.Extra("id_token").(string)
	return raw
}

// SignIn runs the authorization-code flow of rp with state, nonce and PKCE:
// the agent plays the user, then the code is exchanged and the ID token
// verified. A sign-in that ends on a page returns a *PageError.
func SignIn(ctx context.Context, rp *dextest.RelyingParty, a *Agent) (*SignedIn, error) {
	s := &SignedIn{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier()}
	authURL := rp.OAuth2.AuthCodeURL(s.State, oidc.Nonce(s.Nonce), oauth2.S256ChallengeOption(s.Verifier))
	page, err := a.Walk(ctx, authURL, rp.OAuth2.RedirectURL)
	if err != nil {
		return nil, err
	}
	if page.Status != 0 {
		return nil, &PageError{Page: page}
	}
	q := page.URL.Query()
	if e := q.Get("error"); e != "" {
		return nil, fmt.Errorf("authorization failed: %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != s.State {
		return nil, errors.New("state mismatch")
	}
	s.Code = q.Get("code")
	tok, err := rp.OAuth2.Exchange(clientContext(ctx, rp), s.Code, oauth2.VerifierOption(s.Verifier))
	if err != nil {
		return nil, fmt.Errorf("exchange code: %w", err)
	}
	if s.Tokens, err = Verify(ctx, rp, tok); err != nil {
		return nil, err
	}
	if s.Claims.Nonce != s.Nonce {
		return nil, errors.New("nonce mismatch")
	}
	return s, nil
}

// Verify verifies the ID token of a token response.
func Verify(ctx context.Context, rp *dextest.RelyingParty, tok *oauth2.Token) (*dextest.Tokens, error) {
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, errors.New("token response without id_token")
	}
	idToken, err := rp.Verifier.Verify(clientContext(ctx, rp), raw)
	if err != nil {
		return nil, fmt.Errorf("verify ID token: %w", err)
	}
	t := &dextest.Tokens{OAuth2: tok, IDToken: idToken}
	if err := idToken.Claims(&t.Claims); err != nil {
		return nil, fmt.Errorf("decode ID token claims: %w", err)
	}
	return t, nil
}

// clientContext makes x/oauth2 and go-oidc use the relying party's client.
func clientContext(ctx context.Context, rp *dextest.RelyingParty) context.Context {
	return oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, rp.HTTPClient), rp.HTTPClient)
}

// TokenExchange redeems a Palette ID token at Dex's token endpoint with
// the RFC 8693 grant and returns the answer's status and body.
func TokenExchange(ctx context.Context, client *http.Client, issuer, connectorID, subjectToken string) (int, string, error) {
	form := url.Values{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:id_token"},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"subject_token":        {subjectToken},
		"connector_id":         {connectorID},
		"scope":                {"openid email"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, issuer+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(ClientID, ClientSecret)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body), err
}

// RetrieveError returns the OAuth error of a failed token request.
func RetrieveError(err error) (*oauth2.RetrieveError, bool) {
	var re *oauth2.RetrieveError
	ok := errors.As(err, &re)
	return re, ok
}

func randomString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
