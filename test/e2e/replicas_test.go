package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/etcdtest"
)

// replicaExpiry is the expiry section of the fleet tests: refresh tokens
// presented again within reuseInterval get the pair issued for them, which
// is what concurrent clients of one session (Backstage's tabs, kubectl and
// k9s) need. A minute, not the examples' 5s: no test is about the window's
// length, and fifty refreshes on a loaded machine may take longer than 5s.
var replicaExpiry = map[string]any{"refreshTokens": map[string]any{"reuseInterval": "1m"}}

// fleetUser is one user of a fleet test: a browser and an application
// whose requests go where transport sends them.
type fleetUser struct {
	agent *dextest.Browser
	rp    *dextest.RelyingParty
}

func newFleetUser(t *testing.T, f *Fleet, login string, transport http.RoundTripper) *fleetUser {
	t.Helper()
	rp, err := dextest.NewRelyingParty(context.Background(), f.Issuer, ClientID, ClientSecret, RPRedirect)
	require.NoError(t, err)
	rp.HTTPClient = &http.Client{Transport: transport, Timeout: time.Minute}
	return &fleetUser{agent: NewAgent(login, transport), rp: rp}
}

// TestFleetOnPostgres runs the fleet tests on Dex's PostgreSQL storage,
// which runs every update SERIALIZABLE.
func TestFleetOnPostgres(t *testing.T) {
	testFleet(t, func(t *testing.T) map[string]any { return dextest.NewPostgres(t).Storage() })
}

// TestFleetOnEtcd runs the fleet tests on Dex's etcd storage, whose updates
// are compare-and-swap, against a real etcd server.
func TestFleetOnEtcd(t *testing.T) {
	testFleet(t, func(t *testing.T) map[string]any { return etcdtest.Start(t).Storage() })
}

