package config_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/dex-spectro/dex-spectro/internal/connectors"
)

func TestMain(m *testing.M) {
	// The spectrocloud connector type is registered once, before any test
	// loads a configuration, as the binary does at start-up.
	if err := connectors.Register(nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
