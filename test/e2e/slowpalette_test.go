package e2e

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// jwksGate holds Palette's key endpoint: while it is closed, requests for
// the keys wait, as they would on a slow Palette.
type jwksGate struct {
	mu      sync.Mutex
	open    chan struct{}
	arrived chan struct{} // gets a value when a request starts waiting
}

func newJWKSGate() *jwksGate {
	g := &jwksGate{open: make(chan struct{}), arrived: make(chan struct{}, 16)}
	close(g.open)
	return g
}

// hold closes the gate; release opens it.
func (g *jwksGate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = make(chan struct{})
}

func (g *jwksGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.open)
}

func (g *jwksGate) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/keys") || strings.HasSuffix(r.URL.Path, "/jwks") {
			g.mu.Lock()
			open := g.open
			g.mu.Unlock()
			select {
			case <-open:
			default:
				g.arrived <- struct{}{}
				select {
				case <-open:
				case <-r.Context().Done():
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// While one refresh waits for Palette's signing keys (Palette rotated to a
// key this replica has not seen, and its key endpoint is slow), the
// replica's other work goes on: Dex's own endpoints that read storage and
// other users' refreshes answer while the key request is still held. On
// sqlite3, the storage of the example and the image's default config, Dex
// has one database connection, so a refresh waiting inside Dex's storage
// transaction would hold every request that touches storage.
func TestSlowPaletteHoldsNothing(t *testing.T) {
	bin := BuildBinary(t)
	gate := newJWKSGate()
	p := StartPalette(t, gate.middleware)
	// Palette may take its time: the refresh waits for the key as long as
	// the test holds it.
	f := StartFleet(t, bin, DexConfig{
		Connectors: []dextest.ConnectorFunc{p.SpectroCloud("spectrocloud", map[string]any{"upstreamTimeout": "2m"})},
		Storage:    SQLiteStorage(filepath.Join(t.TempDir(), "dex.db")),
		LogLevel:   "info",
	}, 2)
	ctx := context.Background()
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	on := func(i int, login string) *fleetUser { return newFleetUser(t, f, login, Pinned(i, base)) }

	p.AddUser("bob@example.com")
	p.AddUser("alice@example.com")
	bob := on(0, "bob@example.com")
	bobIn, err := bob.rp.SignIn(ctx, bob.agent) // replica 0 knows Palette's key
	require.NoError(t, err)

	// Palette rotates; alice signs in on replica 1, which fetches the new
	// key. Replica 0 has not seen it.
	p.Tenant.RotateKey()
	alice := on(1, "alice@example.com")
	aliceIn, err := alice.rp.SignIn(ctx, alice.agent)
	require.NoError(t, err)
	fetches := p.Requests(spectrotest.EndpointJWKS)

	// Palette's key endpoint stops answering; alice refreshes on replica 0,
	// which must fetch the new key.
	gate.hold()
	aliceDone := make(chan error, 1)
	go func() {
		_, err := on(0, "alice@example.com").rp.Refresh(ctx, aliceIn.OAuth2.RefreshToken)
		aliceDone <- err
	}()
	select {
	case <-gate.arrived:
	case <-time.After(time.Minute):
		gate.release()
		t.Fatal("the refresh never asked Palette for its keys")
	}

	// While the key request is held: Dex's own keys, and bob's refresh, on
	// replica 0.
	held, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(held, http.MethodGet, f.Issuer+"/keys", nil)
	require.NoError(t, err)
	resp, err := (&http.Client{Transport: Pinned(0, base)}).Do(req)
	if err == nil {
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}
	assert.NoError(t, err, "Dex's /keys answers while a refresh waits for Palette")
	_, err = bob.rp.Refresh(held, bobIn.OAuth2.RefreshToken)
	assert.NoError(t, err, "another user's refresh answers while a refresh waits for Palette")
	select {
	case err := <-aliceDone:
		t.Fatalf("alice's refresh ended while Palette's key endpoint was held: %v", err)
	default:
	}

	gate.release()
	dextest.RequireReturns(t, aliceDone, time.Minute, "alice's refresh after Palette answered")
	assert.Equal(t, fetches+1, p.Requests(spectrotest.EndpointJWKS), "one fetch of the new key")
}