// testFleet runs two dex-spectro processes on one shared storage (a fresh
// one from storage per fleet) behind one issuer, as two replicas behind a
// Service: once with Dex's default expiry, where every refresh asks the
// connector, and once with a reuse interval, for concurrent refreshes of
// one token.
func testFleet(t *testing.T, storage func(t *testing.T) map[string]any) {
	bin := BuildBinary(t)
	p := StartPalette(t)
	clients := []dextest.Client{{ID: ClientID, Name: "Application", Secret: ClientSecret, RedirectURIs: []string{RPRedirect}}}
	for i := range 8 {
		clients = append(clients, dextest.Client{ID: fmt.Sprintf("client-%d", i), Name: "Client", Secret: fmt.Sprintf("client-secret-%d", i), RedirectURIs: []string{RPRedirect}})
	}
	start := func(expiry map[string]any) *Fleet {
		return StartFleet(t, bin, DexConfig{
			Connectors: []dextest.ConnectorFunc{p.SpectroCloud("spectrocloud", nil)},
			Clients:    clients,
			Storage:    storage(t),
			Expiry:     expiry,
			LogLevel:   "info",
		}, 2)
	}
	f, reusing := start(nil), start(replicaExpiry)
	ctx := context.Background()
	base := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(base.CloseIdleConnections)

	t.Run("a session moves between replicas", func(t *testing.T) {
		p.AddUser("moves@example.com", "platform")
		on := func(i int) *fleetUser { return newFleetUser(t, f, "moves@example.com", Pinned(i, base)) }
		signedIn, err := on(0).rp.SignIn(ctx, on(0).agent)
		require.NoError(t, err)
		rt := signedIn.OAuth2.RefreshToken
		for _, replica := range []int{1, 0, 1} {
			refreshed, err := on(replica).rp.Refresh(ctx, rt)
			require.NoError(t, err, "refresh on replica %d", replica)
			assert.Equal(t, signedIn.IDToken.Subject, refreshed.IDToken.Subject)
			assert.Equal(t, []string{"platform"}, refreshed.Claims.Groups)
			rt = refreshed.OAuth2.RefreshToken
		}
	})

	t.Run("a key rotation only one replica has seen", func(t *testing.T) {
		p.AddUser("before@example.com")
		p.AddUser("after@example.com")
		// Both replicas know the current key.
		for i := range 2 {
			u := newFleetUser(t, f, "before@example.com", Pinned(i, base))
			_, err := u.rp.SignIn(ctx, u.agent)
			require.NoError(t, err)
		}
		fetches := p.Requests(spectrotest.EndpointJWKS)

		// Palette rotates; a sign-in on replica 0 meets the new key there.
		p.Tenant.RotateKey()
		u0 := newFleetUser(t, f, "after@example.com", Pinned(0, base))
		signedIn, err := u0.rp.SignIn(ctx, u0.agent)
		require.NoError(t, err)
		assert.Equal(t, fetches+1, p.Requests(spectrotest.EndpointJWKS), "replica 0 refetched once")

		// Replica 1 has never seen the new key: the refresh refetches there
		// and succeeds.
		u1 := newFleetUser(t, f, "after@example.com", Pinned(1, base))
		refreshed, err := u1.rp.Refresh(ctx, signedIn.OAuth2.RefreshToken)
		require.NoError(t, err)
		assert.Equal(t, "after@example.com", refreshed.Claims.Email)
		assert.Equal(t, fetches+2, p.Requests(spectrotest.EndpointJWKS), "replica 1 refetched once")
	})

	t.Run("concurrent refreshes of one token", func(t *testing.T) {
		f := reusing
		p.AddUser("tabs@example.com")
		u := newFleetUser(t, f, "tabs@example.com", Pinned(0, base))
		signedIn, err := u.rp.SignIn(ctx, u.agent)
		require.NoError(t, err)

		// Fifty clients holding the same refresh token (tabs, kubectl, k9s)
		// refresh at once, half on each replica.
		const n = 50
		var mu sync.Mutex
		issued := make(map[string]int)
		var failures []error
		var wg sync.WaitGroup
		for i := range n {
			client := newFleetUser(t, f, "tabs@example.com", Pinned(i%2, base))
			wg.Go(func() {
				refreshed, err := client.rp.Refresh(ctx, signedIn.OAuth2.RefreshToken)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failures = append(failures, err)
					return
				}
				issued[refreshed.OAuth2.RefreshToken]++
			})
		}
		wg.Wait()
		require.Empty(t, failures, "every concurrent refresh succeeds")
		require.Len(t, issued, 1, "all of them got the same new refresh token")
		for rt := range issued {
			_, err := u.rp.Refresh(ctx, rt)
			require.NoError(t, err, "the new refresh token works")
		}
	})

	t.Run("one user's first sign-ins from eight clients at once", func(t *testing.T) {
		// Dex creates the user's offline session at the first sign-in:
		// eight of them at once, on both replicas, all find none.
		p.AddUser("first@example.com")
		var mu sync.Mutex
		var failures []error
		var wg sync.WaitGroup
		for _, c := range clients[1:] {
			rp, err := dextest.NewRelyingParty(ctx, f.Issuer, c.ID, c.Secret, RPRedirect)
			require.NoError(t, err)
			rp.HTTPClient = &http.Client{Transport: base, Timeout: time.Minute}
			agent := NewAgent("first@example.com", base)
			wg.Go(func() {
				signedIn, err := rp.SignIn(ctx, agent)
				if err == nil {
					_, err = rp.Refresh(ctx, signedIn.OAuth2.RefreshToken)
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.Empty(t, failures, "every client signs in and refreshes")
	})

	t.Run("distinct users at once", func(t *testing.T) {
		f := reusing
		const workers, rounds, refreshesPerSignIn = 8, 5, 6
		var mu sync.Mutex
		var failures []string
		ops := 0
		fail := func(w int, what string, err error) {
			mu.Lock()
			defer mu.Unlock()
			failures = append(failures, fmt.Sprintf("worker %d: %s: %v", w, what, err))
		}
		var wg sync.WaitGroup
		for w := range workers {
			login := fmt.Sprintf("worker-%d@example.com", w)
			p.AddUser(login, "team-"+fmt.Sprint(w))
			// Requests go to the replicas in turn, as behind a Service.
			u := newFleetUser(t, f, login, base)
			wg.Go(func() {
				for range rounds {
					signedIn, err := u.rp.SignIn(ctx, u.agent)
					if err != nil {
						fail(w, "sign-in", err)
						return
					}
					rt := signedIn.OAuth2.RefreshToken
					for range refreshesPerSignIn {
						refreshed, err := u.rp.Refresh(ctx, rt)
						if err != nil {
							fail(w, "refresh", err)
							return
						}
						rt = refreshed.OAuth2.RefreshToken
					}
					mu.Lock()
					ops += 1 + refreshesPerSignIn
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.Empty(t, failures)
		assert.Equal(t, workers*rounds*(1+refreshesPerSignIn), ops)
		t.Logf("%d operations by %d users over 2 replicas, no error", ops, workers)
	})
}
