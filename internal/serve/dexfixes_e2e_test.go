package serve_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// deviceConfig has a public device client (kubelogin's usual setup), a
// confidential one, a web application, the password database and a second
// connector (so that the password page has a back link).
func deviceConfig() dextest.DexConfig {
	return dextest.DexConfig{
		Clients: []dextest.Client{kubectlClient,
			{ID: "ci-tool", Name: "CI Tool", Secret: "ci-tool-secret", RedirectURIs: []string{"/device/callback"}}, appClient},
		Connectors: []dextest.ConnectorFunc{dextest.MockCallback("mock", "Mock Login")},
	}.With("logger: {level: debug}\n" + passwordDB)
}

// startDeviceDex serves deviceConfig with Dex's issuer below a path
// (http://<address>/dex), or at the root of its origin.
func startDeviceDex(t *testing.T, atRoot bool) *harness.Dex {
	t.Helper()
	l := listen(t)
	cfg := deviceConfig()
	if atRoot {
		cfg.Issuer = "http://" + l.Addr().String()
	}
	return harness.Start(t, cfg, l)
}

// startUnprotectedDex starts a server from cfg and serves l (a free port
// when nil) with Dex's handler without the fixes, to reproduce the holes
// they close.
func startUnprotectedDex(t *testing.T, cfg dextest.DexConfig, l net.Listener) *harness.Dex {
	t.Helper()
	if l == nil {
		l = listen(t)
	}
	cfg = harness.For(cfg, l)
	cfg.HTTP = "127.0.0.1:0" // the server's own listener, which the test does not use
	d := harness.Serve(t, harness.Load(t, cfg))
	front := &http.Server{Handler: serve.UnprotectedHandler(d.Server), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = front.Serve(l) }()
	t.Cleanup(func() { _ = front.Close() })
	return d
}

// startDexFor starts the server, with the fixes or without them.
func startDexFor(t *testing.T, cfg dextest.DexConfig, unprotected bool) *harness.Dex {
	t.Helper()
	return startDexForOn(t, nil, cfg, unprotected)
}

// startDexForOn is startDexFor serving l (a free port when nil).
func startDexForOn(t *testing.T, l net.Listener, cfg dextest.DexConfig, unprotected bool) *harness.Dex {
	t.Helper()
	if unprotected {
		return startUnprotectedDex(t, cfg, l)
	}
	return harness.Start(t, cfg, l)
}

// deviceClient is a command-line client of Dex's device flow, as kubelogin
// with --grant-type=device-code is: golang.org/x/oauth2's device flow, with
// the client secret (if any) sent as a form parameter.
type deviceClient struct {
	oauth2.Config
	http     *http.Client
	verifier *oidc.IDTokenVerifier
}

func newDeviceClient(t *testing.T, issuer, clientID, secret string) *deviceClient {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	provider, err := oidc.NewProvider(oidc.ClientContext(context.Background(), client), issuer)
	require.NoError(t, err)
	require.NotEmpty(t, provider.Endpoint().DeviceAuthURL)
	return &deviceClient{
		Config:   oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email"}},
		http:     client,
		verifier: provider.Verifier(&oidc.Config{ClientID: clientID}),
	}
}

func (c *deviceClient) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.http)
}

// start asks for a device code and a user code.
func (c *deviceClient) start(t *testing.T) *oauth2.DeviceAuthResponse {
	t.Helper()
	var opts []oauth2.AuthCodeOption
	if c.ClientSecret != "" {
		opts = append(opts, oauth2.SetAuthURLParam("client_secret", c.ClientSecret))
	}
	da, err := c.DeviceAuth(c.ctx(context.Background()), opts...)
	require.NoError(t, err)
	require.NotEmpty(t, da.UserCode)
	return da
}

// pollOnce asks once for the tokens of a device code, as a client polling
// does, and returns the status and the answer.
func (c *deviceClient) pollOnce(t *testing.T, da *oauth2.DeviceAuthResponse) (int, map[string]any) {
	t.Helper()
	form := url.Values{
		"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
		"device_code": {da.DeviceCode},
		"client_id":   {c.ClientID},
	}
	resp, body, err := dextest.Do(context.Background(), c.http, http.MethodPost, mustParse(t, c.Endpoint.TokenURL), form)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &doc), body)
	return resp.StatusCode, doc
}

