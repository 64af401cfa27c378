package main

import (
	"os"
	"testing"
)

// runMainEnv makes the test binary act as dex-spectro itself, so tests can
// check exit statuses and signal handling of the real main.
const runMainEnv = "DEX_SPECTRO_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
