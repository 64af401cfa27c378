package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// outage is a way for Palette to be unavailable to Dex, and back.
type outage struct {
	name string
	down func(t *testing.T, p *Palette)
	up   func(t *testing.T, p *Palette)
}

func outages() []outage {
	clear := func(_ *testing.T, p *Palette) { p.Tenant.ClearFaults() }
	return []outage{
		{name: "unreachable", down: func(_ *testing.T, p *Palette) { p.Stop() }, up: func(t *testing.T, p *Palette) { p.Start(t) }},
		{name: "answering 503", down: func(_ *testing.T, p *Palette) {
			p.SetBackChannelFault(spectrotest.Fault{Status: http.StatusServiceUnavailable, Body: []byte("maintenance")})
		}, up: clear},
		{name: "hanging", down: func(_ *testing.T, p *Palette) {
			p.SetBackChannelFault(spectrotest.Fault{Delay: time.Hour})
		}, up: clear},
	}
}

// Refresh re-validates the stored Palette ID token against the cached
// signing keys: while Palette is unreachable, failing or hanging, refresh
// keeps working, without a single request to Palette and without waiting
// for it.
func TestRefreshWhilePaletteIsDown(t *testing.T) {
	for _, o := range outages() {
		t.Run(o.name, func(t *testing.T) {
			e := newEnv(t, map[string]any{"upstreamTimeout": "2s"})
			e.palette.AddUser("jane@example.com", "admins")
			s := e.signIn(t, "jane@example.com")

			o.down(t, e.palette)
			before := e.palette.BackChannelRequests()
			rt := s.OAuth2.RefreshToken
			for range 3 {
				start := time.Now()
				r := e.refresh(t, rt)
				assert.Less(t, time.Since(start), 2*time.Second, "refresh does not wait for Palette")
				assert.Equal(t, s.IDToken.Subject, r.IDToken.Subject)
				assert.Equal(t, []string{"admins"}, r.Claims.Groups)
				rt = r.OAuth2.RefreshToken
			}
			assert.Equal(t, before, e.palette.BackChannelRequests(), "no request reached Palette")

			o.up(t, e.palette)
			e.refresh(t, rt)
			e.signIn(t, "jane@example.com")
		})
	}
}

// While Palette's token endpoint (the back channel of a sign-in) is
// unreachable, failing or hanging, a sign-in ends quickly, within the
// connector's upstreamTimeout, on Dex's error page, which says what failed,
// as does the log. When Palette is back the next sign-in succeeds, without
// a restart.
func TestSignInWhilePaletteIsDown(t *testing.T) {
	const timeout = time.Second
	e := newEnv(t, map[string]any{"upstreamTimeout": timeout.String()})
	e.palette.AddUser("jane@example.com")
	e.signIn(t, "jane@example.com") // discovery done, keys cached

	tokenFault := func(f spectrotest.Fault) func(*testing.T, *Palette, *dextest.Browser) {
		return func(_ *testing.T, p *Palette, _ *dextest.Browser) { p.Tenant.SetFault(spectrotest.EndpointToken, f) }
	}
	tests := []struct {
		name  string
		down  func(t *testing.T, p *Palette, a *dextest.Browser)
		up    func(t *testing.T, p *Palette)
		want  string
		hangs bool
	}{
		{
			name: "unreachable after its sign-in page",
			down: func(_ *testing.T, p *Palette, a *dextest.Browser) {
				a.BeforeRequest = func(u *url.URL) {
					if strings.HasSuffix(u.Path, "/callback") {
						p.Stop() // the browser got its code; now Dex cannot redeem it
					}
				}
			},
			up:   func(t *testing.T, p *Palette) { p.Start(t) },
			want: "Palette could not be reached",
		},
		{name: "hanging", down: tokenFault(spectrotest.Fault{Delay: time.Hour}), want: "Palette did not answer in time", hangs: true},
		{name: "answering 503", down: tokenFault(spectrotest.Fault{Status: http.StatusServiceUnavailable, Body: []byte("maintenance")}),
			want: "unexpected answer HTTP 503"},
		{name: "answering a maintenance page", down: tokenFault(spectrotest.Fault{ContentType: "text/html", Body: []byte("<html><body>Maintenance</body></html>")}),
			want: "the answer is not a valid token response"},
		{name: "answering 5 MiB", down: tokenFault(spectrotest.Fault{ContentType: "application/json", OversizeBytes: 5 << 20}),
			want: "the answer is not a valid token response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAgent("jane@example.com", nil)
			mark := e.dex.Logs.Mark()
			tt.down(t, e.palette, a)
			start := time.Now()
			_, err := e.rp.SignIn(context.Background(), a)
			elapsed := time.Since(start)

			var pageErr *dextest.PageError
			require.ErrorAs(t, err, &pageErr)
			assert.Equal(t, http.StatusInternalServerError, pageErr.Page.Status)
			assert.Equal(t, "/dex/callback", pageErr.Page.URL.Path)
			msg := pageErr.Page.Message()
			assert.True(t, strings.HasPrefix(msg, "Internal Server Error: spectrocloud: Palette token endpoint: "), "the page says what failed: %q", msg)
			assert.Contains(t, msg, tt.want)
			if tt.hangs {
				assert.GreaterOrEqual(t, elapsed, timeout, "Dex waited for Palette up to upstreamTimeout")
			}
			assert.Less(t, elapsed, timeout+5*time.Second, "the sign-in fails fast")
			assert.True(t, e.dex.Logs.WaitFor(mark, `msg="failed to authenticate" err="spectrocloud: Palette token endpoint: `, 5*time.Second))
			assert.Contains(t, e.dex.Logs.Since(mark), tt.want, "the log says why")

			if tt.up != nil {
				tt.up(t, e.palette)
			} else {
				e.palette.Tenant.ClearFaults()
			}
			e.signIn(t, "jane@example.com")
		})
	}

	t.Run("signing keys unreachable but cached", func(t *testing.T) {
		e.palette.Tenant.SetFault(spectrotest.EndpointJWKS, spectrotest.Fault{Status: http.StatusServiceUnavailable})
		t.Cleanup(e.palette.Tenant.ClearFaults)
		before := e.palette.Requests(spectrotest.EndpointJWKS)
		e.signIn(t, "jane@example.com")
		assert.Equal(t, before, e.palette.Requests(spectrotest.EndpointJWKS))
	})
}