// enterUserCode plays the user at the verification page: opens it, submits
// the user code, and returns Dex's redirect to its authorization endpoint.
func enterUserCode(t *testing.T, b *dextest.Browser, da *oauth2.DeviceAuthResponse) *url.URL {
	t.Helper()
	ctx := context.Background()
	page, err := b.Get(ctx, da.VerificationURIComplete)
	require.NoError(t, err)
	require.Contains(t, page.Body, `name="user_code"`)
	require.Contains(t, page.Body, da.UserCode, "the user code is filled in")
	m := regexpFormAction.FindStringSubmatch(page.Body)
	require.NotNil(t, m, "device page without form action")
	verify, err := page.URL.Parse(html.UnescapeString(m[1]))
	require.NoError(t, err)
	resp, _, err := dextest.Do(ctx, b.Client, http.MethodPost, verify, url.Values{"user_code": {da.UserCode}})
	require.NoError(t, err)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := verify.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	return loc
}

// signInToDevice enters the user code, signs in with the password database
// and approves, and returns the device callback URL Dex redirects to (not
// yet followed).
func signInToDevice(t *testing.T, d *harness.Dex, da *oauth2.DeviceAuthResponse) (*dextest.Browser, *url.URL) {
	t.Helper()
	b := passwordBrowser()
	authURL := enterUserCode(t, b, da)
	callback, err := b.Authorize(context.Background(), authURL.String(), d.Issuer+"/device/callback")
	require.NoError(t, err)
	return b, callback
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}

var (
	regexpFormAction = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	regexpBackLink   = regexp.MustCompile(`<a class="dex-subtle-text" href="([^"]*)">Select another login method.</a>`)
)

// The device flow works end to end, as kubelogin --grant-type=device-code
// runs it: device code, user code entered in the browser, sign-in and
// approval, then the client's polling (at the interval Dex asks for, in
// real time) receives tokens.
func TestDeviceFlowEndToEnd(t *testing.T) {
	tests := []struct {
		name, clientID, secret, clientName string
		atRoot                             bool
	}{
		{name: "public client, issuer below a path", clientID: "kubectl", clientName: "kubectl"},
		{name: "public client, issuer at the root", atRoot: true, clientID: "kubectl", clientName: "kubectl"},
		// Dex v2.45.1 sends a confidential client's browser to
		// "/device/callback" on the issuer's host (fixed in Dex main by
		// dexidp/dex#4597, not a security fix), so the confidential device
		// flow needs an issuer at the root.
		{name: "confidential client, issuer at the root", atRoot: true, clientID: "ci-tool", secret: "ci-tool-secret", clientName: "CI Tool"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dex := startDeviceDex(t, tt.atRoot)
			dc := newDeviceClient(t, dex.Issuer, tt.clientID, tt.secret)
			da := dc.start(t)

			b, callback := signInToDevice(t, dex, da)
			resp, body, err := dextest.Do(ctx, b.Client, http.MethodGet, callback, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			assert.Contains(t, body, "Login Successful for "+tt.clientName)

			pollCtx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			tok, err := dc.DeviceAccessToken(dc.ctx(pollCtx), da)
			require.NoError(t, err)
			raw, _ := tok.Extra("id_token").(string)
			idToken, err := dc.verifier.Verify(dc.ctx(ctx), raw)
			require.NoError(t, err)
			var claims struct {
				Email string `json:"email"`
			}
			require.NoError(t, idToken.Claims(&claims))
			assert.Equal(t, "jane@example.com", claims.Email)
		})
	}
}

// Dex v2.45.1 puts the device request's client_secret in the browser's
// redirect to /auth; dex-spectro does not, and the flow still completes
// (TestDeviceFlowEndToEnd).
func TestDeviceFlowSecretNotInBrowserRedirect(t *testing.T) {
	for _, unprotected := range []bool{true, false} {
		t.Run(map[bool]string{true: "Dex v2.45.1 leaks it", false: "dex-spectro"}[unprotected], func(t *testing.T) {
			t.Parallel()
			dex := startDexFor(t, deviceConfig(), unprotected)
			da := newDeviceClient(t, dex.Issuer, "ci-tool", "ci-tool-secret").start(t)
			authURL := enterUserCode(t, dextest.NewBrowser(), da)
			assert.Equal(t, "ci-tool", authURL.Query().Get("client_id"))
			if unprotected {
				assert.Equal(t, "ci-tool-secret", authURL.Query().Get("client_secret"), "the hole is reproduced")
				return
			}
			assert.NotContains(t, authURL.String(), "client_secret")
			assert.NotContains(t, authURL.String(), "ci-tool-secret")
			assert.Equal(t, da.UserCode, authURL.Query().Get("state"))
		})
	}
}

