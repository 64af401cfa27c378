package harness

import (
	"fmt"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dex-spectro/dex-spectro/internal/connectors"
)

// Main is a package's TestMain: it registers this build's connector types
// once, before any configuration is loaded, as the binary does at start-up
// (connectors.Register with reg and opts), then runs the tests and exits
// with their status.
func Main(m *testing.M, reg prometheus.Registerer, opts ...connectors.Option) {
	if err := connectors.Register(reg, opts...); err != nil {
		fmt.Fprintln(os.Stderr, "register connectors:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
