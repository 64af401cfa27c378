package serve_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

const directoryAPIKey = "palette-api-key-for-dex-0123456789"

// directoryBlock is the directory block of a spectrocloud connector's
// configuration, read every second; extra adds keys to it, indented below
// directory.
func directoryBlock(extra string) string {
	return "directory:\n  apiKey: " + directoryAPIKey + "\n  syncInterval: 1s\n  maxStaleness: 5s\n  requestsPerSecond: 10\n" + extra
}

// directoryDex is a dex-spectro in front of an emulated tenant whose
// directory it reads every second, with Jane signed in through Backstage.
type directoryDex struct {
	dex    *harness.Dex
	tenant *spectrotest.Tenant
	rp     *dextest.RelyingParty
}

// directoryPalette is an emulated tenant with Dex's client for a server
// listening on l, Jane (teams platform and admins) signed in to Palette,
// and the directory's API key.
func directoryPalette(t *testing.T, l net.Listener) (*spectrotest.Server, *spectrotest.Tenant) {
	t.Helper()
	palette, tenant := paletteFor(t, "http://"+l.Addr().String()+"/dex",
		spectrotest.User{Sub: "64a1b2c3d4e5f60718293a4b", Email: "jane@example.com", GivenName: "Jane", Groups: []string{"platform", "admins"}})
	tenant.AddAPIKey(directoryAPIKey)
	return palette, tenant
}

func startDirectoryDex(t *testing.T, connectorExtra, directoryExtra string, setup func(*spectrotest.Tenant)) *directoryDex {
	t.Helper()
	l := listen(t)
	palette, tenant := directoryPalette(t, l)
	if setup != nil {
		setup(tenant)
	}
	cfg := spectroConfig(palette.URL, connectorExtra, directoryBlock(directoryExtra))
	d := &directoryDex{dex: harness.Start(t, cfg, l), tenant: tenant}
	var err error
	d.rp, err = dextest.NewRelyingParty(context.Background(), d.dex.Issuer, "backstage", "backstage-secret", rpRedirect)
	require.NoError(t, err)
	return d
}

// signIn signs Jane in once the directory has been read (before, the
// connector refuses: it cannot check her yet).
func (d *directoryDex) signIn(t *testing.T) *dextest.Tokens {
	t.Helper()
	var tokens *dextest.Tokens
	require.Eventually(t, func() bool {
		var err error
		tokens, err = d.rp.SignIn(context.Background(), dextest.NewBrowser())
		return err == nil
	}, 15*time.Second, 100*time.Millisecond, "a sign-in once Palette's directory has been read")
	return tokens
}

