package storageretry

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeyedQueue(t *testing.T) {
	var q keyedQueue
	ctx := context.Background()

	release, err := q.acquire(ctx, "a")
	require.NoError(t, err)
	// Another key is free.
	other, err := q.acquire(ctx, "b")
	require.NoError(t, err)
	other()

	// The same key waits, and the wait ends with the context.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = q.acquire(short, "a")
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// Writers to one key run one at a time, all of them.
	var mu sync.Mutex
	running, most, done := 0, 0, 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			rel, err := q.acquire(ctx, "a")
			if !assert.NoError(t, err) {
				return
			}
			mu.Lock()
			running++
			most = max(most, running)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			running--
			done++
			mu.Unlock()
			rel()
		})
	}
	release()
	wg.Wait()
	assert.Equal(t, 1, most)
	assert.Equal(t, 20, done)
	q.mu.Lock()
	defer q.mu.Unlock()
	assert.Empty(t, q.turns, "no key is kept once nobody waits for it")
}
