package harness

import (
	"fmt"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dex-spectro/dex-spectro/internal/connectors"
)

// Main is the TestMain of every package whose tests load a configuration:
// it registers this build's connector types once, before any configuration
// is loaded, as the binary does at start-up (connectors.Register, with the
// connectors' metrics recorded, as in production, into a registry of their
// own), then runs the tests and exits with their status.
//
// It sets no clock: a test that moves the connectors' clock gives its
// server one (serve.WithConnectorClock), which the connectors that server opens
// follow.
func Main(m *testing.M) {
	if err := connectors.Register(prometheus.NewRegistry()); err != nil {
		fmt.Fprintln(os.Stderr, "register connectors:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
