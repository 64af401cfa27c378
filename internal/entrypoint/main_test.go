package entrypoint

import (
	"testing"

	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
