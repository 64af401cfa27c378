package serve_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// paletteExps records the exp of every ID token the emulated Palette issues.
type paletteExps struct {
	mu   sync.Mutex
	exps []int64
}

func (p *paletteExps) hook(claims map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exps = append(p.exps, claims["exp"].(int64))
}

func (p *paletteExps) last(t *testing.T) time.Time {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	require.NotEmpty(t, p.exps)
	return time.Unix(p.exps[len(p.exps)-1], 0)
}

// lifetimePalette is an emulated tenant for a Dex at dexIssuer, with jane.
func lifetimePalette(t *testing.T, dexIssuer string) (*spectrotest.Server, *spectrotest.Tenant, *paletteExps) {
	t.Helper()
	palette, tenant := paletteFor(t, dexIssuer, spectrotest.User{Email: "jane@example.com", GivenName: "Jane", FamilyName: "Doe", Groups: []string{"platform"}})
	exps := &paletteExps{}
	tenant.SetIDTokenHook(exps.hook)
	return palette, tenant, exps
}

// startLifetime serves lifetimeConfig at /dex in front of a lifetimePalette.
func startLifetime(t *testing.T) (*harness.Dex, *spectrotest.Tenant, *paletteExps) {
	t.Helper()
	l := listen(t)
	palette, tenant, exps := lifetimePalette(t, "http://"+l.Addr().String()+"/dex")
	return harness.Start(t, lifetimeConfig(palette.URL), l), tenant, exps
}

// tokenExpiries are the expiries a token response states.
type tokenExpiries struct {
	idToken, accessToken, expiresIn time.Time
}

func expiriesOf(t *testing.T, tok *oauth2.Token) tokenExpiries {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	return tokenExpiries{idToken: jwtExp(t, raw), accessToken: jwtExp(t, tok.AccessToken), expiresIn: tok.Expiry}
}

func jwtExp(t *testing.T, raw string) time.Time {
	t.Helper()
	parts := strings.Split(raw, ".")
	require.Len(t, parts, 3, "a JWT")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims struct {
		Exp int64 `json:"exp"`
	}
	require.NoError(t, json.Unmarshal(payload, &claims))
	return time.Unix(claims.Exp, 0)
}

// assertEndsAt checks that a token response's tokens end exactly at end,
// and that its expires_in agrees (within the second it was computed in).
func assertEndsAt(t *testing.T, tok *oauth2.Token, end time.Time, msg string) {
	t.Helper()
	e := expiriesOf(t, tok)
	assert.Equal(t, end, e.idToken, "%s: ID token exp", msg)
	assert.Equal(t, end, e.accessToken, "%s: access token exp", msg)
	assert.WithinDuration(t, end, e.expiresIn, 2*time.Second, "%s: expires_in", msg)
}

// Dex's ID and access tokens, and expires_in, end with the Palette sign-in
// behind them: at the code exchange, at refresh and at token exchange.
func TestDexTokensEndWithThePaletteSignIn(t *testing.T) {
	ctx := context.Background()
	dex, tenant, exps := startLifetime(t)
	tenant.SetIDTokenLifetime(40 * time.Second)

	rp, err := dextest.NewRelyingParty(ctx, dex.Issuer, "backstage", "backstage-secret", rpRedirect)
	require.NoError(t, err)
	tokens, err := rp.SignIn(ctx, dextest.NewBrowser())
	require.NoError(t, err)
	signInEnd := exps.last(t)
	assertEndsAt(t, tokens.OAuth2, signInEnd, "code exchange")
	assert.Less(t, time.Until(tokens.IDToken.Expiry), time.Minute, "not Dex's hour")

	refreshed, err := rp.Refresh(ctx, tokens.OAuth2.RefreshToken)
	require.NoError(t, err)
	assertEndsAt(t, refreshed.OAuth2, signInEnd, "refresh")

	// Without offline_access Dex keeps no offline session: the end comes
	// from the connector data stored with the code alone.
	online, err := dextest.NewRelyingParty(ctx, dex.Issuer, "kubelogin", "kubelogin-secret", rpRedirect, "openid", "email")
	require.NoError(t, err)
	onlineTokens, err := online.SignIn(ctx, dextest.NewBrowser())
	require.NoError(t, err)
	assertEndsAt(t, onlineTokens.OAuth2, exps.last(t), "code exchange without offline_access")

	// A Palette token with 20 s left, exchanged for a Dex token.
	tenant.SetIDTokenLifetime(20 * time.Second)
	paletteToken := tenant.MintIDToken(tenant.Claims(tenant.Users()[0], "dex", ""))
	exchangeEnd := jwtExp(t, paletteToken)
	status, body := postToken(t, dex.Issuer, "backstage", "backstage-secret", tokenExchangeForm(paletteToken, "openid email"))
	require.Equal(t, http.StatusOK, status, body)
	var resp struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &resp))
	assert.Equal(t, exchangeEnd, jwtExp(t, resp.AccessToken), "token exchange")
	assert.LessOrEqual(t, resp.ExpiresIn, int64(20), "token exchange: expires_in")
}