// When Palette is unreachable as Dex starts, Dex starts anyway; sign-ins
// fail on Dex's error page until Palette is back, then succeed without a
// restart.
func TestSignInAfterPaletteWasDownAtStart(t *testing.T) {
	var clock dextest.Clock // the connector's
	p := StartPalette(t)
	p.AddUser("jane@example.com")
	p.Stop()
	e := newEnvFor(t, p, DexConfig{Connectors: []dextest.ConnectorFunc{p.SpectroCloud(connectorID, map[string]any{"upstreamTimeout": "1s"})}},
		serve.WithConnectorClock(clock.Now))
	assert.Contains(t, e.dex.Logs.String(), "palette discovery failed; it will be retried at the first sign-in")

	start := time.Now()
	_, err := e.rp.SignIn(context.Background(), NewAgent("jane@example.com", nil))
	var pageErr *dextest.PageError
	require.ErrorAs(t, err, &pageErr)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, http.StatusInternalServerError, pageErr.Page.Status)
	assert.Equal(t, "/dex/auth/"+connectorID, pageErr.Page.URL.Path)
	assert.Equal(t, "Internal Server Error: Login error.", pageErr.Page.Message())
	assert.Contains(t, e.dex.Logs.String(), `msg="connector returned error when creating callback" connector_id=spectrocloud err="spectrocloud: Palette discovery endpoint: `)

	// Discovery is retried once the retry interval has passed.
	p.Start(t)
	clock.Advance(refetchInterval)
	s := e.signIn(t, "jane@example.com")
	e.refresh(t, s.OAuth2.RefreshToken)
}

