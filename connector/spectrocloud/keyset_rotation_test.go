package spectrocloud

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/dexidp/dex/connector"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

func TestRotationRightAfterAFetch(t *testing.T) {
	for name, clock := range map[string]func(*fixture) *fixture{
		"our clock":            func(f *fixture) *fixture { return f },
		"the emulator's clock": (*fixture).systemClock,
	} {
		t.Run(name, func(t *testing.T) {
			f := clock(newFixture(t))
			c := f.open()
			_, err := f.login(c, allScopes) // fetches the keys
			require.NoError(t, err)
			require.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointJWKS))

			// Palette starts signing with a new key right after our fetch:
			// the ID token comes from its token endpoint, so its kid is
			// trusted and refetches the keys at once.
			f.tenant.RotateKey()
			id, err := f.login(c, allScopes)
			require.NoError(t, err, "a sign-in with the new key succeeds whenever the last fetch was")
			assert.Equal(t, 2, f.tenant.Requests(spectrotest.EndpointJWKS))

			// A refresh of that session on a replica that has not seen the
			// key yet refetches at once too: Dex stored the token after a
			// verified sign-in.
			f.tenant.RotateKey()
			other := f.open()
			_, err = f.login(other, allScopes) // the other replica knows the newest key
			require.NoError(t, err)
			_, err = c.Refresh(context.Background(), allScopes, id)
			require.NoError(t, err)
		})
	}
}

func TestConcurrentSignInsWithANewKeyShareOneFetch(t *testing.T) {
	f := newFixture(t)
	c := f.open()
	_, err := f.login(c, allScopes)
	require.NoError(t, err)
	f.tenant.RotateKey()
	f.tenant.SetFault(spectrotest.EndpointJWKS, spectrotest.Fault{Delay: 200 * time.Millisecond})

	const n = 40
	callbacks := make([]*http.Request, n)
	connData := make([][]byte, n)
	for i := range n {
		callbacks[i], connData[i] = f.authorize(c, allScopes)
	}
	f.tenant.ResetRequests()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = c.HandleCallback(allScopes, connData[i], callbacks[i])
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "sign-in %d", i)
	}
	assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointJWKS), "%d concurrent sign-ins with a new kid share one JWKS fetch", n)
}

func TestUnknownKeyAfterAFailedRefetchIsAPassingFault(t *testing.T) {
	f := newFixture(t)
	c := f.open()
	_, err := f.login(c, allScopes) // this replica knows the first key only
	require.NoError(t, err)

	// Palette rotates; another replica signs the user in with the new key.
	f.tenant.RotateKey()
	session, err := f.login(f.open(), allScopes)
	require.NoError(t, err)

	// This replica's refetch meets a Palette outage: the refresh is a
	// passing fault (server_error, retry), not "sign in again".
	f.tenant.SetFault(spectrotest.EndpointJWKS, spectrotest.Fault{Status: http.StatusBadGateway})
	for _, attempt := range []string{"the refetch fails", "the retry is not due yet"} {
		ctx, failure := connhook.WithRecorder(context.Background())
		_, err = c.Refresh(ctx, allScopes, session)
		var upstream *UpstreamError
		require.ErrorAs(t, err, &upstream, attempt)
		assert.Equal(t, "jwks", upstream.Endpoint, attempt)
		assert.Contains(t, err.Error(), "HTTP 502", attempt)
		var invalid *InvalidTokenError
		assert.NotErrorAs(t, err, &invalid, attempt)
		assert.False(t, failureFinal(failure), "%s: the session is kept", attempt)
	}
	assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointJWKS)-2, "a retry after a failed fetch waits %s", minRefetchInterval)

	// A token presented from outside meets the same outage as a passing fault.
	_, err = c.TokenIdentity(context.Background(), tokenTypeIDToken, f.tenant.MintIDToken(f.tenant.Claims(jane, testClientID, "")))
	var upstream *UpstreamError
	require.ErrorAs(t, err, &upstream)

	// Palette recovers: the next due retry finds the key.
	f.tenant.ClearFaults()
	f.clock.Advance(minRefetchInterval)
	_, err = c.Refresh(context.Background(), allScopes, session)
	require.NoError(t, err)
}

func TestWithdrawnKeyEndsSessionsWithinTheDeclaredMaxAge(t *testing.T) {
	t.Run("our clock", func(t *testing.T) {
		f := newFixture(t)
		c, session := f.signedIn(2 * time.Second)
		kid := f.tenant.SigningKeyID()
		f.tenant.RotateKey()
		f.tenant.RemoveKey(kid)

		f.clock.Advance(time.Second)
		_, err := c.Refresh(context.Background(), allScopes, session)
		require.NoError(t, err, "within max-age the cached keys answer")
		f.clock.Advance(2 * time.Second)
		_, err = c.Refresh(context.Background(), allScopes, session)
		var again *SignInAgainError
		require.ErrorAs(t, err, &again, "3 s later, past max-age=2, the withdrawn key no longer verifies")
	})
	t.Run("the emulator's clock", func(t *testing.T) {
		f := newFixture(t).systemClock()
		c, session := f.signedIn(time.Second)
		withdrawnAt := time.Now()
		kid := f.tenant.SigningKeyID()
		f.tenant.RotateKey()
		f.tenant.RemoveKey(kid)

		var ended time.Time
		require.Eventually(t, func() bool {
			_, err := c.Refresh(context.Background(), allScopes, session)
			var again *SignInAgainError
			if errors.As(err, &again) {
				ended = time.Now()
				return true
			}
			require.NoError(t, err)
			return false
		}, 20*time.Second, 50*time.Millisecond, "the session ends once max-age=1 has passed")
		t.Logf("withdrawn key refused %s after its withdrawal", ended.Sub(withdrawnAt).Round(10*time.Millisecond))
	})
}

func TestDiscoveryAttemptsAreSharedAndSpaced(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetDiscovery(false)
	c := f.open() // the first attempt fails
	require.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointDiscovery))

	// Callers within minRefetchInterval get the last error at once.
	for range 20 {
		_, _, err := c.LoginURL(allScopes, testRedirectURI, testState)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "HTTP 404", "the error names the last failure")
		assert.Contains(t, err.Error(), "next attempt is due in")
		_, err = c.TokenIdentity(context.Background(), tokenTypeIDToken, "junk")
		require.Error(t, err)
	}
	assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointDiscovery), "no attempt before the interval")

	// Once due, concurrent callers share one slow attempt.
	f.tenant.SetDiscovery(true)
	f.tenant.SetFault(spectrotest.EndpointDiscovery, spectrotest.Fault{Delay: 200 * time.Millisecond})
	f.clock.Advance(minRefetchInterval)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() { _, _, errs[i] = c.LoginURL(allScopes, testRedirectURI, testState) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 2, f.tenant.Requests(spectrotest.EndpointDiscovery), "concurrent callers share one attempt")
}

func TestDiscoveryWaitEndsWithTheCallersContext(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetFault(spectrotest.EndpointDiscovery, spectrotest.Fault{Delay: 3 * time.Second})
	c, err := f.cfg.open("spectrocloud", nil) // no discovery at open
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = c.Refresh(ctx, allScopes, connector.Identity{ConnectorData: []byte(`{"v":1,"idToken":"x"}`)})
	var upstream *UpstreamError
	require.ErrorAs(t, err, &upstream)
	assert.Equal(t, "discovery", upstream.Endpoint)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the caller stops waiting when its context ends")
}
