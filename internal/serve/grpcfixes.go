package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/dexidp/dex/api/v2"
	"github.com/dexidp/dex/storage"

	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/connhook"
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

// Connectors created or updated through the gRPC API are written to
// storage by whoever reaches the API, and Dex opens them like the file's:
// a spectrocloud connector whose signIn.catalog.tokenFile or
// directory.apiKeyFile names a file on Dex's host, with a catalog baseURL or
// directory apiURL of the caller's choosing, makes Dex read that file and
// send its content as a credential to that address. Dex v2.45.1 and Dex main accept such a connector.
//
// apiStorage is the storage the gRPC API writes through: it refuses a
// spectrocloud connector whose configuration reads a local file and sends
// its content off the host, checking the connector as it will be stored
// (for an update, inside the storage's transaction, after Dex's change:
// a new type, a new config, or both). refuseFileReadingConnectors answers
// such a call with InvalidArgument and the reason.
//
// The environment is not read for such connectors: Dex expands $VAR only in
// the configuration file, and the connector expands nothing, so an
// API-created "$VAR" stays that literal text.
type apiStorage struct {
	storage.Storage
}

func (s apiStorage) CreateConnector(ctx context.Context, c storage.Connector) error {
	if err := checkAPIConnector(c); err != nil {
		recordAPIRefusal(ctx, err)
		return err
	}
	return s.Storage.CreateConnector(ctx, c)
}

func (s apiStorage) UpdateConnector(ctx context.Context, id string, updater func(storage.Connector) (storage.Connector, error)) error {
	return s.Storage.UpdateConnector(ctx, id, func(old storage.Connector) (storage.Connector, error) {
		c, err := updater(old)
		if err != nil {
			return c, err
		}
		if err := checkAPIConnector(c); err != nil {
			recordAPIRefusal(ctx, err)
			return old, err
		}
		return c, nil
	})
}

// checkAPIConnector refuses a connector whose configuration, decoded as
// Dex decodes it to open the connector, its type refuses from the API
// (connhook.APIConfigChecker: a spectrocloud connector reading
// signIn.catalog.tokenFile or directory.apiKeyFile).
func checkAPIConnector(c storage.Connector) error {
	cfg, ok := config.NewConnectorConfig(c.Type)
	if !ok {
		return nil // Dex refuses an unknown type when it opens it
	}
	checker, ok := cfg.(connhook.APIConfigChecker)
	if !ok {
		return nil
	}
	if err := json.Unmarshal(c.Config, cfg); err != nil {
		return fmt.Errorf("connector %q: the %s configuration does not decode: %w", c.ID, c.Type, err)
	}
	if err := checker.CheckAPIConfig(); err != nil {
		return fmt.Errorf("connector %q: %w", c.ID, err)
	}
	return nil
}

// apiRefusal carries, for one gRPC call, why apiStorage refused to write.
type apiRefusal struct {
	mu  sync.Mutex
	err error
}

type apiRefusalKey struct{}

func recordAPIRefusal(ctx context.Context, err error) {
	if r, ok := ctx.Value(apiRefusalKey{}).(*apiRefusal); ok {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.err = err
	}
}

// refuseFileReadingConnectors answers CreateConnector and UpdateConnector
// calls that apiStorage refused with InvalidArgument and the reason (Dex
// would answer Unknown).
func refuseFileReadingConnectors(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	switch req.(type) {
	case *api.CreateConnectorReq, *api.UpdateConnectorReq:
	default:
		return handler(ctx, req)
	}
	refusal := &apiRefusal{}
	resp, err := handler(context.WithValue(ctx, apiRefusalKey{}, refusal), req)
	refusal.mu.Lock()
	defer refusal.mu.Unlock()
	if refusal.err != nil {
		return nil, status.Error(codes.InvalidArgument, refusal.err.Error())
	}
	return resp, err
}
