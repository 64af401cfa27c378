package resolver

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestAnswerCache(t *testing.T) {
	clock := newFakeClock()
	c := newAnswerCache(time.Minute, 3, clock.Now)
	found := catalogAnswer{matches: 1, user: &catalogUser{name: "jane"}}

	_, ok := c.get("a")
	assert.False(t, ok)

	c.put("a", found)
	got, ok := c.get("a")
	assert.True(t, ok)
	assert.Equal(t, found, got)

	clock.Advance(time.Minute)
	_, ok = c.get("a")
	assert.False(t, ok, "expired at exactly the TTL")
	assert.Zero(t, cacheLen(c), "an expired entry is dropped when read")

	// Full: the oldest entry goes first.
	for i := range 4 {
		c.put(fmt.Sprint(i), catalogAnswer{matches: i})
		clock.Advance(time.Second)
	}
	assert.Equal(t, 3, cacheLen(c))
	_, ok = c.get("0")
	assert.False(t, ok, "oldest evicted")
	for _, k := range []string{"1", "2", "3"} {
		_, ok = c.get(k)
		assert.True(t, ok, k)
	}

	// Replacing an entry renews it and moves it to the back.
	c.put("1", catalogAnswer{matches: 2})
	c.put("4", catalogAnswer{})
	_, ok = c.get("2")
	assert.False(t, ok, "2 became the oldest and was evicted")
	got, ok = c.get("1")
	assert.True(t, ok)
	assert.Equal(t, 2, got.matches)

	// Expired entries are pruned on insert, before anything live is evicted.
	clock.Advance(2 * time.Minute)
	c.put("5", catalogAnswer{})
	assert.Equal(t, 1, cacheLen(c))
}

func TestAnswerCacheBounded(t *testing.T) {
	clock := newFakeClock()
	c := newAnswerCache(time.Hour, CatalogCacheMaxEntries, clock.Now)
	for i := range CatalogCacheMaxEntries + 500 {
		c.put(fmt.Sprintf("kind=user,spec.profile.email=u%d@example.com", i), catalogAnswer{})
	}
	assert.Equal(t, CatalogCacheMaxEntries, cacheLen(c))
	_, ok := c.get("kind=user,spec.profile.email=u0@example.com")
	assert.False(t, ok)
	_, ok = c.get(fmt.Sprintf("kind=user,spec.profile.email=u%d@example.com", CatalogCacheMaxEntries+499))
	assert.True(t, ok)
}

// cacheLen returns the number of entries, expired ones included.
func cacheLen(c *answerCache) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
