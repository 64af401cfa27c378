package storageretry_test

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"testing"

	"github.com/dexidp/dex/storage"
	dexsql "github.com/dexidp/dex/storage/sql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/storageretry"
)

// openPostgres opens Dex's PostgreSQL storage on the test's database, as a
// replica does: each call is a pool of its own.
func openPostgres(t *testing.T, p dextest.Postgres) storage.Storage {
	t.Helper()
	cfg := &dexsql.Postgres{
		NetworkDB: dexsql.NetworkDB{Database: p.Database, User: p.User, Password: p.Password, Host: p.Host, Port: uint16(p.Port)},
		SSL:       dexsql.SSL{Mode: p.SSLMode},
	}
	s, err := cfg.Open(slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// increments runs n concurrent read-modify-write updates of one refresh
// token, half through each storage, each adding one to a counter kept in
// the token's nonce, and returns the failures and the final counter.
func increments(t *testing.T, a, b storage.Storage, n int) (failures int, counter int) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, a.CreateRefresh(ctx, storage.RefreshToken{ID: "r1", Token: "t", ClientID: "app", ConnectorID: "c", Nonce: "0", Claims: storage.Claims{UserID: "u"}}))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			err := s.UpdateRefreshToken(ctx, "r1", func(r storage.RefreshToken) (storage.RefreshToken, error) {
				v, err := strconv.Atoi(r.Nonce)
				if err != nil {
					return r, err
				}
				r.Nonce = strconv.Itoa(v + 1)
				return r, nil
			})
			if err != nil {
				mu.Lock()
				failures++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r, err := a.GetRefresh(ctx, "r1")
	require.NoError(t, err)
	counter, err = strconv.Atoi(r.Nonce)
	require.NoError(t, err)
	return failures, counter
}

// On PostgreSQL, where Dex runs every update SERIALIZABLE, concurrent
// updates of one row from two replicas fail with serialization errors;
// with the retries, every update lands exactly once.
func TestConcurrentUpdatesOnPostgres(t *testing.T) {
	const n = 100
	t.Run("without retries, updates fail", func(t *testing.T) {
		p := dextest.NewPostgres(t)
		failures, counter := increments(t, openPostgres(t, p), openPostgres(t, p), n)
		t.Logf("Dex's storage alone: %d of %d concurrent updates failed", failures, n)
		assert.Equal(t, n-failures, counter, "every update that succeeded landed once")
	})
	t.Run("with retries, none fails and none is lost", func(t *testing.T) {
		p := dextest.NewPostgres(t)
		var mu sync.Mutex
		retried := 0
		opts := storageretry.Options{Observe: func(_ string, attempts int, ok bool) {
			mu.Lock()
			defer mu.Unlock()
			retried += attempts - 1
		}}
		a := storageretry.Wrap(openPostgres(t, p), opts)
		b := storageretry.Wrap(openPostgres(t, p), opts)
		failures, counter := increments(t, a, b, n)
		assert.Zero(t, failures)
		assert.Equal(t, n, counter)
		t.Logf("with retries: %d retries for %d updates", retried, n)
	})
}
