// Package storageretry makes Dex's storage hold under concurrency: a write
// that loses a race with a concurrent one (a PostgreSQL serialization
// failure, a MySQL deadlock, a busy SQLite file, a lost etcd
// compare-and-swap, a Kubernetes update conflict) is run again, with its
// updater applied to the fresh value, instead of failing the request.
//
// Without it, Dex v2.45.1 answers such a request 500. For a refresh that is
// permanent: Dex has already rotated the refresh token when its update of
// the offline session fails, the client keeps the old token, and its retry
// is refused as "claimed twice", so the user is signed out. Dex's storage
// contract allows it: "updater functions may be called multiple times by a
// single update call".
package storageretry

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/dexidp/dex/storage"
)

// Defaults of Options.
const (
	DefaultAttempts  = 25
	DefaultBaseDelay = 2 * time.Millisecond
	DefaultMaxDelay  = 100 * time.Millisecond
)

// Options tune the retries. The zero value uses the defaults.
type Options struct {
	// Attempts bounds how often one operation runs, the first time
	// included.
	Attempts int
	// BaseDelay and MaxDelay bound the wait before a retry: it grows
	// exponentially from BaseDelay up to MaxDelay, and each wait is drawn at
	// random below that bound (full jitter), so that the writers that
	// collided do not collide again.
	BaseDelay, MaxDelay time.Duration
	// Observe, if set, is told of every operation that met a conflict:
	// its name, how many attempts it took, and whether it succeeded in the
	// end.
	Observe func(operation string, attempts int, succeeded bool)
	// Logger receives a warning for every operation that gave up.
	Logger *slog.Logger
}

// Wrap returns s with its writes retried on conflicts. Reads pass through.
func Wrap(s storage.Storage, opts Options) storage.Storage {
	if opts.Attempts <= 0 {
		opts.Attempts = DefaultAttempts
	}
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = DefaultBaseDelay
	}
	if opts.MaxDelay < opts.BaseDelay {
		opts.MaxDelay = max(DefaultMaxDelay, opts.BaseDelay)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &retrying{Storage: s, opts: opts}
}

// retrying is a storage.Storage whose writes are retried on conflicts.
type retrying struct {
	storage.Storage
	opts  Options
	queue keyedQueue
}

// update runs op as do does, after the writes to the same key made
// through this storage before it.
func (r *retrying) update(ctx context.Context, name, key string, op func() error) error {
	release, err := r.queue.acquire(ctx, name+"/"+key)
	if err != nil {
		return fmt.Errorf("storage: %s: waiting for the writes before it: %w", name, err)
	}
	defer release()
	return r.do(ctx, name, op)
}

// do runs op until it succeeds, fails with something other than a
// conflict, runs out of attempts, or ctx ends.
func (r *retrying) do(ctx context.Context, name string, op func() error) error {
	err := op()
	if !Conflict(err) {
		return err
	}
	attempt := 1
	for ; attempt < r.opts.Attempts && Conflict(err); attempt++ {
		t := time.NewTimer(r.delay(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			r.gaveUp(name, attempt, err)
			return err
		case <-t.C:
		}
		err = op()
	}
	if Conflict(err) {
		r.gaveUp(name, attempt, err)
		return fmt.Errorf("%w (still conflicting after %d attempts)", err, attempt)
	}
	if r.opts.Observe != nil {
		r.opts.Observe(name, attempt, err == nil)
	}
	return err
}

func (r *retrying) gaveUp(name string, attempts int, err error) {
	if r.opts.Observe != nil {
		r.opts.Observe(name, attempts, false)
	}
	r.opts.Logger.Warn("storage: a write kept conflicting with concurrent writes", "operation", name, "attempts", attempts, "err", err)
}

// delay returns the wait before attempt+1: full jitter below an
// exponentially growing bound.
func (r *retrying) delay(attempt int) time.Duration {
	bound := r.opts.BaseDelay << min(attempt-1, 20)
	if bound <= 0 || bound > r.opts.MaxDelay {
		bound = r.opts.MaxDelay
	}
	return rand.N(bound) + 1
}
