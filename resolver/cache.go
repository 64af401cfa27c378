package resolver

import (
	"container/list"
	"sync"
	"time"
)

// answerCache keeps catalog answers for a fixed time, keyed by the exact
// filter. It holds at most max entries; when full, the oldest goes first.
// Every entry lives for the same ttl, so the oldest entry is also the first
// to expire, and expired entries are dropped from the front of the list.
type answerCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element
	order   *list.List // of *cacheEntry, oldest first
}

type cacheEntry struct {
	key     string
	expires time.Time
	answer  catalogAnswer
}

func newAnswerCache(ttl time.Duration, maxEntries int, now func() time.Time) *answerCache {
	return &answerCache{
		ttl:     ttl,
		max:     maxEntries,
		now:     now,
		entries: make(map[string]*list.Element),
		order:   list.New(),
	}
}

// get returns the answer cached for key, if it has not expired.
func (c *answerCache) get(key string) (catalogAnswer, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return catalogAnswer{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.remove(el)
		return catalogAnswer{}, false
	}
	return e.answer, true
}

// put stores the answer for key, replacing any earlier one.
func (c *answerCache) put(key string, ans catalogAnswer) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
	for el := c.order.Front(); el != nil; el = c.order.Front() {
		if now.Before(el.Value.(*cacheEntry).expires) && c.order.Len() < c.max {
			break
		}
		c.remove(el)
	}
	c.entries[key] = c.order.PushBack(&cacheEntry{key: key, expires: now.Add(c.ttl), answer: ans})
}

func (c *answerCache) remove(el *list.Element) {
	delete(c.entries, el.Value.(*cacheEntry).key)
	c.order.Remove(el)
}
