package connhook

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/dexidp/dex/connector"
	"github.com/dexidp/dex/server"
)

// Hub holds the connectors Dex opened for one server, by connector ID, and
// the clock the server gives them. Dex keeps its own map of connectors unexported; a Hub
// sees the same connectors because Dex opens every connector through
// server.ConnectorsConfig with the server's logger: Track wraps each factory
// there, and the logger from Hub.Logger tells the wrapped Open which Hub to
// fill. A connector that Dex opens again (its configuration changed)
// replaces the one before.
type Hub struct {
	mu    sync.RWMutex
	conns map[string]connector.Connector
	now   func() time.Time
}

// NewHub returns an empty Hub for a server whose connectors' clock is now;
// nil means the system clock.
func NewHub(now func() time.Time) *Hub {
	return &Hub{conns: make(map[string]connector.Connector), now: now}
}

// Get returns the connector Dex opened last with this ID.
func (h *Hub) Get(id string) (connector.Connector, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	c, ok := h.conns[id]
	return c, ok
}

func (h *Hub) put(id string, c connector.Connector) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.conns[id] = c
}

// Logger returns l carrying h. Give it to Dex as server.Config.Logger: it
// logs as l does, and Dex passes it to every connector it opens.
func (h *Hub) Logger(l *slog.Logger) *slog.Logger {
	return slog.New(hubHandler{Handler: l.Handler(), hub: h})
}

// hubHandler is a slog.Handler that carries a Hub.
type hubHandler struct {
	slog.Handler
	hub *Hub
}

func (h hubHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return hubHandler{Handler: h.Handler.WithAttrs(attrs), hub: h.hub}
}

func (h hubHandler) WithGroup(name string) slog.Handler {
	return hubHandler{Handler: h.Handler.WithGroup(name), hub: h.hub}
}

func (h hubHandler) Handle(ctx context.Context, r slog.Record) error { return h.Handler.Handle(ctx, r) }

// Clock returns the clock that the server whose logger l is (Hub.Logger)
// gives the connectors it opens to check token times against, so that a
// test moves the clock of one server's connectors. It is time.Now without a
// Hub, or for a server that gives none.
func Clock(l *slog.Logger) func() time.Time {
	if h := hubFrom(l); h != nil && h.now != nil {
		return h.now
	}
	return time.Now
}

// hubFrom returns the Hub a logger carries, if any.
func hubFrom(l *slog.Logger) *Hub {
	if l == nil {
		return nil
	}
	if h, ok := l.Handler().(hubHandler); ok {
		return h.hub
	}
	return nil
}

// Track wraps a connector factory of server.ConnectorsConfig: a connector
// opened from the configuration it returns is put in the Hub that Open's
// logger carries (see Hub.Logger). The configuration decodes and encodes as
// the factory's own; Unwrap returns that.
func Track(f func() server.ConnectorConfig) func() server.ConnectorConfig {
	return func() server.ConnectorConfig { return &tracked{inner: f()} }
}

// Unwrap returns the configuration a factory wrapped by Track made; any
// other configuration as it is.
func Unwrap(c server.ConnectorConfig) server.ConnectorConfig {
	if t, ok := c.(*tracked); ok {
		return t.inner
	}
	return c
}

type tracked struct {
	inner server.ConnectorConfig
}

func (t *tracked) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, t.inner) }

func (t *tracked) MarshalJSON() ([]byte, error) { return json.Marshal(t.inner) }

func (t *tracked) Open(id string, logger *slog.Logger) (connector.Connector, error) {
	c, err := t.inner.Open(id, logger)
	if err != nil {
		return c, err
	}
	if h := hubFrom(logger); h != nil {
		h.put(id, c)
	}
	return c, nil
}