// endedCode is Dex's server on its own clock, and a code of Backstage's whose
// Palette sign-in (of 40 s) has ended on that clock: the code itself is
// still within its 30 minutes.
func endedCode(t *testing.T) (*harness.Dex, string) {
	t.Helper()
	ctx := context.Background()
	l := listen(t)
	palette, tenant, exps := lifetimePalette(t, "http://"+l.Addr().String()+"/dex")
	tenant.SetIDTokenLifetime(40 * time.Second) // the code itself lasts 30 minutes
	var dexClock dextest.Clock
	dex := harness.Start(t, lifetimeConfig(palette.URL), l, serve.WithClock(dexClock.Now))
	rp, err := dextest.NewRelyingParty(ctx, dex.Issuer, "backstage", "backstage-secret", rpRedirect)
	require.NoError(t, err)
	callback, err := dextest.NewBrowser().Authorize(ctx, rp.OAuth2.AuthCodeURL("state-0123456789"), rpRedirect)
	require.NoError(t, err)
	code := callback.Query().Get("code")
	require.NotEmpty(t, code)
	dexClock.AdvanceTo(exps.last(t))
	return dex, code
}

// A code whose Palette sign-in ended before it is redeemed yields no token.
func TestCodeRedeemedAfterThePaletteSignInEnded(t *testing.T) {
	dex, code := endedCode(t)
	status, body := postToken(t, dex.Issuer, "backstage", "backstage-secret", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, `"invalid_grant"`)
	assert.Contains(t, body, "sign in again")
	assert.NotContains(t, body, "id_token")
}

// The cap holds when the code is redeemed on another replica than the one
// that ran the callback: both share storage, and a proxy sends the token
// endpoint to the second.
func TestCodeRedeemedOnAnotherReplica(t *testing.T) {
	ctx := context.Background()
	front := listen(t)
	issuer := "http://" + front.Addr().String() + "/dex"
	palette, tenant, exps := lifetimePalette(t, issuer)
	tenant.SetIDTokenLifetime(40 * time.Second)
	db := filepath.Join(t.TempDir(), "dex.db")
	template := lifetimeConfig(palette.URL)
	template.Storage, template.Issuer = sqlite(db), issuer

	replicaA := startReplica(t, template)
	replicaB := startReplica(t, template)
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		target := replicaA
		if strings.HasSuffix(r.In.URL.Path, "/token") {
			target = replicaB
		}
		r.SetURL(&url.URL{Scheme: "http", Host: target})
		r.Out.Host = r.In.Host
	}}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(front) }()
	t.Cleanup(func() { _ = srv.Close() })

	rp, err := dextest.NewRelyingParty(ctx, issuer, "backstage", "backstage-secret", rpRedirect)
	require.NoError(t, err)
	tokens, err := rp.SignIn(ctx, dextest.NewBrowser())
	require.NoError(t, err)
	assertEndsAt(t, tokens.OAuth2, exps.last(t), "code redeemed on replica B")
}

// startReplica starts a Dex replica of cfg, whose issuer is set, on its own
// listener and returns the listener's address.
func startReplica(t *testing.T, cfg dextest.DexConfig) string {
	t.Helper()
	l := listen(t)
	harness.Start(t, cfg, l)
	return l.Addr().(*net.TCPAddr).String()
}

// Dex keeps one offline session per user and connector, shared by every
// client: a refresh token of kubelogin, once refreshed, follows the user's
// newest Palette sign-in, made through Backstage.
func TestSessionsAcrossClients(t *testing.T) {
	ctx := context.Background()
	dex, tenant, exps := startLifetime(t)

	kubelogin, err := dextest.NewRelyingParty(ctx, dex.Issuer, "kubelogin", "kubelogin-secret", rpRedirect)
	require.NoError(t, err)
	backstage, err := dextest.NewRelyingParty(ctx, dex.Issuer, "backstage", "backstage-secret", rpRedirect)
	require.NoError(t, err)

	tenant.SetIDTokenLifetime(2 * time.Minute)
	first, err := kubelogin.SignIn(ctx, dextest.NewBrowser())
	require.NoError(t, err)
	firstEnd := exps.last(t)

	tenant.SetIDTokenLifetime(50 * time.Minute)
	_, err = backstage.SignIn(ctx, dextest.NewBrowser())
	require.NoError(t, err)
	newestEnd := exps.last(t)
	require.True(t, newestEnd.After(firstEnd))

	// kubelogin's first refresh still reads the connector data stored with
	// its own code: its own Palette sign-in.
	r1, err := kubelogin.Refresh(ctx, first.OAuth2.RefreshToken)
	require.NoError(t, err)
	assertEndsAt(t, r1.OAuth2, firstEnd, "kubelogin's first refresh")

	// From then on it reads the shared offline session: the newest sign-in,
	// made through Backstage.
	r2, err := kubelogin.Refresh(ctx, r1.OAuth2.RefreshToken)
	require.NoError(t, err)
	assertEndsAt(t, r2.OAuth2, newestEnd, "kubelogin's later refresh")
}