// The device binding cookie lasts as long as Dex accepts the device
// request: until Dex's clock, which Dex checks the request's expiry against,
// reaches that expiry. With Dex's clock a day behind the system's, the
// cookie does not follow the system's clock instead. (Dex v2.45.1 stamps
// the expiry by the system's clock, so a request made with Dex's clock a
// day ahead has already expired by it.)
func TestDeviceBindingCookieFollowsDexClock(t *testing.T) {
	var dexClock dextest.Clock
	dexClock.Advance(-24 * time.Hour)
	dex := harness.Start(t, deviceConfig(), listen(t), serve.WithClock(dexClock.Now))
	da := newDeviceClient(t, dex.Issuer, "kubectl", "").start(t)

	ctx := context.Background()
	b := dextest.NewBrowser()
	resp, body, err := dextest.Do(ctx, b.Client, http.MethodPost,
		mustParse(t, dex.Issuer+"/device/auth/verify_code"), url.Values{"user_code": {da.UserCode}})
	require.NoError(t, err)
	require.Equal(t, http.StatusFound, resp.StatusCode, body)
	cookies := resp.Cookies()
	require.Len(t, cookies, 1)
	req, err := dex.Server.Storage().GetDeviceRequest(ctx, da.UserCode)
	require.NoError(t, err)
	left := req.Expiry.Sub(dexClock.Now())
	assert.InDelta(t, left.Seconds(), cookies[0].MaxAge, 5, "the request's time left by Dex's clock, %s", left)
}

// A code minted for another client, or for the device client but another
// redirect URI, does not complete a device request: Dex v2.45.1 hands the
// user's tokens to the device client's poll; dex-spectro answers 400, the
// device poll stays pending, and the code stays with the client it was
// minted for.
func TestDeviceCallbackRefusesForeignCode(t *testing.T) {
	tests := []struct {
		name                string
		codeClient, secret  string // the client the code is minted for
		unprotected         bool
		wantTokensForDevice bool
	}{
		{name: "another client's code, Dex v2.45.1", codeClient: "app", secret: "app-secret", unprotected: true, wantTokensForDevice: true},
		{name: "another client's code", codeClient: "app", secret: "app-secret"},
		{name: "own client, code for another redirect URI, Dex v2.45.1", codeClient: "kubectl", unprotected: true, wantTokensForDevice: true},
		{name: "own client, code for another redirect URI", codeClient: "kubectl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dex := startDexFor(t, deviceConfig(), tt.unprotected)

			// The device client's request, whose user code the attacker
			// knows: it started it.
			device := newDeviceClient(t, dex.Issuer, "kubectl", "")
			da := device.start(t)

			// A code minted for codeClient at its redirect URI.
			rp, err := dextest.NewRelyingParty(ctx, dex.Issuer, tt.codeClient, tt.secret, rpRedirect)
			require.NoError(t, err)
			redirect, err := passwordBrowser().Authorize(ctx, rp.OAuth2.AuthCodeURL("state-1"), rpRedirect)
			require.NoError(t, err)
			code := redirect.Query().Get("code")
			require.NotEmpty(t, code)

			inject := mustParse(t, dex.Issuer+"/device/callback?"+url.Values{"code": {code}, "state": {da.UserCode}}.Encode())
			resp, body, err := dextest.Do(ctx, dextest.NewBrowser().Client, http.MethodGet, inject, nil)
			require.NoError(t, err)
			status, poll := device.pollOnce(t, da)

			if tt.wantTokensForDevice {
				require.Equal(t, http.StatusOK, resp.StatusCode, body)
				require.Equal(t, http.StatusOK, status, "the hole is reproduced: %v", poll)
				assert.NotEmpty(t, poll["id_token"])
				return
			}
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, body, "Invalid or expired auth code.")
			assert.NotContains(t, body, code)
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, "authorization_pending", poll["error"], "the device gets no tokens")
			assert.NotContains(t, poll, "id_token")

			if tt.secret != "" {
				tok, err := rp.OAuth2.Exchange(context.WithValue(ctx, oauth2.HTTPClient, rp.HTTPClient), code)
				require.NoError(t, err, "the refused code was not consumed")
				assert.NotEmpty(t, tok.Extra("id_token"))
			}
		})
	}
}

