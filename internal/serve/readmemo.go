package serve

import (
	"context"
	"net/http"
	"sync"

	"github.com/dexidp/dex/storage"
)

// The fixes and the lifetime cap in front of Dex read what Dex reads next in
// the same request: a refresh grant's refresh token and offline session, a
// code exchange's auth code. Within one token request, a read made before
// Dex stands in for Dex's own read of the same object, so that the layer
// adds no read to storage. Dex's checks there are a first look: it decides
// again inside its storage transaction, on the object as it is then, so a
// value read a moment earlier in the same request is as good as one read a
// moment later. A write through the request to an object forgets it. The
// memo hands out what storage handed it, as storage would have: Dex's
// memory storage shares an offline session's map of refresh tokens with
// every reader, and so does the memo (a copy would read that map while
// another request writes it).

// readMemo holds the objects one request has read.
type readMemo struct {
	mu       sync.Mutex
	refresh  map[string]storage.RefreshToken
	sessions map[sessionKey]storage.OfflineSessions
	codes    map[string]storage.AuthCode
}

type sessionKey struct{ userID, connID string }

type readMemoKey struct{}

// withReadMemos gives each request to the token endpoint a readMemo.
func withReadMemos(next http.Handler, routes dexRoutes) http.Handler {
	token := routes.path("/token")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == token {
			r = r.WithContext(context.WithValue(r.Context(), readMemoKey{}, &readMemo{
				refresh:  make(map[string]storage.RefreshToken),
				sessions: make(map[sessionKey]storage.OfflineSessions),
				codes:    make(map[string]storage.AuthCode),
			}))
		}
		next.ServeHTTP(w, r)
	})
}

func memoFrom(ctx context.Context) *readMemo {
	m, _ := ctx.Value(readMemoKey{}).(*readMemo)
	return m
}

// memoStorage is storage whose reads of refresh tokens, offline sessions
// and auth codes go through the request's readMemo, when it has one.
type memoStorage struct {
	storage.Storage
}

func (s memoStorage) GetRefresh(ctx context.Context, id string) (storage.RefreshToken, error) {
	return memoized(ctx, refreshes, id, func() (storage.RefreshToken, error) { return s.Storage.GetRefresh(ctx, id) })
}

func (s memoStorage) GetOfflineSessions(ctx context.Context, userID, connID string) (storage.OfflineSessions, error) {
	return memoized(ctx, sessionsOf, sessionKey{userID, connID}, func() (storage.OfflineSessions, error) { return s.Storage.GetOfflineSessions(ctx, userID, connID) })
}

func (s memoStorage) GetAuthCode(ctx context.Context, id string) (storage.AuthCode, error) {
	return memoized(ctx, authCodes, id, func() (storage.AuthCode, error) { return s.Storage.GetAuthCode(ctx, id) })
}

// memoized reads the object at key with read, through the request's
// readMemo when it has one: what the request read before, or read's
// answer, which it keeps. pick is the memo's map of the object's kind.
func memoized[K comparable, V any](ctx context.Context, pick func(*readMemo) map[K]V, key K, read func() (V, error)) (V, error) {
	m := memoFrom(ctx)
	if m == nil {
		return read()
	}
	m.mu.Lock()
	v, ok := pick(m)[key]
	m.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := read()
	if err == nil {
		m.mu.Lock()
		pick(m)[key] = v
		m.mu.Unlock()
	}
	return v, err
}

// forget drops what the request read of an object it writes.
func forget[K comparable, V any](ctx context.Context, pick func(*readMemo) map[K]V, key K) {
	if m := memoFrom(ctx); m != nil {
		m.mu.Lock()
		delete(pick(m), key)
		m.mu.Unlock()
	}
}

func refreshes(m *readMemo) map[string]storage.RefreshToken         { return m.refresh }
func sessionsOf(m *readMemo) map[sessionKey]storage.OfflineSessions { return m.sessions }
func authCodes(m *readMemo) map[string]storage.AuthCode             { return m.codes }

func (s memoStorage) CreateRefresh(ctx context.Context, r storage.RefreshToken) error {
	forget(ctx, refreshes, r.ID)
	return s.Storage.CreateRefresh(ctx, r)
}

func (s memoStorage) UpdateRefreshToken(ctx context.Context, id string, updater func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	forget(ctx, refreshes, id)
	return s.Storage.UpdateRefreshToken(ctx, id, updater)
}

func (s memoStorage) DeleteRefresh(ctx context.Context, id string) error {
	forget(ctx, refreshes, id)
	return s.Storage.DeleteRefresh(ctx, id)
}

func (s memoStorage) CreateOfflineSessions(ctx context.Context, o storage.OfflineSessions) error {
	forget(ctx, sessionsOf, sessionKey{o.UserID, o.ConnID})
	return s.Storage.CreateOfflineSessions(ctx, o)
}

func (s memoStorage) UpdateOfflineSessions(ctx context.Context, userID, connID string, updater func(storage.OfflineSessions) (storage.OfflineSessions, error)) error {
	forget(ctx, sessionsOf, sessionKey{userID, connID})
	return s.Storage.UpdateOfflineSessions(ctx, userID, connID, updater)
}

func (s memoStorage) DeleteOfflineSessions(ctx context.Context, userID, connID string) error {
	forget(ctx, sessionsOf, sessionKey{userID, connID})
	return s.Storage.DeleteOfflineSessions(ctx, userID, connID)
}

func (s memoStorage) CreateAuthCode(ctx context.Context, c storage.AuthCode) error {
	forget(ctx, authCodes, c.ID)
	return s.Storage.CreateAuthCode(ctx, c)
}

func (s memoStorage) DeleteAuthCode(ctx context.Context, id string) error {
	forget(ctx, authCodes, id)
	return s.Storage.DeleteAuthCode(ctx, id)
}
