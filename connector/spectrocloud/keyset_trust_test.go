package spectrocloud

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

// A leaked key that Palette withdraws while its key endpoint fails: a
// replica that fetched the keys before the withdrawal cannot know, and
// trusts the key for as long as the key set's declared lifetime; past it,
// token exchange refuses every token, since it never uses stale keys,
// while refresh keeps serving its sessions within jwksMaxStale.
func TestOutageAfterWithdrawalThroughTokenExchange(t *testing.T) {
	f := newFixture(t)
	c, session := f.signedIn(5 * time.Minute) // fetches the keys: the leaked key only
	leaked := f.tenant.SigningKeyID()

	f.tenant.RotateKey()
	f.tenant.RemoveKey(leaked)
	f.tenant.SetFault(spectrotest.EndpointJWKS, spectrotest.Fault{Status: http.StatusServiceUnavailable})
	forged := f.tenant.MintIDToken(f.tenant.Claims(jane, testClientID, ""), spectrotest.WithKey(leaked))

	_, err := c.TokenIdentity(context.Background(), tokenTypeIDToken, forged)
	require.NoError(t, err, "within the keys' declared lifetime the replica cannot know of the withdrawal")

	f.clock.Advance(5 * time.Minute)
	for range 3 {
		_, err = c.TokenIdentity(context.Background(), tokenTypeIDToken, forged)
		var upstream *UpstreamError
		require.ErrorAs(t, err, &upstream, "past their lifetime, stale keys never verify a token from outside")
		assert.Contains(t, err.Error(), "tokens from outside are verified with current keys only")
		assert.Contains(t, err.Error(), "HTTP 503")
		f.clock.Advance(minRefetchInterval)
	}
	_, err = c.Refresh(context.Background(), allScopes, session)
	require.NoError(t, err, "refresh keeps its sessions within jwksMaxStale")
}

// A key that a successful fetch saw withdrawn never verifies again: not
// while the key endpoint fails afterwards, and not when a later fetch
// serves it again (a key set from a stale cache).
func TestWithdrawnKeyNeverVerifiesAgain(t *testing.T) {
	f := newFixture(t)
	c, session := f.signedIn(5 * time.Minute)
	leaked := f.tenant.SigningKeyID()
	forged := f.tenant.MintIDToken(f.tenant.Claims(jane, testClientID, ""), spectrotest.WithKey(leaked))

	f.tenant.RotateKey()
	f.tenant.RemoveKey(leaked)
	f.clock.Advance(5 * time.Minute)
	_, err := c.Refresh(context.Background(), allScopes, session)
	var again *SignInAgainError
	require.ErrorAs(t, err, &again, "the refetch shows the key withdrawn")
	assert.Contains(t, err.Error(), "Palette withdrew its signing key with ID")

	refused := func(what string) {
		t.Helper()
		_, err := c.TokenIdentity(context.Background(), tokenTypeIDToken, forged)
		var invalid *InvalidTokenError
		require.ErrorAs(t, err, &invalid, what)
		assert.Equal(t, KindUnknownKey, invalid.Kind, what)
		_, err = c.Refresh(context.Background(), allScopes, session)
		require.ErrorAs(t, err, &again, what)
	}

	f.tenant.SetFault(spectrotest.EndpointJWKS, spectrotest.Fault{Status: http.StatusBadGateway})
	f.clock.Advance(5 * time.Minute)
	refused("the key endpoint fails after the withdrawal")

	f.tenant.ClearFaults()
	f.tenant.RepublishKey(leaked)
	f.clock.Advance(minRefetchInterval)
	f.tenant.ResetRequests()
	refused("a later fetch serves the withdrawn key again")
	assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointJWKS), "the key set was fetched again")
	assert.Contains(t, f.logs.String(), "holds a key it withdrew earlier")

	// The other keys of that fetch are used.
	_, err = f.login(c, allScopes)
	require.NoError(t, err)
}

// A stale answer holding only a key withdrawn earlier is refused, and
// withdraws nothing: the current key, which that answer lacks, still
// verifies, and the next answer serving it is accepted.
func TestStaleKeySetOfWithdrawnKeysWithdrawsNothing(t *testing.T) {
	f := newFixture(t)
	c, _ := f.signedIn(5 * time.Minute)
	k1 := f.tenant.SigningKeyID()
	k2 := f.tenant.RotateKey()
	f.tenant.RemoveKey(k1)
	f.clock.Advance(5 * time.Minute)
	_, err := f.login(c, allScopes)
	require.NoError(t, err, "the fetch of {K2} withdraws K1")
	require.Contains(t, f.logs.String(), "palette withdrew a signing key")

	// A cache in front of Palette serves the old set, {K1}.
	f.tenant.RemoveKey(k2)
	f.tenant.RepublishKey(k1)
	f.clock.Advance(5 * time.Minute)
	_, err = f.login(c, allScopes)
	require.NoError(t, err, "K2 keeps verifying while the refused answer stands")
	assert.Contains(t, f.logs.String(), "every key in Palette's key set was withdrawn earlier", "the answer {K1} is refused")

	f.tenant.RemoveKey(k1)
	f.tenant.RepublishKey(k2)
	f.clock.Advance(minRefetchInterval)
	fetched := strings.Count(f.logs.String(), "palette signing keys fetched")
	f.tenant.ResetRequests()
	_, err = f.login(c, allScopes)
	require.NoError(t, err, "K2 verifies")
	assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointJWKS), "the key set was fetched again")
	assert.Equal(t, fetched+1, strings.Count(f.logs.String(), "palette signing keys fetched"), "the answer {K2} is accepted")
	assert.Equal(t, 1, strings.Count(f.logs.String(), "palette withdrew a signing key"), "only K1 was ever withdrawn")
	_, err = c.TokenIdentity(context.Background(), tokenTypeIDToken, f.tenant.MintIDToken(f.tenant.Claims(jane, testClientID, ""), spectrotest.WithKey(k2)))
	require.NoError(t, err, "token exchange, which never uses stale keys, verifies K2")
}