// Palette rotates its signing key, end to end: sessions signed with the old
// key keep refreshing while it is published; sign-ins with the new key ID
// cause exactly one JWKS refetch, however many arrive at once; once a
// refetch shows the old key withdrawn, its sessions end and their users
// must sign in again.
func TestKeyRotation(t *testing.T) {
	var clock dextest.Clock // the connector's
	e := newEnv(t, nil, serve.WithConnectorClock(clock.Now))
	p := e.palette
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin"} {
		p.AddUser(u + "@example.com")
	}
	oldKid := p.Tenant.SigningKeyID()
	alice := e.signIn(t, "alice@example.com")
	firstFetch := clock.Now() // no earlier than the first fetch
	require.Equal(t, 1, p.Requests(spectrotest.EndpointJWKS))

	p.Tenant.RotateKey()
	clock.AdvanceTo(firstFetch.Add(refetchInterval + 500*time.Millisecond))

	// Three sign-ins with the new key ID at once share one refetch.
	signedIn := make(map[string]*dextest.Tokens)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, u := range []string{"bob", "carol", "dave"} {
		wg.Go(func() {
			s, err := e.rp.SignIn(context.Background(), NewAgent(u+"@example.com", nil))
			assert.NoError(t, err, u)
			mu.Lock()
			signedIn[u] = s
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Len(t, signedIn, 3)
	secondFetch := clock.Now()
	assert.Equal(t, 2, p.Requests(spectrotest.EndpointJWKS), "the new key ID caused exactly one refetch")

	// The old key is still published: old and new sessions refresh, from
	// the cache.
	aliceRT := e.refresh(t, alice.OAuth2.RefreshToken).OAuth2.RefreshToken
	bobRT := e.refresh(t, signedIn["bob"].OAuth2.RefreshToken).OAuth2.RefreshToken
	assert.Equal(t, 2, p.Requests(spectrotest.EndpointJWKS))

	// Palette withdraws the old key. The cached keys still hold it until
	// the next fetch (at the end of the keys' lifetime, or for an unknown
	// key ID).
	p.Tenant.RemoveKey(oldKid)
	aliceRT = e.refresh(t, aliceRT).OAuth2.RefreshToken

	// Palette rotates again; the next sign-in's new key ID makes the
	// connector refetch, and the refetched keys lack the old key.
	clock.AdvanceTo(secondFetch.Add(refetchInterval + 500*time.Millisecond))
	p.Tenant.RotateKey()
	e.signIn(t, "erin@example.com")
	assert.Equal(t, 3, p.Requests(spectrotest.EndpointJWKS))

	_, err := e.rp.Refresh(context.Background(), aliceRT)
	require.Error(t, err, "a session signed by a withdrawn key ends")
	re, ok := RetrieveError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, http.StatusBadRequest, re.Response.StatusCode)
	assert.Equal(t, "invalid_grant", re.ErrorCode)
	assert.Contains(t, re.ErrorDescription, oldKid)
	assert.True(t, strings.HasSuffix(re.ErrorDescription, "sign in again"), "the application is told to sign in again: %q", re.ErrorDescription)
	assert.Contains(t, e.dex.Logs.String(), `msg="failed to refresh identity" err="spectrocloud: invalid ID token: `)

	e.refresh(t, bobRT) // signed with a key still published
	again := e.signIn(t, "alice@example.com")
	e.refresh(t, again.OAuth2.RefreshToken)
}

// A flood of Palette-looking ID tokens with random key IDs, sent to Dex's
// token-exchange grant, causes at most one JWKS request per refetch
// interval; genuine tokens keep working and cause none.
func TestUnknownKidFlood(t *testing.T) {
	e := newEnv(t, nil)
	jane := e.palette.AddUser("jane@example.com")
	claims := e.palette.Tenant.Claims(jane, PaletteClientID, "")
	client := &http.Client{Timeout: 30 * time.Second}
	ctx := context.Background()

	const flood, workers = 200, 16
	jobs := make(chan string, flood)
	for i := range flood {
		jobs <- e.palette.Tenant.MintIDToken(claims, spectrotest.WithKeyID(fmt.Sprintf("junk-%03d", i)))
	}
	close(jobs)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for junk := range jobs {
				status, body, err := TokenExchange(ctx, client, e.dex.Issuer, connectorID, junk)
				if assert.NoError(t, err) {
					assert.Equal(t, http.StatusUnauthorized, status)
					assert.Contains(t, body, "access_denied")
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	jwks := e.palette.Requests(spectrotest.EndpointJWKS)
	t.Logf("%d tokens with unknown key IDs in %s caused %d JWKS requests", flood, elapsed.Round(time.Millisecond), jwks)
	assert.GreaterOrEqual(t, jwks, 1)
	assert.LessOrEqual(t, jwks, 1+int(elapsed/refetchInterval), "at most one JWKS request per refetch interval")
	assert.Contains(t, e.dex.Logs.String(), `msg="failed to verify subject token" err="spectrocloud: invalid ID token: `)

	status, body, err := TokenExchange(ctx, client, e.dex.Issuer, connectorID, e.palette.Tenant.MintIDToken(claims))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status, body)
	e.signIn(t, "jane@example.com")
	assert.Equal(t, jwks, e.palette.Requests(spectrotest.EndpointJWKS), "genuine tokens use the cached keys")
}
