package storageretry

import (
	"context"
	"sync"
)

// keyedQueue lets one write at a time through per key (a row: a refresh
// token, an offline session), so that the writes of one replica to one row
// queue instead of colliding in the database and retrying; only writes from
// other replicas are left to collide. Waiting ends with the caller's
// context. It holds no lock of its own while a write runs: a key's turn is
// a channel, taken and given back around the write.
type keyedQueue struct {
	mu    sync.Mutex
	turns map[string]*turn
}

type turn struct {
	ch      chan struct{} // holds a token while the key is free
	waiters int           // callers holding or waiting for the turn
}

// acquire waits for key's turn; release gives it back.
func (q *keyedQueue) acquire(ctx context.Context, key string) (release func(), err error) {
	q.mu.Lock()
	if q.turns == nil {
		q.turns = make(map[string]*turn)
	}
	t := q.turns[key]
	if t == nil {
		t = &turn{ch: make(chan struct{}, 1)}
		t.ch <- struct{}{}
		q.turns[key] = t
	}
	t.waiters++
	q.mu.Unlock()

	done := func() {
		q.mu.Lock()
		t.waiters--
		if t.waiters == 0 {
			delete(q.turns, key)
		}
		q.mu.Unlock()
	}
	select {
	case <-t.ch:
		return func() {
			t.ch <- struct{}{}
			done()
		}, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}
