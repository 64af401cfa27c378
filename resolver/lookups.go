package resolver

import (
	"context"
	"errors"
	"sync"
)

// A request that resolves a user twice, once with network access and once
// without (Dex's refresh runs inside a storage transaction, where waiting on
// the catalog would hold the database), carries the catalog answers of the
// first run to the second in its context.

type lookupsKey struct{}

// lookups are the catalog answers kept for one request.
type lookups struct {
	mu      sync.Mutex
	answers map[string]catalogAnswer
	offline bool
}

// Remember returns a context in which the catalog answers a Chain gets are
// kept for the rest of the request, for a later run on Offline(ctx).
func Remember(ctx context.Context) context.Context {
	return context.WithValue(ctx, lookupsKey{}, &lookups{answers: make(map[string]catalogAnswer)})
}

// Offline returns a context in which a catalog lookup never sends a
// request: it answers from what Remember kept in ctx, or from the cache,
// and fails as the catalog being unavailable (a passing failure) when
// neither has the answer.
func Offline(ctx context.Context) context.Context {
	l := lookupsFrom(ctx)
	kept := make(map[string]catalogAnswer)
	if l != nil {
		l.mu.Lock()
		for k, v := range l.answers {
			kept[k] = v
		}
		l.mu.Unlock()
	}
	return context.WithValue(ctx, lookupsKey{}, &lookups{answers: kept, offline: true})
}

func lookupsFrom(ctx context.Context) *lookups {
	l, _ := ctx.Value(lookupsKey{}).(*lookups)
	return l
}

func (l *lookups) get(filter string) (catalogAnswer, bool) {
	if l == nil {
		return catalogAnswer{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ans, ok := l.answers[filter]
	return ans, ok
}

func (l *lookups) put(filter string, ans catalogAnswer) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answers[filter] = ans
}

// errNotLookedUp is why an offline lookup failed.
var errNotLookedUp = errors.New("the catalog was not asked before Dex's storage transaction, and its answer is not cached")
