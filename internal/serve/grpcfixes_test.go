package serve

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	grpcprometheus "github.com/grpc-ecosystem/go-grpc-prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/dexidp/dex/api/v2"
	"github.com/dexidp/dex/server"
	"github.com/dexidp/dex/storage"
	"github.com/dexidp/dex/storage/memory"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

// A gRPC API without client certificates is announced at WARN, naming the
// setting and the risk; none is logged when the API is off.
func TestWarnUnauthenticatedGRPC(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.GRPC
		want bool
	}{
		{name: "plaintext API", cfg: config.GRPC{Addr: "127.0.0.1:0"}, want: true},
		{name: "no API", cfg: config.GRPC{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			g, err := prepareGRPC(tt.cfg, grpcprometheus.NewServerMetrics(), logger)
			require.NoError(t, err)
			t.Cleanup(g.close)
			if !tt.want {
				assert.NotContains(t, buf.String(), "tlsClientCA")
				return
			}
			assert.Contains(t, buf.String(), "level=WARN")
			assert.Contains(t, buf.String(), "grpc.tlsClientCA is not set")
			assert.Contains(t, buf.String(), "full administrative access")
			assert.Contains(t, buf.String(), "addr=127.0.0.1:0")
		})
	}
}

// Dex v2.45.1's CreateConnector panics on a request without a connector
// (which would end the server); the interceptor refuses it first.
func TestRefuseNilConnector(t *testing.T) {
	t.Setenv("DEX_API_CONNECTORS_CRUD", "true")
	logger := slog.New(slog.DiscardHandler)
	dexAPI := server.NewAPI(memory.New(logger), logger, "test", nil)
	info := &grpc.UnaryServerInfo{FullMethod: "/api.Dex/CreateConnector"}
	handler := func(ctx context.Context, req any) (any, error) {
		return dexAPI.CreateConnector(ctx, req.(*api.CreateConnectorReq))
	}
	ctx := context.Background()

	require.Panics(t, func() { _, _ = handler(ctx, &api.CreateConnectorReq{}) }, "the hole, without the interceptor")

	_, err := refuseNilConnector(ctx, &api.CreateConnectorReq{}, info, handler)
	assert.Equal(t, codes.InvalidArgument, status.Code(err))
	assert.Contains(t, status.Convert(err).Message(), "no connector supplied")

	resp, err := refuseNilConnector(ctx, &api.CreateConnectorReq{Connector: &api.Connector{Id: "ldap", Type: "ldap", Name: "LDAP", Config: []byte(`{}`)}}, info, handler)
	require.NoError(t, err, "a request with a connector reaches Dex")
	assert.False(t, resp.(*api.CreateConnectorResp).AlreadyExists)

	_, err = refuseNilConnector(ctx, &api.VersionReq{}, &grpc.UnaryServerInfo{FullMethod: "/api.Dex/GetVersion"},
		func(context.Context, any) (any, error) { return &api.VersionResp{}, nil })
	assert.NoError(t, err, "other calls pass")
}

// apiStorage checks a connector as it will be stored: a change of type
// alone turns a stored config into a spectrocloud one, and is refused
// inside the update, leaving the stored connector as it was.
func TestAPIStorageChecksTheStoredConnector(t *testing.T) {
	ctx := context.Background()
	mem := memory.New(slog.New(slog.DiscardHandler))
	reads := []byte(`{"signIn":{"resolvers":[{"resolver":"emailMatchingUserEntityProfileEmail"}],"catalog":{"baseURL":"https://catalog.example","tokenFile":"/etc/dex/secret"}}}`)
	require.NoError(t, mem.CreateConnector(ctx, storage.Connector{ID: "o", Type: "oidc", Name: "O", Config: reads}))
	s := apiStorage{Storage: mem}

	err := s.UpdateConnector(ctx, "o", func(c storage.Connector) (storage.Connector, error) {
		c.Type = "spectrocloud"
		return c, nil
	})
	require.ErrorContains(t, err, `connector "o": signIn.catalog.tokenFile is refused`)
	stored, err := mem.GetConnector(ctx, "o")
	require.NoError(t, err)
	assert.Equal(t, "oidc", stored.Type)

	err = s.CreateConnector(ctx, storage.Connector{ID: "s", Type: "spectrocloud", Name: "S", Config: reads})
	require.ErrorContains(t, err, "signIn.catalog.tokenFile")
	_, err = mem.GetConnector(ctx, "s")
	require.ErrorIs(t, err, storage.ErrNotFound)

	readsKey := []byte(`{"directory":{"apiURL":"https://api.example","apiKeyFile":"/etc/dex/secret"}}`)
	require.NoError(t, mem.CreateConnector(ctx, storage.Connector{ID: "k", Type: "oidc", Name: "K", Config: readsKey}))
	err = s.UpdateConnector(ctx, "k", func(c storage.Connector) (storage.Connector, error) {
		c.Type = "spectrocloud"
		return c, nil
	})
	require.ErrorContains(t, err, `connector "k": directory.apiKeyFile is refused`)
	stored, err = mem.GetConnector(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "oidc", stored.Type)
	err = s.CreateConnector(ctx, storage.Connector{ID: "sk", Type: "spectrocloud", Name: "S", Config: readsKey})
	require.ErrorContains(t, err, "directory.apiKeyFile")
	_, err = mem.GetConnector(ctx, "sk")
	require.ErrorIs(t, err, storage.ErrNotFound)

	err = s.CreateConnector(ctx, storage.Connector{ID: "bad", Type: "spectrocloud", Name: "S", Config: []byte(`{"nope":1}`)})
	require.ErrorContains(t, err, "does not decode", "a config the connector cannot open is refused with the reason")

	require.NoError(t, s.CreateConnector(ctx, storage.Connector{ID: "o2", Type: "oidc", Name: "O", Config: reads}),
		"other connector types are Dex's to judge")
}
