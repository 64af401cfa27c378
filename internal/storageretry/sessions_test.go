package storageretry

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/dexidp/dex/storage"
	"github.com/dexidp/dex/storage/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The first sign-ins of one user from two clients at once both create the
// offline session: the second joins the first's, as Dex does when it finds
// one, instead of failing.
func TestConcurrentFirstSignInsShareTheOfflineSession(t *testing.T) {
	ctx := context.Background()
	s := Wrap(memory.New(slog.New(slog.DiscardHandler)), Options{})
	session := func(client, refreshID, data string) storage.OfflineSessions {
		return storage.OfflineSessions{UserID: "u", ConnID: "c", ConnectorData: []byte(data),
			Refresh: map[string]*storage.RefreshTokenRef{client: {ID: refreshID, ClientID: client}}}
	}
	for _, id := range []string{"r-backstage", "r-kubectl", "r-kubectl-2"} {
		require.NoError(t, s.CreateRefresh(ctx, storage.RefreshToken{ID: id, Token: "t", Claims: storage.Claims{UserID: "u"}, ConnectorID: "c"}))
	}

	require.NoError(t, s.CreateOfflineSessions(ctx, session("backstage", "r-backstage", "first")))
	require.NoError(t, s.CreateOfflineSessions(ctx, session("kubectl", "r-kubectl", "second")), "the second sign-in does not fail")
	got, err := s.GetOfflineSessions(ctx, "u", "c")
	require.NoError(t, err)
	assert.Equal(t, "r-backstage", got.Refresh["backstage"].ID)
	assert.Equal(t, "r-kubectl", got.Refresh["kubectl"].ID)
	assert.Equal(t, "second", string(got.ConnectorData), "the latest sign-in's data, as Dex keeps it")

	// A third sign-in of a client the session has replaces its reference,
	// and its refresh token goes, as when Dex finds the session.
	require.NoError(t, s.CreateOfflineSessions(ctx, session("kubectl", "r-kubectl-2", "third")))
	got, err = s.GetOfflineSessions(ctx, "u", "c")
	require.NoError(t, err)
	assert.Equal(t, "r-kubectl-2", got.Refresh["kubectl"].ID)
	_, err = s.GetRefresh(ctx, "r-kubectl")
	assert.ErrorIs(t, err, storage.ErrNotFound, "the replaced refresh token is deleted")
	_, err = s.GetRefresh(ctx, "r-backstage")
	assert.NoError(t, err, "other clients' refresh tokens stay")
}

// Requests of one user at once, on Dex's memory storage: sign-ins adding
// their clients' references and refreshes updating theirs, while others
// read the session. The readers' copies are never written (run with -race:
// without the copy on write, the race detector, or the runtime's "concurrent
// map read and map write", stops the test).
func TestOfflineSessionReadersAreNeverWritten(t *testing.T) {
	ctx := context.Background()
	s := Wrap(memory.New(slog.New(slog.DiscardHandler)), Options{})
	require.NoError(t, s.CreateOfflineSessions(ctx, storage.OfflineSessions{UserID: "u", ConnID: "c",
		Refresh: map[string]*storage.RefreshTokenRef{"app": {ID: "r0", ClientID: "app"}}}))
	var wg sync.WaitGroup
	for i := range 8 {
		client := fmt.Sprintf("client-%d", i)
		wg.Go(func() {
			for j := range 50 {
				err := s.UpdateOfflineSessions(ctx, "u", "c", func(old storage.OfflineSessions) (storage.OfflineSessions, error) {
					if ref := old.Refresh["app"]; ref != nil {
						ref.LastUsed = time.Unix(int64(j), 0) // as Dex's refresh does
					}
					old.Refresh[client] = &storage.RefreshTokenRef{ID: fmt.Sprint(j), ClientID: client} // as Dex's sign-in does
					return old, nil
				})
				assert.NoError(t, err)
			}
		})
		wg.Go(func() {
			for range 50 {
				o, err := s.GetOfflineSessions(ctx, "u", "c")
				if !assert.NoError(t, err) {
					return
				}
				for _, ref := range o.Refresh {
					_ = ref.LastUsed
				}
			}
		})
	}
	wg.Wait()
	o, err := s.GetOfflineSessions(ctx, "u", "c")
	require.NoError(t, err)
	assert.Len(t, o.Refresh, 9)
}
