package dextest

import (
	"os"
	"testing"
)

// Unavailable ends a test that cannot run here because something it needs
// is missing (a server, a program, packages): it is skipped with the
// message, or fails with it when CI=true, since CI installs everything the
// tests need and none may skip there.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}
