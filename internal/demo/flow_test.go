package demo

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

func TestSignInPageListsDemoUsers(t *testing.T) {
	t.Parallel()
	urls := startDemo(t, testOptions(t))
	ua := newUserAgent(t)

	home := ua.get(urls.App)
	require.Equal(t, http.StatusOK, home.status)
	assert.Contains(t, home.body, `href="/login"`)

	p := ua.signInPage(urls)
	var want []string
	for _, u := range Users() {
		want = append(want, u.Palette.Email)
	}
	assert.Equal(t, want, listedUsers(p))
	assert.Contains(t, p.body, "teams: platform-team, sre", "the page shows each user's teams")
}

func TestSignInShowsDexClaims(t *testing.T) {
	t.Parallel()
	urls := startDemo(t, testOptions(t))
	ua := newUserAgent(t)

	p := ua.signInAs(urls, "alice@example.com")
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Equal(t, urls.App+"/", p.url.String())
	assert.Equal(t, "alice@example.com", elementText(t, p.body, "email"))
	assert.Equal(t, "Alice Platform", elementText(t, p.body, "name"))
	assert.Equal(t, "alice", elementText(t, p.body, "preferred-username"))
	assert.Equal(t, "true", elementText(t, p.body, "email-verified"))
	assert.Equal(t, []string{"platform-team", "sre"}, groupsOf(p.body))
	assert.Contains(t, elementText(t, p.body, "notice"), "Signed in")

	expiry := datetimeOf(t, p.body, "expiry")
	assert.WithinDuration(t, time.Now().Add(testOptions(t).dexIDTokenLifetime()), expiry, 5*time.Second)
	palette := datetimeOf(t, p.body, "palette-expiry")
	assert.WithinDuration(t, time.Now().Add(time.Minute), palette, 5*time.Second)

	kube := elementText(t, p.body, "kubeconfig")
	assert.Contains(t, kube, "--oidc-issuer-url="+urls.Issuer)
	assert.Contains(t, kube, "--oidc-client-id=kubelogin")
	assert.Contains(t, kube, "- oidc-login")

	// The notice is shown once.
	again := ua.get(urls.App)
	assert.NotContains(t, again.body, `id="notice"`)
	assert.Equal(t, "alice@example.com", elementText(t, again.body, "email"))
}

func TestCustomClaimBecomesGroup(t *testing.T) {
	t.Parallel()
	urls := startDemo(t, testOptions(t))
	p := newUserAgent(t).signInAs(urls, "bob@example.com")
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Equal(t, []string{"app-team", "project:edge-fleet"}, groupsOf(p.body))
}

func TestRefreshRenewsDexTokenWithoutPalette(t *testing.T) {
	t.Parallel()
	clock := &dextest.Clock{}
	opts := testOptions(t)
	opts.Now = clock.Now
	// Dex's tokens (a minute) end before the Palette sign-in (three), so a
	// refresh moves their expiry; they never end after the sign-in.
	opts.TokenLifetime = 3 * time.Minute
	urls := startDemo(t, opts)
	ua := newUserAgent(t)

	p := ua.signInAs(urls, "alice@example.com")
	require.Equal(t, http.StatusOK, p.status, p.body)
	before := datetimeOf(t, p.body, "expiry")
	assert.False(t, before.After(datetimeOf(t, p.body, "palette-expiry")), "Dex's token ends with the Palette sign-in at the latest")

	clock.Advance(20 * time.Second)
	p = ua.post(urls.App+"/refresh", nil)
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Contains(t, elementText(t, p.body, "notice"), "Refreshed")
	assert.NotContains(t, p.body, `id="problem"`)
	after := datetimeOf(t, p.body, "expiry")
	assert.True(t, after.After(before), "expiry %s did not move past %s", after, before)
	assert.Equal(t, before, datetimeOf(t, p.body, "previous-expiry"))
	assert.Equal(t, "alice@example.com", elementText(t, p.body, "email"))
	assert.Equal(t, []string{"platform-team", "sre"}, groupsOf(p.body))

	// Refresh tokens rotate; the app keeps the new one.
	clock.Advance(20 * time.Second)
	p = ua.post(urls.App+"/refresh", nil)
	assert.Contains(t, elementText(t, p.body, "notice"), "Refreshed")
	assert.True(t, datetimeOf(t, p.body, "expiry").After(after))
}

