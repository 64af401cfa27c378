package signincheck

import (
	"testing"

	// Named apart from this package's own harness type.
	serveharness "github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

func TestMain(m *testing.M) { serveharness.Main(m) }
