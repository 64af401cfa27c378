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
