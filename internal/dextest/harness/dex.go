package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// stopTimeout bounds how long Stop waits for the server to shut down.
const stopTimeout = time.Minute

// ErrStillRunning is what Stop and StopWithin return when the server has
// not stopped in time.
var ErrStillRunning = errors.New("dex-spectro is still running")

// Dex is dex-spectro's server running in the test's process.
type Dex struct {
	// Server is the running server.
	Server *serve.Server
	// Issuer is the configuration's issuer.
	Issuer string
	// Addrs are the addresses the server's listeners are bound to.
	Addrs serve.Addrs

	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
	err    error         // what Run returned, once done is closed
}

// Serve builds a server from cfg with serve.New and runs it until the test
// ends. The server logs at debug level to the test's output (Logger);
// opts come after that, so a serve.WithLogger among them replaces it. The
// test fails at once if New fails.
func Serve(t testing.TB, cfg *config.Config, opts ...serve.Option) *Dex {
	t.Helper()
	opts = append([]serve.Option{serve.WithLogger(Logger(t, DefaultLogLevel))}, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := serve.New(ctx, cfg, opts...)
	if err != nil {
		cancel()
	}
	require.NoError(t, err, "start dex-spectro")

	d := &Dex{Server: srv, Issuer: cfg.Issuer, Addrs: srv.Addrs(), cancel: cancel, done: make(chan struct{})}
	go func() {
		d.err = srv.Run(ctx)
		close(d.done)
	}()
	t.Cleanup(func() { _ = d.Stop() })
	return d
}

// Start serves cfg on the web listener l (plain HTTP), loaded as Load does;
// an empty issuer or web address in cfg is l's (the issuer
// http://<l's address>/dex). With l nil it listens on a free port of
// 127.0.0.1.
func Start(t testing.TB, cfg dextest.DexConfig, l net.Listener, opts ...serve.Option) *Dex {
	t.Helper()
	if l == nil {
		l = Listen(t)
	}
	return Serve(t, Load(t, For(cfg, l)), append([]serve.Option{serve.WithListener(serve.ListenerHTTP, l)}, opts...)...)
}

// For returns cfg with its empty issuer and web address set for a server
// on l: the issuer http://<l's address>/dex.
func For(cfg dextest.DexConfig, l net.Listener) dextest.DexConfig {
	addr := l.Addr().String()
	if cfg.HTTP == "" {
		cfg.HTTP = addr
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "http://" + addr + "/dex"
	}
	return cfg
}

// URL returns the URL of path below the issuer.
func (d *Dex) URL(path string) string {
	return d.Issuer + path
}

// Cancel cancels the server's context, which starts its shutdown, and
// returns at once.
func (d *Dex) Cancel() { d.cancel() }

// Done is closed when Run has returned.
func (d *Dex) Done() <-chan struct{} { return d.done }

// Stop cancels the server's context and waits for Run to return, at most a
// minute, and returns what Run returned. It may be called more than once;
// the test's end calls it too.
func (d *Dex) Stop() error {
	return d.StopWithin(stopTimeout)
}

// StopWithin is Stop waiting at most timeout; when the server has not
// stopped by then it returns ErrStillRunning.
func (d *Dex) StopWithin(timeout time.Duration) error {
	d.cancel()
	select {
	case <-d.done:
		return d.err
	case <-time.After(timeout):
		return fmt.Errorf("stop after %v: %w", timeout, ErrStillRunning)
	}
}
