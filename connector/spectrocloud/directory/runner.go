package directory

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// retryBase is the wait before the first retry of a failed sync; it doubles
// with every failure, up to the interval.
const retryBase = 5 * time.Second

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// Interval is the time from the start of one sync to the start of the
	// next; a sync that takes longer is followed at once.
	Interval time.Duration
	// Timeout bounds one sync.
	Timeout time.Duration
	// Now is the clock of Snapshot.Taken; nil means time.Now.
	Now func() time.Time
	// OnSync, when set, is told of every sync: the new snapshot, or the
	// error that ended it (the previous snapshot stays in force). It runs
	// on the runner's goroutine.
	OnSync func(s *Snapshot, err error)
}

// Runner syncs a Client in the background and keeps the last good
// snapshot. Its goroutine holds the runner, the client and the
// configuration, nothing else: a caller can tie the runner's life to an
// object of its own (see runtime.AddCleanup) by not referencing that
// object from OnSync.
type Runner struct {
	client  *Client
	cfg     RunnerConfig
	current atomic.Pointer[Snapshot]

	mu      sync.Mutex
	lastErr error

	cancel   context.CancelFunc
	trigger  chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// Start starts syncing at once, then every cfg.Interval, until Stop.
func Start(client *Client, cfg RunnerConfig) *Runner {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{client: client, cfg: cfg, cancel: cancel, trigger: make(chan struct{}, 1), done: make(chan struct{})}
	go r.loop(ctx)
	return r
}

// Snapshot returns the last good snapshot, or nil before the first sync has
// succeeded. It makes no I/O.
func (r *Runner) Snapshot() *Snapshot { return r.current.Load() }

// LastError returns the error of the last sync, nil when it succeeded.
func (r *Runner) LastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// SyncNow asks for a sync at once, unless one is running or already asked
// for.
func (r *Runner) SyncNow() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Stop ends the runner: a sync in progress is cancelled, and no other
// starts. It returns at once; Done is closed when the goroutine has ended.
// Stop may be called more than once.
func (r *Runner) Stop() { r.stopOnce.Do(r.cancel) }

// Done is closed once the runner's goroutine has ended.
func (r *Runner) Done() <-chan struct{} { return r.done }

func (r *Runner) loop(ctx context.Context) {
	defer close(r.done)
	failures := 0
	for {
		start := time.Now()
		err := r.syncOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := r.cfg.Interval - time.Since(start)
		if err != nil {
			failures++
			wait = min(r.cfg.Interval, retryBase<<min(failures-1, 10))
		} else {
			failures = 0
		}
		timer := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-r.trigger:
			timer.Stop()
		case <-timer.C:
		}
	}
}

func (r *Runner) syncOnce(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	s, err := r.client.Sync(sctx, r.cfg.Now(), r.current.Load())
	if ctx.Err() != nil {
		return ctx.Err() // stopped: nothing to report
	}
	if err == nil {
		r.current.Store(s)
	}
	r.mu.Lock()
	r.lastErr = err
	r.mu.Unlock()
	if r.cfg.OnSync != nil {
		r.cfg.OnSync(s, err)
	}
	return err
}
