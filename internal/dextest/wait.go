package dextest

import (
	"testing"
	"time"
)

// RequireReturns waits, at most within, for what (a server's or a
// command's run) to deliver its error on done, and fails the test now if
// it does not deliver in time or delivers an error.
func RequireReturns(t testing.TB, done <-chan error, within time.Duration, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s returned an error: %v", what, err)
		}
	case <-time.After(within):
		t.Fatalf("%s did not return within %s", what, within)
	}
}
