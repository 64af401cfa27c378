package dextest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// recordingTB records what RequireReturns reports, instead of failing the
// test that uses it.
type recordingTB struct {
	testing.TB
	failed string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed = format
}

func TestRequireReturns(t *testing.T) {
	tests := []struct {
		name   string
		send   bool
		err    error
		failed string
	}{
		{name: "returns nil in time", send: true},
		{name: "returns an error", send: true, err: errors.New("boom"), failed: "%s returned an error: %v"},
		{name: "does not return", failed: "%s did not return within %s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			if tt.send {
				done <- tt.err
			}
			r := &recordingTB{TB: t}
			RequireReturns(r, done, 10*time.Millisecond, "the run")
			assert.Equal(t, tt.failed, r.failed)
		})
	}
}
