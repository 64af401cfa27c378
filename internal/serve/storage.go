package serve

import (
	"context"
	"fmt"
	"log/slog"
	"time"

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

// crdWait bounds how long a server on Kubernetes storage waits, at
// start-up, for kube-apiserver to serve Dex's custom resources.
const crdWait = time.Minute

// waitForCustomResources waits until Dex's kubernetes storage can list
// connectors. On a cluster without Dex's CustomResourceDefinitions, the
// storage creates them when it opens, and kube-apiserver serves them a
// moment later: until then a list answers 404, or 429 "storage is
// (re)initializing", and Dex, which lists connectors as it starts, would
// exit and leave the first pod to the kubelet's restart. Other storage
// types are not waited for.
func waitForCustomResources(ctx context.Context, cfg *config.Config, s storage.Storage, logger *slog.Logger) error {
	if cfg.Storage.Type != "kubernetes" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, crdWait)
	defer cancel()
	for logged := false; ; {
		_, err := s.ListConnectors(ctx)
		if err == nil {
			return nil
		}
		if !logged {
			logger.Info("waiting for kube-apiserver to serve Dex's custom resources", "err", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("initialize storage (kubernetes): Dex's custom resources are not served after %s: %w", crdWait, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
