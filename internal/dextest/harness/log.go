package harness

import (
	"log/slog"
	"testing"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// DefaultLogLevel is the level Serve's servers log at.
const DefaultLogLevel = slog.LevelDebug

// Logger returns a text logger that writes records of level and above to
// the test's output until the test ends; records that stray goroutines log
// later are dropped.
func Logger(t testing.TB, level slog.Level) *slog.Logger {
	w := &dextest.LogBuffer{To: t.Output()}
	t.Cleanup(w.Close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}
