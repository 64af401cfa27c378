package serve

import (
	"fmt"
	"log/slog"

	"github.com/dexidp/dex/server"
	"github.com/dexidp/dex/storage"

	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/storageretry"
)

// openStorage opens the configured backend, makes its writes retry on
// conflicts with concurrent writes (see storageretry), and layers the
// file's static clients, passwords and connectors over it, as Dex does.
// The returned close function closes the backend.
func openStorage(cfg *config.Config, logger *slog.Logger, conflicts *conflictMetrics) (storage.Storage, func() error, error) {
	backend, err := cfg.Storage.Config.Open(logger)
	if err != nil {
		return nil, nil, fmt.Errorf("initialize storage (%s): %w", cfg.Storage.Type, err)
	}
	logger.Info("config storage", "storage_type", cfg.Storage.Type)

	s := storageretry.Wrap(backend, storageretry.Options{Logger: logger, Observe: conflicts.observe})
	if len(cfg.StaticClients) > 0 {
		clients := cfg.ResolvedStaticClients()
		for _, c := range clients {
			logger.Info("config static client", "client_name", c.Name)
		}
		s = storage.WithStaticClients(s, clients)
	}
	if len(cfg.StaticPasswords) > 0 {
		s = storage.WithStaticPasswords(s, cfg.ResolvedStaticPasswords(), logger)
	}

	connectors := make([]storage.Connector, 0, len(cfg.StaticConnectors)+1)
	for _, c := range cfg.StaticConnectors {
		conn, err := c.StorageConnector()
		if err != nil {
			_ = backend.Close()
			return nil, nil, fmt.Errorf("initialize storage connectors: %w", err)
		}
		logger.Info("config connector", "connector_id", c.ID)
		connectors = append(connectors, conn)
	}
	if cfg.EnablePasswordDB {
		connectors = append(connectors, storage.Connector{
			ID:   server.LocalConnector,
			Name: "Email",
			Type: server.LocalConnector,
		})
		logger.Info("config connector: local passwords enabled")
	}
	s = storage.WithStaticConnectors(s, connectors)
	return s, backend.Close, nil
}
