package storageretry

import (
	"context"
	"log/slog"
	"testing"

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
