package spectrocloud

import (
	"context"

	"github.com/dexidp/dex/connector"

	"github.com/dex-spectro/dex-spectro/resolver"
)

// Dex calls Refresh inside its storage transaction: every request that
// touches storage waits while a refresh waits on Palette or the catalog (with
// sqlite3 all of them, with PostgreSQL as many as the pool holds). The server
// therefore calls PrepareRefresh before Dex opens the transaction, and
// Refresh, given the context it returns, answers from memory.

// preparedKey marks a context returned by PrepareRefresh; preparingKey the
// context PrepareRefresh runs the refresh on.
type (
	preparedKey  struct{}
	preparingKey struct{}
)

// preparing reports whether ctx is PrepareRefresh's own run.
func preparing(ctx context.Context) bool {
	v, _ := ctx.Value(preparingKey{}).(bool)
	return v
}

// prepared reports whether ctx comes from PrepareRefresh: nothing may wait
// on the network then. Fetches that are due still start, in the background.
func prepared(ctx context.Context) bool {
	v, _ := ctx.Value(preparedKey{}).(bool)
	return v
}

// PrepareRefresh implements connhook.RefreshPreparer. It runs the refresh of
// connectorData with network access: discovery, the signing keys the stored
// ID token needs (a refetch for a new key ID, or for keys past their
// lifetime), and the sign-in resolvers' catalog lookups. It returns a
// context on which Refresh verifies and resolves with what this run
// fetched, and waits on nothing. Its outcome is not an error here: Refresh
// reaches the same decision, from memory, and reports it.
func (c *spectroConnector) PrepareRefresh(ctx context.Context, connectorData []byte) context.Context {
	ctx = resolver.Remember(ctx)
	if _, _, err := c.refresh(context.WithValue(ctx, preparingKey{}, true), connector.Scopes{Groups: true}, connectorData); err != nil {
		c.logger.DebugContext(ctx, "refresh prepared; it will fail", "err", err)
	}
	return context.WithValue(resolver.Offline(ctx), preparedKey{}, true)
}
