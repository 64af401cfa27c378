package harness_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

// testConfig is a minimal configuration with Dex's own mockCallback
// connector, so that no connector registration is needed.
var testConfig = dextest.DexConfig{
	Clients:    []dextest.Client{{ID: "app", Name: "App", Secret: "app-secret", RedirectURIs: []string{"http://127.0.0.1:5555/callback"}}},
	Connectors: []dextest.ConnectorFunc{dextest.MockCallback("mock", "Mock")},
}

// For gives an empty issuer and web address the listener's, and leaves
// those a test set.
func TestFor(t *testing.T) {
	l := harness.Listen(t)
	addr := l.Addr().String()
	cfg := harness.For(testConfig, l)
	assert.Equal(t, "http://"+addr+"/dex", cfg.Issuer)
	assert.Equal(t, addr, cfg.HTTP)
	set := harness.For(dextest.DexConfig{Issuer: "http://" + addr, HTTP: "127.0.0.1:0"}, l)
	assert.Equal(t, "http://"+addr, set.Issuer)
	assert.Equal(t, "127.0.0.1:0", set.HTTP)
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
	cfg := harness.For(testConfig, harness.Listen(t))
	loaded := harness.LoadFile(t, cfg.WriteFile(t))
	assert.Equal(t, cfg.Issuer, loaded.Issuer)
	assert.Equal(t, cfg.HTTP, loaded.Web.HTTP)
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
