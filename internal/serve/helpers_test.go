package serve_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// Placeholders in test configurations.
const (
	issuerPlaceholder = "ISSUER_URL"
	httpPlaceholder   = "HTTP_ADDR"
)

// bcryptHash is a bcrypt hash (cost 10) of "s3cret-pass".
const bcryptHash = "$2a$10$Ff5CVUENfEjsqQbSJJQJuONj8Gb5kZB/HnCPAbCkEU80rI9gP8FG."

// rpRedirect is the relying party's redirect URI; the browser stops there.
const rpRedirect = "http://127.0.0.1:5555/callback"

// testDex is a Dex server running in-process.
type testDex struct {
	srv    *serve.Server
	Issuer string
	Addrs  serve.Addrs
	cancel context.CancelFunc
	done   chan error
}

// startDex starts a server from a YAML template in which ISSUER_URL and
// HTTP_ADDR are replaced by the issuer and the web listener's address.
// With addr empty it listens on a free port of 127.0.0.1.
func startDex(t *testing.T, template, addr string, opts ...serve.Option) *testDex {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return startDexOn(t, template, l, opts...)
}

// startDexOn is startDex with the web listener given.
func startDexOn(t *testing.T, template string, l net.Listener, opts ...serve.Option) *testDex {
	t.Helper()
	cfg := loadConfig(t, template, l.Addr().String())

	opts = append([]serve.Option{
		serve.WithListener(serve.ListenerHTTP, l),
		serve.WithLogger(testLogger(t)),
	}, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := serve.New(ctx, cfg, opts...)
	if err != nil {
		cancel()
	}
	require.NoError(t, err)

	d := &testDex{srv: srv, Issuer: cfg.Issuer, Addrs: srv.Addrs(), cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- srv.Run(ctx) }()
	t.Cleanup(func() { _ = d.stop() })
	return d
}

// listen listens on a free port of 127.0.0.1.
func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// loadConfig renders a template for a web listener at addr and loads it
// strictly.
func loadConfig(t *testing.T, template, addr string) *config.Config {
	t.Helper()
	issuer := "http://" + addr + "/dex"
	yaml := strings.NewReplacer(issuerPlaceholder, issuer, httpPlaceholder, addr).Replace(template)
	cfg, warnings, err := config.Load([]byte(yaml), config.Options{Strict: true})
	require.NoError(t, err)
	require.Empty(t, warnings)
	return cfg
}

// stop cancels the server's context and waits for Run to return.
func (d *testDex) stop() error {
	d.cancel()
	select {
	case err := <-d.done:
		d.done <- err // later calls see the same result
		return err
	case <-time.After(time.Minute):
		return context.DeadlineExceeded
	}
}

// url returns a URL on the web listener.
func (d *testDex) url(path string) string {
	return d.Issuer + path
}

// get fetches a URL and returns status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// testLogger logs to the test's output until the test ends; records logged
// later by stray goroutines are dropped.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{w: t.Output()}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return len(p), nil
	}
	return w.w.Write(p)
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}
