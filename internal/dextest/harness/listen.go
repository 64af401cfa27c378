package harness

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// Listen listens on a free port of 127.0.0.1 until the test ends.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// FreeAddr is dextest.FreeAddr.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return dextest.FreeAddr(t)
}
