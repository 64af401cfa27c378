package resolver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A run on Offline(ctx) answers what the run on Remember(ctx) looked up,
// even past the cache's lifetime, and sends no request; what it cannot
// answer fails as the catalog being unavailable.
func TestOfflineLookups(t *testing.T) {
	cat := newFakeCatalog(t, userEntity("", "jane", "jane@example.com", nil))
	clock := newFakeClock()
	c := mustChain(t, Config{
		Resolvers: []ResolverConfig{{Resolver: EmailMatchingUserEntityProfileEmail}},
		Catalog:   &CatalogConfig{BaseURL: cat.URL(), Token: testToken, CacheTTL: Duration(time.Second)},
	}, Options{Now: clock.Now})
	jane := Input{Email: "jane@example.com"}

	ctx := Remember(context.Background())
	online, err := c.Resolve(ctx, jane)
	require.NoError(t, err)
	require.EqualValues(t, 1, cat.requests.Load())

	clock.Advance(time.Hour) // the cached answer expired
	offline, err := c.Resolve(Offline(ctx), jane)
	require.NoError(t, err)
	assert.Equal(t, online, offline)
	assert.EqualValues(t, 1, cat.requests.Load(), "offline, the catalog is not asked")

	// Another request, offline, with nothing kept and nothing cached.
	_, err = c.Resolve(Offline(context.Background()), jane)
	var ce *CatalogError
	require.True(t, errors.As(err, &ce), "%v", err)
	assert.Equal(t, CatalogUnavailable, ce.Kind)
	assert.EqualValues(t, 1, cat.requests.Load())

	// With the answer cached, offline answers from the cache.
	_, err = c.Resolve(context.Background(), jane)
	require.NoError(t, err)
	require.EqualValues(t, 2, cat.requests.Load())
	_, err = c.Resolve(Offline(context.Background()), jane)
	require.NoError(t, err)
	assert.EqualValues(t, 2, cat.requests.Load())
}
