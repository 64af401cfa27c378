package serve_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// uncleanIssuerConfig signs users in through Palette and the password
// database, with issuer, the issuer as written (not clean); base is where
// Dex serves its endpoints (the clean path).
func uncleanIssuerConfig(consoleURL, issuer, base string) dextest.DexConfig {
	cfg := lifetimeConfig(consoleURL, "redirectURI: "+base+"/callback").With(passwordDB)
	cfg.Issuer = issuer
	return cfg
}

// Dex serves its endpoints at path.Join(issuer's path, endpoint), whatever
// the issuer's path looks like; every fix in front of Dex guards the same
// paths: the back link, the cap of token lifetimes, the device flow, the
// refresh token comparison and the connector's failures.
func TestUncleanIssuerPaths(t *testing.T) {
	tests := []struct {
		name, issuerPath, base string
	}{
		{name: "trailing slash", issuerPath: "/dex/", base: "/dex"},
		{name: "double slash", issuerPath: "/dex//", base: "/dex"},
		{name: "dot-dot segment", issuerPath: "/a/../dex", base: "/dex"},
		{name: "dot segment", issuerPath: "/./dex/.", base: "/dex"},
		{name: "encoded slash", issuerPath: "/a%2Fdex", base: "/a/dex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			l := listen(t)
			origin := "http://" + l.Addr().String()
			base := origin + tt.base
			palette, tenant, exps := lifetimePalette(t, base)
			tenant.SetIDTokenLifetime(40 * time.Second)
			var dexClock dextest.Clock
			harness.Start(t, uncleanIssuerConfig(palette.URL, origin+tt.issuerPath, base), l, serve.WithClock(dexClock.Now))

			t.Run("back link", func(t *testing.T) {
				b := passwordBrowser()
				page, err := b.Get(ctx, base+"/auth?"+url.Values{
					"client_id": {"backstage"}, "response_type": {"code"}, "scope": {"openid email"},
					"state": {"s1"}, "redirect_uri": {rpRedirect}, "connector_id": {"local"},
				}.Encode())
				require.NoError(t, err)
				require.Contains(t, page.Body, `name="password"`)
				u := *page.URL
				q := u.Query()
				q.Set("back", "https://evil.example/phish")
				u.RawQuery = q.Encode()
				resp, body, err := dextest.Do(ctx, b.Client, http.MethodGet, &u, nil)
				require.NoError(t, err)
				require.Equal(t, http.StatusOK, resp.StatusCode, body)
				require.Contains(t, body, `name="password"`)
				assert.NotContains(t, body, "evil.example", "no link to another site")
			})

			t.Run("token lifetimes", func(t *testing.T) {
				status, body := redeemForBackstage(t, base, signInForCode(t, base, "backstage"))
				require.Equal(t, http.StatusOK, status, body)
				resp := decodeTokens(t, body)
				assert.Equal(t, exps.last(t), jwtExp(t, resp.IDToken), "the ID token ends with the Palette sign-in")
				assert.LessOrEqual(t, resp.ExpiresIn, int64(40), "expires_in agrees")

				ended := signInForCode(t, base, "backstage")
				dexClock.AdvanceTo(exps.last(t))
				t.Cleanup(dexClock.Reset)
				status, body = redeemForBackstage(t, base, ended)
				assert.Equal(t, http.StatusBadRequest, status, body)
				assert.Contains(t, body, `"invalid_grant"`)
				assert.Contains(t, body, "sign in again")
			})

			t.Run("device flow", func(t *testing.T) {
				status, body := postForm(t, base+"/device/code", url.Values{"client_id": {"kubectl"}, "client_secret": {"leaked"}, "scope": {"openid"}})
				require.Equal(t, http.StatusOK, status, body)
				var da struct {
					UserCode string `json:"user_code"`
				}
				require.NoError(t, json.Unmarshal([]byte(body), &da))
				b := dextest.NewBrowser()
				resp, _, err := dextest.Do(ctx, b.Client, http.MethodPost, mustParse(t, base+"/device/auth/verify_code"), url.Values{"user_code": {da.UserCode}})
				require.NoError(t, err)
				require.Equal(t, http.StatusFound, resp.StatusCode)
				assert.NotContains(t, resp.Header.Get("Location"), "leaked", "no client secret in the browser's redirect")
			})

			t.Run("refresh token comparison", func(t *testing.T) {
				status, body := redeemForBackstage(t, base, signInForCode(t, base, "backstage"))
				require.Equal(t, http.StatusOK, status, body)
				resp := decodeTokens(t, body)
				require.NotEmpty(t, resp.RefreshToken)
				status, body = postForm(t, base+"/token/introspect", url.Values{"token": {withRefreshSecret(t, resp.RefreshToken, "guessed")}})
				require.Equal(t, http.StatusOK, status, body)
				assert.JSONEq(t, `{"active":false}`, body)
			})

			t.Run("connector failures", func(t *testing.T) {
				tenant.AddUser(spectrotest.User{Email: "carol@example.com", GivenName: "Carol", Claims: map[string]any{"email_verified": false}})
				tenant.SetAutoLogin("carol@example.com")
				t.Cleanup(func() { tenant.SetAutoLogin("jane@example.com") })
				b := dextest.NewBrowser()
				b.Connector = "SpectroCloud"
				callback, err := b.Authorize(ctx, authURL(base, "backstage"), base+"/callback")
				require.NoError(t, err)
				resp, body, err := dextest.Do(ctx, b.Client, http.MethodGet, callback, nil)
				require.NoError(t, err)
				assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the user may not sign in")
				assert.Contains(t, body, "email_verified", "the connector's reason")
			})
		})
	}
}

// authURL is Dex's authorization URL at base for a code for client.
func authURL(base, client string) string {
	return base + "/auth?" + url.Values{
		"client_id": {client}, "redirect_uri": {rpRedirect}, "response_type": {"code"},
		"scope": {"openid email offline_access"}, "state": {"state-0123456789"},
	}.Encode()
}

// signInForCode signs jane in through Palette for client and returns the
// code Dex redirects with.
func signInForCode(t *testing.T, base, client string) string {
	t.Helper()
	b := dextest.NewBrowser()
	b.Connector = "SpectroCloud"
	callback, err := b.Authorize(context.Background(), authURL(base, client), rpRedirect)
	require.NoError(t, err)
	code := callback.Query().Get("code")
	require.NotEmpty(t, code, callback.Redacted())
	return code
}

// redeemForBackstage redeems a code of the backstage client at base.
func redeemForBackstage(t *testing.T, base, code string) (int, string) {
	t.Helper()
	return postToken(t, base, "backstage", "backstage-secret", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}})
}

// tokenResponse is a token endpoint's answer.
type tokenResponse struct {
	IDToken      string `json:"id_token"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
}

func decodeTokens(t *testing.T, body string) tokenResponse {
	t.Helper()
	var resp tokenResponse
	require.NoError(t, json.Unmarshal([]byte(body), &resp), body)
	return resp
}

// postForm posts a form without client credentials.
func postForm(t *testing.T, target string, form url.Values) (int, string) {
	t.Helper()
	resp, body, err := dextest.Do(context.Background(), http.DefaultClient, http.MethodPost, mustParse(t, target), form)
	require.NoError(t, err)
	return resp.StatusCode, body
}
