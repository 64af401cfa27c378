package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

// TestBinary runs the tests that need dex-spectro as a real process, built
// once from cmd/dex-spectro: its metrics as Prometheus scrapes them, a
// SIGKILL in the middle of a sign-in, and a port another process took.
func TestBinary(t *testing.T) {
	t.Parallel()
	bin := BuildBinary(t)
	t.Run("metrics", func(t *testing.T) { testMetrics(t, bin) })
	t.Run("SIGKILL mid-sign-in", func(t *testing.T) {
		t.Run("sqlite3", func(t *testing.T) { testSIGKILLOnSQLite(t, bin) })
		t.Run("postgres", func(t *testing.T) { testSIGKILLOnPostgres(t, bin) })
	})
	t.Run("port taken", func(t *testing.T) { testPortTaken(t, bin) })
}

// A process whose port another process took exits and logs that the
// address is in use, which is what StartFleet's retry looks for.
func testPortTaken(t *testing.T, bin string) {
	taken := harness.Listen(t).Addr().String()
	issuer := "http://" + taken + "/dex"
	p, err := tryStartProcess(t, bin, DexConfig{Connectors: []dextest.ConnectorFunc{dextest.MockCallback("mock", "Mock")}}.WriteConfig(t, issuer, taken, ""), issuer, "")
	require.Error(t, err)
	assert.False(t, p.running(), "the process exited")
	assert.Contains(t, p.Logs.String(), "address already in use")
}
