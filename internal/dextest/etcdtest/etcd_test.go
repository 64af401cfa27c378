package etcdtest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/dexidp/dex/storage"
	"github.com/dexidp/dex/storage/conformance"
	dexetcd "github.com/dexidp/dex/storage/etcd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dex-spectro/dex-spectro/internal/dextest/etcdtest"
)

func newClient(t *testing.T, endpoints []string) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestStartServesClientsUntilStopped(t *testing.T) {
	srv := etcdtest.Start(t)
	endpoints := srv.Endpoints()
	require.Len(t, endpoints, 1)
	assert.Regexp(t, `^http://127\.0\.0\.1:[0-9]+$`, endpoints[0])

	c := newClient(t, endpoints)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.Put(ctx, "greeting", "hello")
	require.NoError(t, err)
	resp, err := c.Get(ctx, "greeting")
	require.NoError(t, err)
	require.Len(t, resp.Kvs, 1)
	assert.Equal(t, "hello", string(resp.Kvs[0].Value))

	srv.Stop()
	srv.Stop() // a second Stop does nothing
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = c.Get(ctx, "greeting")
	require.Error(t, err, "the server is stopped")
}

func TestServersAreApart(t *testing.T) {
	a, b := etcdtest.Start(t), etcdtest.Start(t)
	require.NotEqual(t, a.Endpoints(), b.Endpoints())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := newClient(t, a.Endpoints()).Put(ctx, "only-in-a", "1")
	require.NoError(t, err)
	resp, err := newClient(t, b.Endpoints()).Get(ctx, "only-in-a")
	require.NoError(t, err)
	assert.Empty(t, resp.Kvs)
}

func TestStorageSection(t *testing.T) {
	srv := etcdtest.Start(t)
	want := map[string]any{"type": "etcd", "config": map[string]any{"endpoints": []any{srv.Endpoints()[0]}}}
	assert.Equal(t, want, srv.Storage())
}

// Dex's etcd storage passes Dex's own storage conformance tests on the
// server, each test in a namespace of its own.
func TestDexStorageConformance(t *testing.T) {
	srv := etcdtest.Start(t)
	n := 0
	newStorage := func(t *testing.T) storage.Storage {
		n++
		cfg := dexetcd.Etcd{Endpoints: srv.Endpoints(), Namespace: fmt.Sprintf("conformance-%d/", n)}
		s, err := cfg.Open(slog.New(slog.NewTextHandler(io.Discard, nil)))
		require.NoError(t, err)
		return s
	}
	t.Run("conformance", func(t *testing.T) { conformance.RunTests(t, newStorage) })
	t.Run("transactions", func(t *testing.T) { conformance.RunTransactionTests(t, newStorage) })
}
