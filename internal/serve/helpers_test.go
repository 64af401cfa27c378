package serve_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// Placeholders in test configurations.
const (
	issuerPlaceholder = harness.IssuerPlaceholder
	httpPlaceholder   = harness.HTTPPlaceholder
)

// bcryptHash is a bcrypt hash (cost 10) of "s3cret-pass".
const bcryptHash = "$2a$10$Ff5CVUENfEjsqQbSJJQJuONj8Gb5kZB/HnCPAbCkEU80rI9gP8FG."

// rpRedirect is the relying party's redirect URI; the browser stops there.
const rpRedirect = "http://127.0.0.1:5555/callback"

// startDex starts a server from a YAML template in which ISSUER_URL and
// HTTP_ADDR are replaced by the issuer and the web listener's address.
// With addr empty it listens on a free port of 127.0.0.1.
func startDex(t *testing.T, template, addr string, opts ...serve.Option) *harness.Dex {
	t.Helper()
	if addr == "" {
		return harness.Start(t, template, nil, opts...)
	}
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return harness.Start(t, template, l, opts...)
}

// listen listens on a free port of 127.0.0.1.
func listen(t *testing.T) net.Listener {
	t.Helper()
	return harness.Listen(t)
}

// loadConfig renders a template for a web listener at addr and loads it
// strictly.
func loadConfig(t *testing.T, template, addr string) *config.Config {
	t.Helper()
	return harness.LoadTemplate(t, template, "http://"+addr+"/dex", addr)
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
	return harness.Logger(t, slog.LevelDebug)
}
