package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dex-spectro/dex-spectro/internal/connectors"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// connectorClock is the clock of every spectrocloud connector the tests
// open; tests move it to reach expiry or a refetch interval without waiting.
// Tests that move it are not parallel and reset it.
var connectorClock dextest.Clock

func TestMain(m *testing.M) {
	// Register this build's connector types once, before any server starts,
	// as the binary does. The connector's metrics are recorded, as in
	// production, into a registry that no in-process server serves: the
	// metrics test scrapes the binary instead.
	if err := connectors.Register(prometheus.NewRegistry(), connectors.WithClock(connectorClock.Now)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