// Password sign-in with a back link: Dex's own link ("Select another login
// method") leads back to the login page; a back link to another site is
// rendered by Dex v2.45.1 and dropped by dex-spectro.
func TestPasswordLoginBackLink(t *testing.T) {
	for _, unprotected := range []bool{true, false} {
		t.Run(map[bool]string{true: "Dex v2.45.1", false: "dex-spectro"}[unprotected], func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dex := startDexFor(t, basicConfig(nil), unprotected)
			b := passwordBrowser()
			authURL := dex.URL("/auth?" + url.Values{
				"client_id": {"app"}, "response_type": {"code"}, "scope": {"openid email"},
				"state": {"s1"}, "redirect_uri": {rpRedirect}, "connector_id": {"local"},
			}.Encode())
			page, err := b.Get(ctx, authURL)
			require.NoError(t, err)
			require.Contains(t, page.Body, `name="password"`)
			m := regexpBackLink.FindStringSubmatch(page.Body)
			require.NotNil(t, m, "Dex's own back link is rendered")
			back := html.UnescapeString(m[1])
			assert.True(t, strings.HasPrefix(back, "/dex/auth?"), back)

			login, err := b.Get(ctx, dex.URL(strings.TrimPrefix(back, "/dex")))
			require.NoError(t, err)
			assert.ElementsMatch(t, []string{"Mock Login", "Email"}, login.Connectors(), "the back link leads to the login page")

			for _, evil := range []struct {
				back string
				href string // how Dex v2.45.1 renders it; "" when its template neutralises it
				post bool   // also submit the password form (a wrong password) there
			}{
				{back: "https://evil.example/phish", href: "https://evil.example/phish", post: true},
				{back: "//evil.example/phish", href: "//evil.example/phish"},
				// html/template already writes the backslash as %5c.
				{back: "/\\evil.example/phish"},
			} {
				u := *page.URL
				q := u.Query()
				q.Set("back", evil.back)
				u.RawQuery = q.Encode()
				methods := []string{http.MethodGet}
				if evil.post {
					methods = append(methods, http.MethodPost)
				}
				for _, method := range methods {
					var form url.Values
					if method == http.MethodPost {
						form = url.Values{"login": {"jane@example.com"}, "password": {"wrong"}}
					}
					resp, body, err := dextest.Do(ctx, b.Client, method, &u, form)
					require.NoError(t, err)
					wantStatus := http.StatusOK
					if method == http.MethodPost {
						wantStatus = http.StatusUnauthorized // the password page again, with an error
					}
					require.Equal(t, wantStatus, resp.StatusCode, body)
					require.Contains(t, body, `name="password"`)
					if unprotected {
						if evil.href != "" {
							assert.Contains(t, body, `href="`+evil.href+`"`, "the hole is reproduced")
						}
						continue
					}
					assert.NotContains(t, body, "evil.example", "%s back=%s", method, evil.back)
					assert.NotContains(t, body, "Select another login method")
				}
			}

			rp, err := dextest.NewRelyingParty(ctx, dex.Issuer, "app", "app-secret", rpRedirect)
			require.NoError(t, err)
			tokens, err := rp.SignIn(ctx, passwordBrowser())
			require.NoError(t, err, "password sign-in through the page with the back link")
			assert.Equal(t, "jane@example.com", tokens.Claims.Email)
		})
	}
}

