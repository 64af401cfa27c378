package serve

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/dexidp/dex/connector"
	"github.com/dexidp/dex/server"
	"github.com/dexidp/dex/storage"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

// sessionConnector is a connector whose sign-ins end at the exp of the ID
// token in its connector data (sessionData's format, the spectrocloud
// connector's).
type sessionConnector struct{}

func (sessionConnector) SignInEnd(data []byte) (time.Time, error) {
	var sess struct {
		IDToken string `json:"idToken"`
	}
	if err := json.Unmarshal(data, &sess); err != nil {
		return time.Time{}, errors.New("not a session")
	}
	parts := strings.Split(sess.IDToken, ".")
	if len(parts) != 3 {
		return time.Time{}, errors.New("not a session")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, errors.New("not a session")
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp == 0 {
		return time.Time{}, errors.New("not a session")
	}
	return time.Unix(claims.Exp, 0), nil
}

// plainConnector is a connector that tells the server nothing.
type plainConnector struct{}

// openedConfig is a connector configuration whose Open returns conn.
type openedConfig struct{ conn connector.Connector }

func (c *openedConfig) Open(string, *slog.Logger) (connector.Connector, error) { return c.conn, nil }

// testLookup returns a lookup over store whose hub holds conns by ID,
// opened as Dex opens connectors.
func testLookup(t testing.TB, store storage.Storage, conns map[string]connector.Connector) *connectorLookup {
	t.Helper()
	hub := connhook.NewHub(nil)
	logger := hub.Logger(slog.New(slog.DiscardHandler))
	for id, c := range conns {
		_, err := connhook.Track(func() server.ConnectorConfig { return &openedConfig{conn: c} })().Open(id, logger)
		require.NoError(t, err)
	}
	return newConnectorLookup(hub, store)
}
