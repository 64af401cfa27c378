package e2e

import "testing"

// TestBinary runs the tests that need dex-spectro as a real process, built
// once from cmd/dex-spectro: its metrics as Prometheus scrapes them, and a
// SIGKILL in the middle of a sign-in.
func TestBinary(t *testing.T) {
	t.Parallel()
	bin := BuildBinary(t)
	t.Run("metrics", func(t *testing.T) { testMetrics(t, bin) })
	t.Run("SIGKILL mid-sign-in", func(t *testing.T) {
		t.Run("sqlite3", func(t *testing.T) { testSIGKILLOnSQLite(t, bin) })
		t.Run("postgres", func(t *testing.T) { testSIGKILLOnPostgres(t, bin) })
	})
}
