package dextest

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// endingTB records how a test ended, ending the goroutine as testing does.
type endingTB struct {
	testing.TB
	ended, msg string
}

func (e *endingTB) Helper() {}

func (e *endingTB) Fatalf(format string, args ...any) { e.end("failed", format, args) }

func (e *endingTB) Skipf(format string, args ...any) { e.end("skipped", format, args) }

func (e *endingTB) end(how, format string, args []any) {
	e.ended, e.msg = how, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestUnavailable(t *testing.T) {
	for _, tt := range []struct{ ci, ended string }{
		{"", "skipped"},
		{"false", "skipped"},
		{"true", "failed"},
	} {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			e := &endingTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				Unavailable(e, "%s is not installed", "chromium")
			}()
			<-done
			assert.Equal(t, tt.ended, e.ended)
			assert.Equal(t, "chromium is not installed", e.msg)
		})
	}
}
