package harness

import (
	"io"
	"log/slog"
	"sync"
	"testing"
)

// DefaultLogLevel is the level Serve's servers log at.
const DefaultLogLevel = slog.LevelDebug

// Logger returns a text logger that writes records of level and above to
// the test's output until the test ends; records that stray goroutines log
// later are dropped.
func Logger(t testing.TB, level slog.Level) *slog.Logger {
	w := &testWriter{w: t.Output()}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// testWriter writes to a test's output until it is closed.
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
