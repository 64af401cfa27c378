package harness_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

// testConfig is a minimal configuration with Dex's own mockCallback
// connector, so that no connector registration is needed.
const testConfig = `
issuer: ISSUER_URL
web:
  http: HTTP_ADDR
storage:
  type: memory
staticClients:
- id: app
  name: App
  secret: app-secret
  redirectURIs: ["http://127.0.0.1:5555/callback"]
connectors:
- type: mockCallback
  id: mock
  name: Mock
`

func TestRender(t *testing.T) {
	got := harness.Render("issuer: ISSUER_URL\nweb:\n  http: HTTP_ADDR\nredirect: ISSUER_URL/callback\n",
		"http://127.0.0.1:1234/dex", "127.0.0.1:1234")
	assert.Equal(t, "issuer: http://127.0.0.1:1234/dex\nweb:\n  http: 127.0.0.1:1234\nredirect: http://127.0.0.1:1234/dex/callback\n", got)
}

func TestStartServesAndStops(t *testing.T) {
	dex := harness.Start(t, testConfig, nil)
	require.Equal(t, "http://"+dex.Addrs.HTTP+"/dex", dex.Issuer)

	resp, err := http.Get(dex.URL("/.well-known/openid-configuration"))
	require.NoError(t, err)
	var discovery struct {
		Issuer string `json:"issuer"`
	}
	err = json.NewDecoder(resp.Body).Decode(&discovery)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, dex.Issuer, discovery.Issuer)

	require.NoError(t, dex.Stop())
	select {
	case <-dex.Done():
	default:
		t.Fatal("Done is open after Stop")
	}
	require.NoError(t, dex.Stop(), "a second Stop returns the same result")
	_, err = (&http.Client{Timeout: 5 * time.Second}).Get(dex.URL("/healthz"))
	require.Error(t, err, "the listener is closed")
}

func TestLoadFile(t *testing.T) {
	l := harness.Listen(t)
	addr := l.Addr().String()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(harness.Render(testConfig, "http://"+addr+"/dex", addr)), 0o600))
	cfg := harness.LoadFile(t, path)
	assert.Equal(t, "http://"+addr+"/dex", cfg.Issuer)
}

func TestStopWithinReportsAServerStillRunning(t *testing.T) {
	dex := harness.Start(t, testConfig, nil)
	err := dex.StopWithin(0)
	if err == nil {
		// Run returned before the timer fired; nothing to assert.
		t.Skip("the server stopped within no time")
	}
	require.True(t, errors.Is(err, harness.ErrStillRunning), "%v", err)
	require.NoError(t, dex.Stop())
}
