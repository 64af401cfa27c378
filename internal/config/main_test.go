package config_test

import (
	"testing"

	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

// The spectrocloud connector type is registered once, before any test
// loads a configuration, as the binary does at start-up.
func TestMain(m *testing.M) { harness.Main(m) }
