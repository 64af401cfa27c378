package serve

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/dexidp/dex/storage"

	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

// prepareRefreshes lets a connector do the network work of a refresh before
// Dex opens its storage transaction. Dex calls the connector's Refresh
// inside that transaction, so a refresh that waits there on the upstream
// (signing keys after a rotation or past their lifetime, the Backstage
// catalog) holds the database: with sqlite3 every other request that
// touches storage waits, with PostgreSQL a connection of the pool. For the
// refresh grant of a connector that implements connhook.RefreshPreparer
// (the spectrocloud connector), the connector data Dex will hand to Refresh
// is read as Dex reads it, the connector prepares with it, and the request
// goes on with the context the connector returned, on which its Refresh
// answers from memory.
//
// The refresh token was read from storage by refreshTokens, which checked
// its secret first: only a refresh token that Dex will accept is prepared.
func prepareRefreshes(next http.Handler, store storage.Storage, conns *connectorLookup, routes dexRoutes, logger *slog.Logger) http.Handler {
	token := routes.path("/token")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != token {
			next.ServeHTTP(w, r)
			return
		}
		if stored, ok := storedRefreshFrom(r.Context()); ok {
			r = r.WithContext(prepareRefresh(r.Context(), store, conns, stored, logger))
		}
		next.ServeHTTP(w, r)
	})
}

// prepareRefresh returns the context the connector of stored prepared the
// refresh on, or ctx when it prepares nothing or its data cannot be read
// (Dex then answers as it would).
func prepareRefresh(ctx context.Context, store storage.Storage, conns *connectorLookup, stored storage.RefreshToken, logger *slog.Logger) context.Context {
	p, err := lookupAs[connhook.RefreshPreparer](ctx, conns, stored.ConnectorID)
	if err != nil || p == nil {
		if err != nil {
			logger.DebugContext(ctx, "refresh not prepared", "connector_id", stored.ConnectorID, "err", err)
		}
		return ctx
	}
	// Dex's choice: the refresh token's own connector data (tokens from
	// before Dex moved it to the offline session), else the session's.
	data := stored.ConnectorData
	if len(data) == 0 {
		sess, err := store.GetOfflineSessions(ctx, stored.Claims.UserID, stored.ConnectorID)
		if err != nil {
			if !errors.Is(err, storage.ErrNotFound) {
				logger.DebugContext(ctx, "refresh not prepared: read the offline session", "connector_id", stored.ConnectorID, "err", err)
			}
			return ctx
		}
		data = sess.ConnectorData
	}
	return p.PrepareRefresh(ctx, data)
}

type storedRefreshKey struct{}

// withStoredRefresh returns ctx carrying the refresh token the request
// presents, as read from storage.
func withStoredRefresh(ctx context.Context, stored storage.RefreshToken) context.Context {
	return context.WithValue(ctx, storedRefreshKey{}, stored)
}

func storedRefreshFrom(ctx context.Context) (storage.RefreshToken, bool) {
	stored, ok := ctx.Value(storedRefreshKey{}).(storage.RefreshToken)
	return stored, ok
}