// Stale keys serve refresh for jwksMaxStale past their declared lifetime
// while the key endpoint fails, then refresh fails with a passing error
// that names the cause, until Palette answers again.
func TestStaleKeysServeRefreshForJWKSMaxStale(t *testing.T) {
	for name, maxStale := range map[string]string{"default": "", "configured": "1h"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.JWKSMaxStale = maxStale })
			bound := defaultJWKSMaxStale
			if maxStale != "" {
				bound = time.Hour
			}
			c, session := f.signedIn(5 * time.Minute)

			f.tenant.SetFault(spectrotest.EndpointJWKS, spectrotest.Fault{Status: http.StatusServiceUnavailable})
			f.clock.Advance(5 * time.Minute)
			_, err := c.Refresh(context.Background(), allScopes, session)
			require.NoError(t, err, "stale, within jwksMaxStale")
			assert.Contains(t, f.logs.String(), "keeping the previous keys")
			f.clock.Advance(bound - time.Second)
			_, err = c.Refresh(context.Background(), allScopes, session)
			require.NoError(t, err, "a second before the bound")

			f.clock.Advance(time.Second)
			ctx, failure := connhook.WithRecorder(context.Background())
			_, err = c.Refresh(ctx, allScopes, session)
			var upstream *UpstreamError
			require.ErrorAs(t, err, &upstream, "past the bound")
			assert.Equal(t, "jwks", upstream.Endpoint)
			assert.Contains(t, err.Error(), "jwksMaxStale ("+bound.String()+")")
			assert.Contains(t, err.Error(), "HTTP 503")
			assert.False(t, failureFinal(failure), "a passing failure: the session is kept")

			f.tenant.ClearFaults()
			f.clock.Advance(minRefetchInterval)
			_, err = c.Refresh(context.Background(), allScopes, session)
			require.NoError(t, err, "Palette answers again")
		})
	}
}

// The same bound on the emulator's real time, with a short jwksMaxStale.
func TestStaleKeysBoundOnTheRealClock(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.JWKSMaxStale = "1s" }).systemClock()
	c, session := f.signedIn(time.Second)
	failingSince := time.Now()
	f.tenant.SetFault(spectrotest.EndpointJWKS, spectrotest.Fault{Status: http.StatusServiceUnavailable})

	var refusedAt time.Time
	require.Eventually(t, func() bool {
		_, err := c.Refresh(context.Background(), allScopes, session)
		if err == nil {
			return false
		}
		var upstream *UpstreamError
		require.ErrorAs(t, err, &upstream)
		require.Contains(t, err.Error(), "jwksMaxStale (1s)")
		refusedAt = time.Now()
		return true
	}, 20*time.Second, 50*time.Millisecond, "refresh fails once max-age=1 and jwksMaxStale=1s have passed")
	assert.GreaterOrEqual(t, refusedAt.Sub(failingSince), time.Second, "not before the keys' lifetime and the bound")
	t.Logf("refresh refused %s after the key endpoint began to fail", refusedAt.Sub(failingSince).Round(10*time.Millisecond))
}

// Replays of a refresh token whose key Palette withdrew cost Palette at
// most one key set request per spacing interval, one at a time or at once.
func TestReplaysOfAWithdrawnKeyAreSpaced(t *testing.T) {
	f := newFixture(t)
	c := f.open()
	session, err := f.login(c, allScopes)
	require.NoError(t, err)
	withdrawn := f.tenant.SigningKeyID()
	f.tenant.RotateKey()
	f.tenant.RemoveKey(withdrawn)
	f.clock.Advance(defaultKeysTTL)

	replay := func() {
		t.Helper()
		_, err := c.Refresh(context.Background(), allScopes, session)
		var again *SignInAgainError
		require.ErrorAs(t, err, &again)
	}
	f.tenant.ResetRequests()
	for range 20 {
		replay()
	}
	assert.LessOrEqual(t, f.tenant.Requests(spectrotest.EndpointJWKS), 1, "20 replays, at most one key set request")

	// Concurrent replays after the interval that arrive while a slow fetch
	// runs (here one a token exchange started) share it.
	f.clock.Advance(minRefetchInterval)
	f.tenant.SetFault(spectrotest.EndpointJWKS, spectrotest.Fault{Delay: 200 * time.Millisecond})
	f.tenant.ResetRequests()
	junk := f.tenant.MintIDToken(f.tenant.Claims(jane, testClientID, ""), spectrotest.WithKeyID("junk"))
	exchanged := make(chan error, 1)
	go func() {
		_, err := c.TokenIdentity(context.Background(), tokenTypeIDToken, junk)
		exchanged <- err
	}()
	require.Eventually(t, func() bool { return f.tenant.Requests(spectrotest.EndpointJWKS) == 1 }, 10*time.Second, time.Millisecond)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, err := c.Refresh(context.Background(), allScopes, session)
			var again *SignInAgainError
			assert.ErrorAs(t, err, &again)
		})
	}
	wg.Wait()
	assert.Error(t, <-exchanged)
	assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointJWKS), "20 concurrent replays share the running fetch")
}
