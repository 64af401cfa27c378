package serve

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/dexidp/dex/storage"
	"github.com/dexidp/dex/storage/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingStorage counts the reads that reach storage.
type countingStorage struct {
	storage.Storage
	reads atomic.Int64
}

func (s *countingStorage) GetRefresh(ctx context.Context, id string) (storage.RefreshToken, error) {
	s.reads.Add(1)
	return s.Storage.GetRefresh(ctx, id)
}

func (s *countingStorage) GetOfflineSessions(ctx context.Context, u, c string) (storage.OfflineSessions, error) {
	s.reads.Add(1)
	return s.Storage.GetOfflineSessions(ctx, u, c)
}

func (s *countingStorage) GetAuthCode(ctx context.Context, id string) (storage.AuthCode, error) {
	s.reads.Add(1)
	return s.Storage.GetAuthCode(ctx, id)
}

// Within one token request, a second read of the same object is the first
// one's; a write forgets it; other requests, and other objects, read
// storage.
func TestReadMemo(t *testing.T) {
	back := &countingStorage{Storage: memory.New(slog.New(slog.DiscardHandler))}
	s := memoStorage{Storage: back}
	bg := context.Background()
	require.NoError(t, s.CreateRefresh(bg, storage.RefreshToken{ID: "r", Token: "t1", Scopes: []string{"openid"}, Claims: storage.Claims{UserID: "u"}}))
	require.NoError(t, s.CreateOfflineSessions(bg, storage.OfflineSessions{UserID: "u", ConnID: "c", Refresh: map[string]*storage.RefreshTokenRef{"app": {ID: "r"}}, ConnectorData: []byte("d")}))
	require.NoError(t, s.CreateAuthCode(bg, storage.AuthCode{ID: "code", ClientID: "app"}))

	var ctx context.Context
	withReadMemos(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { ctx = r.Context() }), routesAt(t, "/dex")).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/dex/token", nil))
	require.NotNil(t, memoFrom(ctx), "a token request has a memo")

	first, err := s.GetRefresh(ctx, "r")
	require.NoError(t, err)
	again, err := s.GetRefresh(ctx, "r")
	require.NoError(t, err)
	assert.Equal(t, first, again)
	o1, err := s.GetOfflineSessions(ctx, "u", "c")
	require.NoError(t, err)
	o2, err := s.GetOfflineSessions(ctx, "u", "c")
	require.NoError(t, err)
	assert.Equal(t, o1, o2)
	_, err = s.GetAuthCode(ctx, "code")
	require.NoError(t, err)
	_, err = s.GetAuthCode(ctx, "code")
	require.NoError(t, err)
	assert.EqualValues(t, 3, back.reads.Load(), "one read of each object")

	// A write forgets the object; the next read is storage's.
	require.NoError(t, s.UpdateRefreshToken(ctx, "r", func(r storage.RefreshToken) (storage.RefreshToken, error) {
		r.Token = "t2"
		return r, nil
	}))
	after, err := s.GetRefresh(ctx, "r")
	require.NoError(t, err)
	assert.Equal(t, "t2", after.Token)
	require.NoError(t, s.DeleteAuthCode(ctx, "code"))
	_, err = s.GetAuthCode(ctx, "code")
	assert.ErrorIs(t, err, storage.ErrNotFound)
	reads := back.reads.Load()

	// Without a memo (another endpoint, another request), every read is
	// storage's.
	_, _ = s.GetOfflineSessions(bg, "u", "c")
	_, _ = s.GetOfflineSessions(bg, "u", "c")
	assert.Equal(t, reads+2, back.reads.Load())
	var other context.Context
	withReadMemos(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { other = r.Context() }), routesAt(t, "/dex")).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/dex/keys", nil))
	assert.Nil(t, memoFrom(other), "only the token endpoint's requests have a memo")
}