func TestRefreshAfterPaletteExpiryAsksToSignInAgain(t *testing.T) {
	clock := &dextest.Clock{} // Dex's and its connector's
	opts := testOptions(t)
	opts.Now = clock.Now
	urls := startDemo(t, opts)
	ua := newUserAgent(t)

	p := ua.signInAs(urls, "alice@example.com")
	require.Equal(t, http.StatusOK, p.status, p.body)
	paletteExpiry := datetimeOf(t, p.body, "palette-expiry")

	// Move Dex and the connector past the Palette ID token's expiry (and
	// Dex past expiry.refreshTokens.reuseInterval, within which it would
	// answer the refresh without asking the connector).
	clock.AdvanceTo(paletteExpiry.Add(time.Second))
	last := ua.post(urls.App+"/refresh", nil)
	require.Contains(t, last.body, `id="problem"`)
	problem := elementText(t, last.body, "problem")
	assert.Contains(t, problem, "Refresh refused. Dex answered ")
	assert.Contains(t, problem, "invalid_grant")
	assert.Contains(t, problem, "sign in again")
	assert.Contains(t, last.body, `href="/login" id="signin-again"`)

	// Signing in again works.
	clock.Reset()
	p = ua.signInAs(urls, "alice@example.com")
	assert.Equal(t, "alice@example.com", elementText(t, p.body, "email"))
	assert.NotContains(t, p.body, `id="problem"`)
}

func TestRefusedSignIns(t *testing.T) {
	t.Parallel()
	urls := startDemo(t, testOptions(t))
	tests := []struct {
		login      string
		status     int
		wantInBody string
	}{
		{"carol@example.com", http.StatusForbidden, "the email address is not verified in Palette"},
		{"dave@partner.example", http.StatusForbidden, "You are not a member of any of the required groups"},
	}
	for _, tt := range tests {
		t.Run(tt.login, func(t *testing.T) {
			p := newUserAgent(t).signInAs(urls, tt.login)
			assert.Equal(t, tt.status, p.status)
			assert.True(t, strings.HasPrefix(p.url.String(), urls.Issuer+"/callback"), "ended on %s", p.url)
			assert.Contains(t, p.body, tt.wantInBody)
		})
	}
}

func TestUnknownUserIsRejected(t *testing.T) {
	t.Parallel()
	urls := startDemo(t, testOptions(t))
	p := newUserAgent(t).signInAs(urls, "mallory@example.com")
	assert.Equal(t, http.StatusUnauthorized, p.status)
	assert.Contains(t, p.body, "Unknown user")
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	urls := startDemo(t, testOptions(t))
	ua := newUserAgent(t)
	ua.signInAs(urls, "bob@example.com")

	p := ua.post(urls.App+"/logout", nil)
	require.Equal(t, http.StatusOK, p.status)
	assert.Contains(t, p.body, `id="signin"`)
	assert.NotContains(t, p.body, "bob@example.com</td>")

	// Refresh without a session goes back to the start page.
	p = ua.post(urls.App+"/refresh", nil)
	assert.Equal(t, urls.App+"/", p.url.String())
}

func TestCallbackChecksState(t *testing.T) {
	t.Parallel()
	urls := startDemo(t, testOptions(t))
	ua := newUserAgent(t)

	p := ua.get(urls.App + "/callback?" + url.Values{"code": {"x"}, "state": {"forged"}}.Encode())
	assert.Equal(t, http.StatusBadRequest, p.status)
	assert.Contains(t, elementText(t, p.body, "error-message"), "Sign in again")

	// A sign-in in progress does not accept another state either.
	ua.signInPage(urls)
	p = ua.get(urls.App + "/callback?" + url.Values{"code": {"x"}, "state": {"forged"}}.Encode())
	assert.Equal(t, http.StatusBadRequest, p.status)
}

func TestCallbackShowsDexError(t *testing.T) {
	t.Parallel()
	urls := startDemo(t, testOptions(t))
	ua := newUserAgent(t)

	// Start a sign-in, stopping at the redirect to Dex to learn the state.
	toDex, err := ua.b.Walk(t.Context(), urls.App+"/login", urls.Issuer+"/auth")
	require.NoError(t, err)
	require.Zero(t, toDex.Status, "the app redirects to Dex's authorization endpoint")
	authURL := toDex.URL

	// Dex sends the user back with an error, as when the user denies access.
	p := ua.get(urls.App + "/callback?" + url.Values{
		"error": {"access_denied"}, "error_description": {"the user said no"}, "state": {authURL.Query().Get("state")},
	}.Encode())
	assert.Equal(t, http.StatusForbidden, p.status)
	assert.Contains(t, elementText(t, p.body, "error-message"), "Dex answered access_denied: the user said no")
}
