package spectrocloud

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dexidp/dex/connector"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/connhook"
	"github.com/dex-spectro/dex-spectro/resolver"
)

// PrepareRefresh does a refresh's network work (a key Palette rotated to,
// which this replica has not seen; the catalog's answer); Refresh on the
// context it returns then sends no request at all, so that nothing waits on
// Palette or the catalog inside Dex's storage transaction.
func TestPreparedRefreshSendsNoRequest(t *testing.T) {
	cat := newCatalog(t)
	cat.addUser("jane", jane.Email, "platform")
	f := newFixture(t, func(c *Config) {
		c.SignIn = &resolver.Config{
			Resolvers: []resolver.ResolverConfig{{Resolver: resolver.EmailMatchingUserEntityProfileEmail}},
			Catalog:   &resolver.CatalogConfig{BaseURL: cat.srv.URL, Token: "catalog-token"},
		}
	})
	replica, id := staleReplica(t, f)
	jwks, catalogRequests := f.tenant.Requests(spectrotest.EndpointJWKS), cat.requests
	f.clock.Advance(2 * resolver.DefaultCatalogCacheTTL) // the catalog's answers expire

	ctx := replica.PrepareRefresh(context.Background(), id.ConnectorData)
	assert.Equal(t, jwks+1, f.tenant.Requests(spectrotest.EndpointJWKS), "preparing fetched the new key")
	assert.Equal(t, catalogRequests+1, cat.requests, "preparing asked the catalog")

	// Inside the transaction: the answers come from memory, even with the
	// catalog's cache gone again.
	f.clock.Advance(2 * resolver.DefaultCatalogCacheTTL)
	ctx, rec := connhook.WithRecorder(ctx)
	refreshed, err := replica.Refresh(ctx, allScopes, id)
	require.NoError(t, err)
	assert.Equal(t, "jane", refreshed.PreferredUsername)
	assert.Equal(t, jwks+1, f.tenant.Requests(spectrotest.EndpointJWKS), "no request to Palette")
	assert.Equal(t, catalogRequests+1, cat.requests, "no request to the catalog")
	end, ok := rec.SignInEnd()
	require.True(t, ok, "the end of the Palette sign-in is recorded")
	want, err := replica.SignInEnd(id.ConnectorData)
	require.NoError(t, err)
	assert.True(t, want.Equal(end))
}

// Refresh on a prepared context never waits, in real time: with Palette's
// key endpoint hanging, preparing gives up with its caller, and the refresh
// answers at once with a passing failure that keeps the session.
func TestPreparedRefreshNeverWaits(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.UpstreamTimeout = "1m" }).systemClock()
	replica, id := staleReplica(t, f)

	f.tenant.SetFault(spectrotest.EndpointJWKS, spectrotest.Fault{Delay: time.Hour})
	prepareCtx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	ctx := context.WithoutCancel(replica.PrepareRefresh(prepareCtx, id.ConnectorData))

	done := make(chan error, 1)
	ctx, rec := connhook.WithRecorder(ctx)
	go func() {
		_, err := replica.Refresh(ctx, allScopes, id)
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Refresh waited on Palette's key endpoint")
	}
	var upstream *UpstreamError
	require.True(t, errors.As(err, &upstream), "a passing failure: %v", err)
	assert.Contains(t, err.Error(), "a refetch is under way")
	_, final := rec.Failure()
	assert.False(t, final, "the session is kept")
}

// Refresh on a prepared context does not wait on discovery either, in real
// time: on a replica whose endpoints are not resolved yet, with Palette's
// discovery hanging, preparing gives up with its caller, and the refresh
// answers at once with a passing failure while the resolution runs beside.
func TestPreparedRefreshNeverWaitsOnDiscovery(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.UpstreamTimeout = "1m" }).systemClock()
	id, err := f.login(f.open(), allScopes)
	require.NoError(t, err)
	f.tenant.SetFault(spectrotest.EndpointDiscovery, spectrotest.Fault{Delay: time.Hour})
	replica, err := f.cfg.open("spectrocloud", f.logger(nil)) // Open would wait for discovery
	require.NoError(t, err)

	prepareCtx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	ctx := context.WithoutCancel(replica.PrepareRefresh(prepareCtx, id.ConnectorData))

	done := make(chan error, 1)
	ctx, rec := connhook.WithRecorder(ctx)
	start := time.Now()
	go func() {
		_, err := replica.Refresh(ctx, allScopes, id)
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Refresh waited on Palette's discovery")
	}
	assert.Less(t, time.Since(start), 5*time.Second, "answered at once, not after discovery (up to upstreamTimeout, 1m)")
	var upstream *UpstreamError
	require.ErrorAs(t, err, &upstream, "a passing failure")
	assert.Equal(t, "discovery", upstream.Endpoint)
	assert.False(t, isFinal(err))
	_, final := rec.Failure()
	assert.False(t, final, "the session is kept")
}

// Without PrepareRefresh, Refresh fetches what it needs, as a connector in
// Dex does.
func TestUnpreparedRefreshFetches(t *testing.T) {
	f := newFixture(t)
	replica, id := staleReplica(t, f)
	jwks := f.tenant.Requests(spectrotest.EndpointJWKS)
	_, err := replica.Refresh(context.Background(), connector.Scopes{Groups: true}, id)
	require.NoError(t, err)
	assert.Equal(t, jwks+1, f.tenant.Requests(spectrotest.EndpointJWKS))
}

// staleReplica opens a replica that knows Palette's current key (a user
// signed in through it); then Palette rotates its key, and the user signs
// in on another replica, whose session (returned) the replica cannot
// verify without fetching the new key.
func staleReplica(t *testing.T, f *fixture) (*spectroConnector, connector.Identity) {
	t.Helper()
	replica := f.open()
	_, err := f.login(replica, allScopes)
	require.NoError(t, err)
	f.tenant.RotateKey()
	id, err := f.login(f.open(), allScopes)
	require.NoError(t, err)
	return replica, id
}
