package serve

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dexidp/dex/connector"
	"github.com/dexidp/dex/server"
	"github.com/dexidp/dex/storage"

	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

// connectorLookup finds the connector Dex opened for an ID, to ask it what
// Dex's interfaces do not carry (connhook): when the sign-in behind stored
// connector data ends, and to prepare a refresh. The server learns of every
// connector Dex opens through its Hub; a connector Dex has not opened yet on
// this replica (one created through the gRPC API on another) is opened
// through Dex, as Dex itself would at its first use.
type connectorLookup struct {
	hub   *connhook.Hub
	store storage.Storage
	dex   atomic.Pointer[server.Server] // set once Dex's server exists

	mu      sync.Mutex
	untyped map[string]bool // IDs Dex opens without its registry (its password database)
}

func newConnectorLookup(hub *connhook.Hub, store storage.Storage) *connectorLookup {
	return &connectorLookup{hub: hub, store: store, untyped: make(map[string]bool)}
}

// get returns the connector Dex opened for id; nil, and no error, for one
// that Dex opens without its connector registry.
func (l *connectorLookup) get(ctx context.Context, id string) (connector.Connector, error) {
	if c, ok := l.hub.Get(id); ok {
		return c, nil
	}
	l.mu.Lock()
	untyped := l.untyped[id]
	l.mu.Unlock()
	if untyped {
		return nil, nil
	}
	stored, err := l.store.GetConnector(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("look up connector %q: %w", id, err)
	}
	dex := l.dex.Load()
	if dex == nil {
		return nil, fmt.Errorf("connector %q: the server is not running yet", id)
	}
	if _, err := dex.OpenConnector(stored); err != nil {
		return nil, fmt.Errorf("open connector %q: %w", id, err)
	}
	if c, ok := l.hub.Get(id); ok {
		return c, nil
	}
	l.mu.Lock()
	l.untyped[id] = true
	l.mu.Unlock()
	return nil, nil
}

// lookupAs returns the connector for id if it implements T, a hook of
// connhook (Lifetime: it tells when its sign-ins end; RefreshPreparer: it
// prepares its refreshes), and T's zero value if it does not.
func lookupAs[T any](ctx context.Context, l *connectorLookup, id string) (T, error) {
	var none T
	c, err := l.get(ctx, id)
	if err != nil {
		return none, err
	}
	hook, _ := c.(T)
	return hook, nil
}
