package storageretry

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/dexidp/dex/storage"
	"github.com/dexidp/dex/storage/memory"
	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// conflicting is a storage whose UpdateRefreshToken runs the updater and
// then, for the first failures calls, discards the result and reports a
// serialization failure, after another writer changed the token: the
// situation a SERIALIZABLE transaction that lost a race is in.
type conflicting struct {
	storage.Storage
	mu       sync.Mutex
	failures int
	calls    int
}

var errSerialization = &pq.Error{Code: "40001", Message: "could not serialize access due to concurrent update"}

func (c *conflicting) UpdateRefreshToken(ctx context.Context, id string, updater func(storage.RefreshToken) (storage.RefreshToken, error)) error {
	c.mu.Lock()
	c.calls++
	fail := c.calls <= c.failures
	c.mu.Unlock()
	if !fail {
		return c.Storage.UpdateRefreshToken(ctx, id, updater)
	}
	old, err := c.Storage.GetRefresh(ctx, id)
	if err != nil {
		return err
	}
	if _, err := updater(old); err != nil {
		return err
	}
	// The concurrent writer that won.
	if err := c.Storage.UpdateRefreshToken(ctx, id, func(r storage.RefreshToken) (storage.RefreshToken, error) {
		r.Nonce += "+"
		return r, nil
	}); err != nil {
		return err
	}
	return errSerialization
}

func newRefresh(t *testing.T, s storage.Storage) storage.RefreshToken {
	t.Helper()
	r := storage.RefreshToken{ID: "r1", Token: "t1", ClientID: "app", ConnectorID: "c", Claims: storage.Claims{UserID: "u"}}
	require.NoError(t, s.CreateRefresh(context.Background(), r))
	return r
}

type observation struct {
	op        string
	attempts  int
	succeeded bool
}

func TestRetriesRunTheUpdaterOnTheFreshValue(t *testing.T) {
	back := &conflicting{Storage: memory.New(slog.New(slog.DiscardHandler)), failures: 2}
	var seen []observation
	s := Wrap(back, Options{BaseDelay: time.Microsecond, Observe: func(op string, n int, ok bool) {
		seen = append(seen, observation{op, n, ok})
	}})
	newRefresh(t, s)

	var nonces []string
	err := s.UpdateRefreshToken(context.Background(), "r1", func(r storage.RefreshToken) (storage.RefreshToken, error) {
		nonces = append(nonces, r.Nonce)
		r.Token = "t2"
		return r, nil
	})
	require.NoError(t, err)
	// The updater saw each winner's change: it ran on the value as it was.
	assert.Equal(t, []string{"", "+", "++"}, nonces)
	got, err := s.GetRefresh(context.Background(), "r1")
	require.NoError(t, err)
	assert.Equal(t, "t2", got.Token)
	assert.Equal(t, "++", got.Nonce, "the winners' writes are kept")
	assert.Equal(t, []observation{{"UpdateRefreshToken", 3, true}}, seen)
}

func TestRetriesAreBounded(t *testing.T) {
	back := &conflicting{Storage: memory.New(slog.New(slog.DiscardHandler)), failures: 1000}
	var seen []observation
	s := Wrap(back, Options{Attempts: 4, BaseDelay: time.Microsecond, Observe: func(op string, n int, ok bool) {
		seen = append(seen, observation{op, n, ok})
	}})
	newRefresh(t, s)

	err := s.UpdateRefreshToken(context.Background(), "r1", func(r storage.RefreshToken) (storage.RefreshToken, error) { return r, nil })
	require.Error(t, err)
	assert.True(t, Conflict(err), "the error is still the storage's: %v", err)
	assert.Contains(t, err.Error(), "still conflicting after 4 attempts")
	assert.Equal(t, 4, back.calls)
	assert.Equal(t, []observation{{"UpdateRefreshToken", 4, false}}, seen)
}

func TestRetriesEndWithTheContext(t *testing.T) {
	back := &conflicting{Storage: memory.New(slog.New(slog.DiscardHandler)), failures: 1000}
	s := Wrap(back, Options{Attempts: 1000, BaseDelay: time.Hour, MaxDelay: time.Hour})
	newRefresh(t, s)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	err := s.UpdateRefreshToken(ctx, "r1", func(r storage.RefreshToken) (storage.RefreshToken, error) { return r, nil })
	assert.True(t, Conflict(err))
	assert.Equal(t, 1, back.calls)
}

func TestOtherErrorsAreNotRetried(t *testing.T) {
	back := &conflicting{Storage: memory.New(slog.New(slog.DiscardHandler))}
	calls := 0
	s := Wrap(back, Options{Observe: func(string, int, bool) { calls++ }})
	newRefresh(t, s)

	claimed := errors.New("refresh token claimed twice")
	runs := 0
	err := s.UpdateRefreshToken(context.Background(), "r1", func(r storage.RefreshToken) (storage.RefreshToken, error) {
		runs++
		return r, claimed
	})
	assert.ErrorIs(t, err, claimed)
	assert.Equal(t, 1, runs)
	assert.ErrorIs(t, s.DeleteRefresh(context.Background(), "nope"), storage.ErrNotFound)
	assert.Zero(t, calls, "nothing conflicted")
}