// The implicit flow's tokens, issued at the approval (or at the callback
// when the approval screen is skipped), end with the Palette sign-in too,
// and so does the expires_in of the redirect's fragment.
func TestImplicitFlowTokensEndWithThePaletteSignIn(t *testing.T) {
	for _, skipApproval := range []bool{false, true} {
		t.Run(fmt.Sprintf("skipApprovalScreen %v", skipApproval), func(t *testing.T) {
			ctx := context.Background()
			l := listen(t)
			palette, tenant, exps := lifetimePalette(t, "http://"+l.Addr().String()+"/dex")
			tenant.SetIDTokenLifetime(40 * time.Second)
			oauth2Config := fmt.Sprintf("oauth2: {responseTypes: [code, token, id_token], skipApprovalScreen: %v}", skipApproval)
			dex := harness.Start(t, lifetimeConfig(palette.URL).With(oauth2Config), l)

			authURL := dex.Issuer + "/auth?" + url.Values{
				"client_id": {"backstage"}, "redirect_uri": {rpRedirect}, "response_type": {"id_token token"},
				"scope": {"openid email"}, "state": {"state-0123456789"}, "nonce": {"nonce-0123456789"},
			}.Encode()
			callback, err := dextest.NewBrowser().Authorize(ctx, authURL, rpRedirect)
			require.NoError(t, err)
			fragment, err := url.ParseQuery(callback.Fragment)
			require.NoError(t, err)
			end := exps.last(t)
			require.NotEmpty(t, fragment.Get("id_token"), callback.Redacted())
			assert.Equal(t, end, jwtExp(t, fragment.Get("id_token")))
			assert.Equal(t, end, jwtExp(t, fragment.Get("access_token")))
			expiresIn, err := strconv.Atoi(fragment.Get("expires_in"))
			require.NoError(t, err)
			assert.LessOrEqual(t, expiresIn, 40)
		})
	}
}

