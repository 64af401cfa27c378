package serve

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/dexidp/dex/api/v2"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

// warnUnauthenticatedGRPC says at start-up that the gRPC API is open to
// whoever reaches it. Dex's API reads client secrets and creates, changes
// and deletes clients, passwords and connectors; mutual TLS
// (grpc.tlsClientCA) is its only authentication of callers. Dex v2.45.1
// starts such an API without a word; Dex main warns (dexidp/dex#4927).
func warnUnauthenticatedGRPC(cfg config.GRPC, logger *slog.Logger) {
	logger.Warn("grpc: the API does not authenticate its callers (grpc.tlsClientCA is not set): "+
		"anyone who can reach its address has full administrative access to clients, client secrets, passwords and connectors; "+
		"set grpc.tlsClientCA to require client certificates, or let only a trusted service that authenticates its callers reach the address",
		"addr", cfg.Addr, "tls", cfg.TLSCert != "")
}

// refuseNilConnector answers CreateConnector without a connector with
// InvalidArgument. Dex v2.45.1 reads the missing connector's fields, and
// the panic ends the whole server (gRPC does not recover handler panics).
// Dex main checks for it (dexidp/dex#4927).
func refuseNilConnector(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if r, ok := req.(*api.CreateConnectorReq); ok && r.GetConnector() == nil {
		return nil, status.Error(codes.InvalidArgument, "no connector supplied")
	}
	return handler(ctx, req)
}