// refreshUntilRefused refreshes every 20 ms, following the rotated refresh
// token, until Dex answers with an OAuth error; it returns that error, the
// last tokens issued, and how long it took from start.
func (d *directoryDex) refreshUntilRefused(t *testing.T, tokens *dextest.Tokens, start time.Time) (*oauth2.RetrieveError, *dextest.Tokens, time.Duration) {
	t.Helper()
	for time.Since(start) < 10*time.Second {
		next, err := d.rp.Refresh(context.Background(), tokens.OAuth2.RefreshToken)
		if err != nil {
			var re *oauth2.RetrieveError
			require.True(t, errors.As(err, &re), "an OAuth error: %v", err)
			return re, tokens, time.Since(start)
		}
		tokens = next
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("refreshes still succeed 10s after the change")
	return nil, nil, 0
}

// A user disabled in Palette loses Dex at the next refresh after the next
// read of the directory: invalid_grant with the reason, in real time, with
// the server as it runs in production. A token exchange of a Palette ID
// token of hers is refused too.
func TestDirectoryDisabledUserEndToEnd(t *testing.T) {
	d := startDirectoryDex(t, "", "", nil)
	tokens := d.signIn(t)
	assert.Equal(t, []string{"admins", "platform"}, tokens.Claims.Groups, "the directory's teams")
	paletteToken := d.tenant.MintIDToken(d.tenant.Claims(d.tenant.Users()[0], "dex", ""))

	disabled := time.Now()
	require.True(t, d.tenant.DisableUser("jane@example.com"))
	re, _, took := d.refreshUntilRefused(t, tokens, disabled)
	assert.Equal(t, "invalid_grant", re.ErrorCode)
	assert.Equal(t, "spectrocloud: the user is disabled in Palette: sign in again is not possible", re.ErrorDescription)
	assert.Less(t, took, 3*time.Second, "within the sync interval (1s), one read and one refresh")
	t.Logf("user disabled in Palette → Dex refresh answered invalid_grant after %s (directory.syncInterval 1s)", took.Round(time.Millisecond))

	status, body := postToken(t, d.dex.Issuer, "backstage", "backstage-secret", tokenExchangeForm(paletteToken, "openid email"))
	assert.NotEqual(t, http.StatusOK, status, body)
}

// A team removed in Palette leaves the groups of the next refresh; with
// allowedGroups naming it, the refresh is refused.
func TestDirectoryRemovedTeamEndToEnd(t *testing.T) {
	d := startDirectoryDex(t, "allowedGroups: [admins, platform]", "", nil)
	tokens := d.signIn(t)

	d.tenant.RemoveTeam("admins")
	require.Eventually(t, func() bool {
		next, err := d.rp.Refresh(context.Background(), tokens.OAuth2.RefreshToken)
		if err != nil {
			return false
		}
		tokens = next
		return assert.ObjectsAreEqual([]string{"platform"}, next.Claims.Groups)
	}, 5*time.Second, 20*time.Millisecond, "the team leaves the groups")

	removed := time.Now()
	d.tenant.RemoveTeam("platform")
	re, _, took := d.refreshUntilRefused(t, tokens, removed)
	assert.Equal(t, "invalid_grant", re.ErrorCode)
	t.Logf("last allowed team removed in Palette → refresh refused after %s", took.Round(time.Millisecond))
}

// A user Palette signs in but its directory does not hold (here: only the
// UID is matched, and Palette's sub is not the UID) gets Dex's error page
// with the reason and 403.
func TestDirectorySignInPageEndToEnd(t *testing.T) {
	d := startDirectoryDex(t, "", "  match: [uid]\n", func(tenant *spectrotest.Tenant) { tenant.SetSubjectIsUID(false) })
	authURL := d.rp.OAuth2.AuthCodeURL("state-0123456789")
	var status int
	var body string
	require.Eventually(t, func() bool {
		status, body = finalPage(t, authURL)
		return status == http.StatusForbidden
	}, 15*time.Second, 100*time.Millisecond, "refused once the directory has been read")
	assert.Contains(t, body, "the user is not in Palette&#39;s directory: sign in again is not possible")
}

// finalPage follows the redirects from rawURL, as a browser does, and
// returns the status and body of the first answer that is not a redirect.
func finalPage(t *testing.T, rawURL string) (int, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	for range 10 {
		resp, body, err := dextest.Do(context.Background(), client, http.MethodGet, u, nil)
		require.NoError(t, err)
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			return resp.StatusCode, body
		}
		u, err = u.Parse(loc)
		require.NoError(t, err)
	}
	t.Fatal("too many redirects")
	return 0, ""
}

// With Palette's API down, sessions go on until maxStaleness; then a
// refresh is a passing fault (server_error), not the end of the session:
// once the API is back, the same refresh token works.
func TestDirectoryAPIDownEndToEnd(t *testing.T) {
	d := startDirectoryDex(t, "", "", nil)
	tokens := d.signIn(t)
	down := time.Now()
	for _, ep := range spectrotest.APIEndpoints() {
		d.tenant.SetFault(ep, spectrotest.Fault{Status: http.StatusServiceUnavailable})
	}
	re, last, took := d.refreshUntilRefused(t, tokens, down)
	assert.Equal(t, http.StatusInternalServerError, re.Response.StatusCode, "%s", re.Body)
	assert.NotEqual(t, "invalid_grant", re.ErrorCode, "%s", re.Body)
	assert.GreaterOrEqual(t, took, 3*time.Second, "the last copy serves until maxStaleness (5s after the last read, at most a read interval before the outage)")
	t.Logf("Palette's API down → refreshes kept working for %s (directory.maxStaleness 5s)", took.Round(time.Millisecond))

	d.tenant.ClearFaults()
	require.Eventually(t, func() bool {
		_, err := d.rp.Refresh(context.Background(), last.OAuth2.RefreshToken)
		return err == nil
	}, 15*time.Second, 100*time.Millisecond, "the session survived the outage")
}