// The device flow's tokens, issued at its callback and handed over at the
// poll, end with the Palette sign-in too, and so does the poll's expires_in.
func TestDeviceFlowTokensEndWithThePaletteSignIn(t *testing.T) {
	ctx := context.Background()
	dex, tenant, exps := startLifetime(t)
	tenant.SetIDTokenLifetime(40 * time.Second)

	dc := newDeviceClient(t, dex.Issuer, "kubectl", "")
	da := dc.start(t)
	b := dextest.NewBrowser()
	callback, err := b.Authorize(ctx, enterUserCode(t, b, da).String(), dex.Issuer+"/device/callback")
	require.NoError(t, err)
	resp, body, err := dextest.Do(ctx, b.Client, http.MethodGet, callback, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	pollCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tok, err := dc.DeviceAccessToken(dc.ctx(pollCtx), da)
	require.NoError(t, err)
	assertEndsAt(t, tok, exps.last(t), "device flow")
}

// An approval whose Palette sign-in has ended issues no token, however its
// request is written: Dex reads the approval's form with FormValue, which
// goes on past a query it cannot fully parse (a ";") and reads multipart
// bodies, and the end of the sign-in is read from the very same form. Here
// the user has signed in to Palette again since, so a fall-back on the
// offline session would find a live sign-in.
func TestApprovalOfAnEndedSignIn(t *testing.T) {
	tests := []struct {
		name string
		post func(t *testing.T, b *dextest.Browser, approval *url.URL, req string) (*http.Response, string)
	}{
		{name: "the approval page's own form", post: func(t *testing.T, b *dextest.Browser, approval *url.URL, req string) (*http.Response, string) {
			return postApproval(t, b, approval, url.Values{"req": {req}, "approval": {"approve"}})
		}},
		{name: "a semicolon in the query", post: func(t *testing.T, b *dextest.Browser, approval *url.URL, req string) (*http.Response, string) {
			u := *approval
			u.RawQuery += "&x;y"
			return postApproval(t, b, &u, url.Values{"req": {req}, "approval": {"approve"}})
		}},
		{name: "the request ID in a multipart body", post: func(t *testing.T, b *dextest.Browser, approval *url.URL, req string) (*http.Response, string) {
			u := *approval
			q := u.Query()
			q.Del("req")
			u.RawQuery = q.Encode()
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			require.NoError(t, mw.WriteField("req", req))
			require.NoError(t, mw.WriteField("approval", "approve"))
			require.NoError(t, mw.Close())
			r, err := http.NewRequest(http.MethodPost, u.String(), &body)
			require.NoError(t, err)
			r.Header.Set("Content-Type", mw.FormDataContentType())
			resp, err := b.Client.Do(r)
			require.NoError(t, err)
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return resp, string(data)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			l := listen(t)
			palette, tenant, exps := lifetimePalette(t, "http://"+l.Addr().String()+"/dex")
			var dexClock dextest.Clock
			dex := harness.Start(t, lifetimeConfig(palette.URL).With("oauth2: {responseTypes: [code, token, id_token]}"), l, serve.WithClock(dexClock.Now))

			// The implicit flow's sign-in, left on the approval page.
			tenant.SetIDTokenLifetime(40 * time.Second)
			b := dextest.NewBrowser()
			page, err := b.Get(ctx, dex.Issuer+"/auth?"+url.Values{
				"client_id": {"backstage"}, "redirect_uri": {rpRedirect}, "response_type": {"id_token token"},
				"scope": {"openid email"}, "state": {"state-0123456789"}, "nonce": {"nonce-0123456789"},
			}.Encode())
			require.NoError(t, err)
			m := regexp.MustCompile(`name="req" value="([^"]+)"`).FindStringSubmatch(page.Body)
			require.NotNil(t, m, "the approval page")
			ended := exps.last(t)

			// A newer sign-in, with an offline session.
			tenant.SetIDTokenLifetime(50 * time.Minute)
			rp, err := dextest.NewRelyingParty(ctx, dex.Issuer, "backstage", "backstage-secret", rpRedirect)
			require.NoError(t, err)
			_, err = rp.SignIn(ctx, dextest.NewBrowser())
			require.NoError(t, err)

			dexClock.AdvanceTo(ended)
			resp, body := tt.post(t, b, page.URL, html.UnescapeString(m[1]))
			assert.NotContains(t, resp.Header.Get("Location"), "token=", "no token for an ended sign-in")
			assert.NotContains(t, body, "id_token")
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, body)
			assert.Contains(t, body, "sign in again")
		})
	}
}

func postApproval(t *testing.T, b *dextest.Browser, approval *url.URL, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, body, err := dextest.Do(context.Background(), b.Client, http.MethodPost, approval, form)
	require.NoError(t, err)
	return resp, body
}

// The token endpoint says that the Palette sign-in behind a code has ended
// only to the client the code was issued to, once Dex has authenticated it:
// anyone else learns nothing about the code.
func TestEndedCodeAnsweredAfterClientAuthentication(t *testing.T) {
	dex, code := endedCode(t)

	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}}
	tests := []struct {
		name           string
		client, secret string // empty client: no credentials at all
		wantStatus     int
		wantError      string
	}{
		{name: "no client credentials", wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "a wrong client secret", client: "backstage", secret: "guessed", wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		// Dex v2.45.1 answers a code of another client server_error.
		{name: "another client", client: "kubelogin", secret: "kubelogin-secret", wantStatus: http.StatusInternalServerError, wantError: "server_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var status int
			var body string
			if tt.client == "" {
				status, body = postForm(t, dex.Issuer+"/token", form)
			} else {
				status, body = postToken(t, dex.Issuer, tt.client, tt.secret, form)
			}
			assert.Equal(t, tt.wantStatus, status, body)
			assert.Equal(t, tt.wantError, decodeError(t, body).Error)
			assert.NotContains(t, body, "SpectroCloud")
			assert.NotContains(t, body, "expired")
		})
	}

	t.Run("the client itself", func(t *testing.T) {
		status, body := redeemForBackstage(t, dex.Issuer, code)
		assert.Equal(t, http.StatusBadRequest, status, body)
		doc := decodeError(t, body)
		assert.Equal(t, "invalid_grant", doc.Error)
		assert.Contains(t, doc.Description, "the SpectroCloud sign-in expired at")
		assert.Contains(t, doc.Description, "sign in again")
	})
}

// oauthError is an OAuth 2.0 error document.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func decodeError(t *testing.T, body string) oauthError {
	t.Helper()
	var doc oauthError
	require.NoError(t, json.NewDecoder(strings.NewReader(body)).Decode(&doc), body)
	return doc
}
