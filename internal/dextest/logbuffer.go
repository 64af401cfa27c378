package dextest

import (
	"context"
	"io"
	"strings"
	"sync"
	"time"
)

// LogBuffer is the tests' log sink: safe for concurrent writes, it keeps
// everything written, and copies it to To when set (a test's output), until
// Close; later writes, from goroutines that outlive the test, are dropped.
type LogBuffer struct {
	// To, when set, receives a copy of every write.
	To io.Writer

	mu     sync.Mutex
	buf    strings.Builder
	closed bool
}

// Write implements io.Writer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return len(p), nil
	}
	b.buf.Write(p)
	if b.To != nil {
		return b.To.Write(p)
	}
	return len(p), nil
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Close drops later writes.
func (b *LogBuffer) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
}

// Mark returns the current end of the log, for Since and WaitFor.
func (b *LogBuffer) Mark() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

// Since returns what was written after mark.
func (b *LogBuffer) Since(mark int) string {
	return b.String()[mark:]
}

// Lines returns the lines that contain s.
func (b *LogBuffer) Lines(s string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// WaitFor polls the log written after mark until it contains s, for at
// most timeout.
func (b *LogBuffer) WaitFor(mark int, s string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return b.await(ctx, func() bool { return strings.Contains(b.Since(mark), s) })
}

// AwaitLine polls the log until a line starts with prefix and returns it,
// or returns false when ctx ends first.
func (b *LogBuffer) AwaitLine(ctx context.Context, prefix string) (string, bool) {
	var line string
	found := b.await(ctx, func() bool {
		for _, l := range strings.Split(b.String(), "\n") {
			if strings.HasPrefix(l, prefix) {
				line = l
				return true
			}
		}
		return false
	})
	return line, found
}

// await calls done every 20 ms until it reports true, or ctx ends.
func (b *LogBuffer) await(ctx context.Context, done func() bool) bool {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if done() {
			return true
		}
		select {
		case <-ctx.Done():
			return done()
		case <-tick.C:
		}
	}
}