// A refresh token with its secret changed is refused on the refresh grant
// and inactive on introspection, and the real one keeps working.
func TestRefreshTokenWithWrongSecret(t *testing.T) {
	ctx := context.Background()
	dex := startDex(t, basicConfig(nil), "")
	rp, err := dextest.NewRelyingParty(ctx, dex.Issuer, "app", "app-secret", rpRedirect)
	require.NoError(t, err)
	tokens, err := rp.SignIn(ctx, passwordBrowser())
	require.NoError(t, err)
	refresh := tokens.OAuth2.RefreshToken
	forged := withRefreshSecret(t, refresh, "guessed-secret")

	introspect := func(token string) map[string]any {
		resp, body, err := dextest.Do(ctx, http.DefaultClient, http.MethodPost, mustParse(t, dex.URL("/token/introspect")), url.Values{"token": {token}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		var doc map[string]any
		require.NoError(t, json.Unmarshal([]byte(body), &doc))
		return doc
	}
	assert.Equal(t, true, introspect(refresh)["active"])
	assert.Equal(t, map[string]any{"active": false}, introspect(forged))

	status, body := postToken(t, dex.Issuer, "app", "app-secret", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {forged}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, `"error":"invalid_request"`)

	refreshed, err := rp.Refresh(ctx, refresh)
	require.NoError(t, err, "the refused attempt did not spend the real token")
	assert.Equal(t, tokens.IDToken.Subject, refreshed.IDToken.Subject)
}

// withRefreshSecret returns Dex's refresh token with its secret (protobuf
// field 2) replaced.
func withRefreshSecret(t *testing.T, token, secret string) string {
	t.Helper()
	data, err := base64.RawURLEncoding.DecodeString(token)
	require.NoError(t, err)
	var out []byte
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		require.GreaterOrEqual(t, n, 0)
		require.Equal(t, protowire.BytesType, typ)
		v, m := protowire.ConsumeBytes(data[n:])
		require.GreaterOrEqual(t, m, 0)
		data = data[n+m:]
		if num == 2 {
			v = []byte(secret)
		}
		out = protowire.AppendTag(out, num, protowire.BytesType)
		out = protowire.AppendBytes(out, v)
	}
	return base64.RawURLEncoding.EncodeToString(out)
}

// Login CSRF through the device flow: an attacker starts a device request
// and sends a victim signed in to Palette a link to Dex's authorization
// endpoint with the device callback as redirect URI and the attacker's
// user code as state. Dex v2.45.1 signs the victim in without a page to
// click and hands the victim's tokens to the attacker's device poll.
// dex-spectro completes a device request only in a browser that entered its
// user code: the victim gets a page saying so, the attacker nothing.
func TestDeviceFlowLoginCSRF(t *testing.T) {
	for _, unprotected := range []bool{true, false} {
		t.Run(map[bool]string{true: "Dex v2.45.1", false: "dex-spectro"}[unprotected], func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l := listen(t)
			palette, _, _ := lifetimePalette(t, "http://"+l.Addr().String()+"/dex") // jane is signed in to Palette
			// Palette is the only connector, and there is no approval screen.
			dex := startDexForOn(t, l, lifetimeConfig(palette.URL).With("oauth2: {skipApprovalScreen: true}"), unprotected)

			// The attacker's device request, and in the protected case the
			// attacker's own browser entering the code (which binds the
			// request to the attacker's browser, not the victim's).
			attacker := newDeviceClient(t, dex.Issuer, "kubectl", "")
			da := attacker.start(t)
			if !unprotected {
				enterUserCode(t, dextest.NewBrowser(), da)
			}

			victim := dextest.NewBrowser()
			if !unprotected {
				// An auto-submitting form on the attacker's site, entering
				// the code in the victim's browser, is refused.
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, dex.Issuer+"/device/auth/verify_code",
					strings.NewReader(url.Values{"user_code": {da.UserCode}}.Encode()))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", "https://attacker.example")
				req.Header.Set("Sec-Fetch-Site", "cross-site")
				resp, err := victim.Client.Do(req)
				require.NoError(t, err)
				require.NoError(t, resp.Body.Close())
				assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			}

			link := dex.Issuer + "/auth?" + url.Values{
				"client_id": {"kubectl"}, "redirect_uri": {"/device/callback"}, "response_type": {"code"},
				"scope": {"openid email"}, "state": {da.UserCode},
			}.Encode()
			resp, body := followRedirects(t, victim, link)
			status, poll := attacker.pollOnce(t, da)

			if unprotected {
				require.Equal(t, http.StatusOK, resp.StatusCode, body)
				assert.Contains(t, body, "Login Successful for kubectl")
				require.Equal(t, http.StatusOK, status, "the hole is reproduced: %v", poll)
				raw, _ := poll["id_token"].(string)
				idToken, err := attacker.verifier.Verify(attacker.ctx(ctx), raw)
				require.NoError(t, err)
				var claims dextest.Claims
				require.NoError(t, idToken.Claims(&claims))
				assert.Equal(t, "jane@example.com", claims.Email, "the attacker holds the victim's tokens")
				return
			}
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			assert.Equal(t, "/dex/device/callback", resp.Request.URL.Path)
			assert.Contains(t, body, "This device sign-in was not started in this browser")
			assert.Contains(t, body, "If you did not start a device sign-in, close this page")
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, "authorization_pending", poll["error"], "the attacker's device gets nothing")
			assert.NotContains(t, poll, "id_token")
		})
	}
}

// followRedirects opens target in b and follows redirects to the page at
// the end, whatever its status.
func followRedirects(t *testing.T, b *dextest.Browser, target string) (*http.Response, string) {
	t.Helper()
	u := mustParse(t, target)
	for range 20 {
		resp, body, err := dextest.Do(context.Background(), b.Client, http.MethodGet, u, nil)
		require.NoError(t, err)
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			return resp, body
		}
		u, err = u.Parse(loc)
		require.NoError(t, err)
	}
	t.Fatal("too many redirects")
	return nil, ""
}
