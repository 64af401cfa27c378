package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
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
// exit and leave the first pod to the kubelet's restart. Any other error
// (403 for missing RBAC, an unreachable kube-apiserver) is returned at
// once. Other storage types are not waited for.
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
		if !customResourcesPending(err) {
			return fmt.Errorf("initialize storage (kubernetes): list Dex's custom resources: %w", err)
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

// customResourcesPending reports whether err, from listing connectors on
// Dex's kubernetes storage, says that kube-apiserver does not serve Dex's
// custom resources yet: Dex's storage.ErrNotFound (its answer to a 404) or
// an HTTP 429. Dex's ListConnectors formats the cause with %v, which drops
// it from the error chain, so its text is matched too: the storage's
// ErrNotFound text at the end, or the status text of 429 that Dex's HTTP
// error puts before the server's response.
func customResourcesPending(err error) bool {
	if errors.Is(err, storage.ErrNotFound) {
		return true
	}
	var status interface{ StatusCode() int }
	if errors.As(err, &status) {
		code := status.StatusCode()
		return code == http.StatusNotFound || code == http.StatusTooManyRequests
	}
	msg := err.Error()
	return strings.HasSuffix(msg, ": "+storage.ErrNotFound.Error()) ||
		strings.Contains(msg, " "+http.StatusText(http.StatusTooManyRequests)+": response from server")
}
