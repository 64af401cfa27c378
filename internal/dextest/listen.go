package dextest

import (
	"bytes"
	"net"
	"testing"
)

// portAttempts bounds how often StartOnFreeAddr tries another port.
const portAttempts = 3

// FreeAddr returns an address of 127.0.0.1 with a port that was free a
// moment ago, for a process that listens itself (StartOnFreeAddr retries
// when another process took the port since).
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on a free port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("release a free port: %v", err)
	}
	return addr
}

// StartOnFreeAddr starts a process that listens itself on a FreeAddr: start
// starts it on addr and returns how that went and what the process logged.
// The port was free a moment before start ran; when start fails and the log
// says the address is in use (another process took the port since), start
// runs again on another port, at most three times in all. It returns start's
// last error.
func StartOnFreeAddr(t testing.TB, start func(addr string) (log []byte, err error)) error {
	t.Helper()
	for attempt := 1; ; attempt++ {
		log, err := start(FreeAddr(t))
		if err == nil {
			return nil
		}
		if attempt < portAttempts && bytes.Contains(log, []byte("address already in use")) {
			t.Logf("port taken since it was free, trying another: %v", err)
			continue
		}
		return err
	}
}
