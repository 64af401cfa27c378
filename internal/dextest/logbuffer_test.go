package dextest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Writes from many goroutines all land, copied to To; after Close they are
// dropped; the helpers read what was written.
func TestLogBuffer(t *testing.T) {
	var to strings.Builder
	b := &LogBuffer{To: &to}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("level=INFO msg=x\n"))
			}
		})
	}
	wg.Wait()
	assert.Len(t, b.Lines("msg=x"), 800)
	assert.Equal(t, b.String(), to.String())

	mark := b.Mark()
	go func() { _, _ = b.Write([]byte("level=WARN msg=late url=https://example.com/auth?x=1\n")) }()
	assert.True(t, b.WaitFor(mark, "msg=late", 10*time.Second))
	assert.Equal(t, "level=WARN msg=late url=https://example.com/auth?x=1\n", b.Since(mark))
	line, ok := b.AwaitLine(context.Background(), "level=WARN")
	assert.True(t, ok)
	assert.Equal(t, "level=WARN msg=late url=https://example.com/auth?x=1", line)
	assert.False(t, b.WaitFor(mark, "never", 50*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, ok = b.AwaitLine(ctx, "never")
	assert.False(t, ok)

	b.Close()
	n, err := b.Write([]byte("after close\n"))
	assert.NoError(t, err)
	assert.Equal(t, 12, n)
	assert.NotContains(t, b.String(), "after close")
	assert.NotContains(t, to.String(), "after close")
}
