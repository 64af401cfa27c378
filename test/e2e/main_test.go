package e2e

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dex-spectro/dex-spectro/internal/connectors"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

// connectorClock is the clock of every spectrocloud connector the tests
// open; tests move it to reach expiry or a refetch interval without waiting.
// Tests that move it are not parallel and reset it.
var connectorClock dextest.Clock

func TestMain(m *testing.M) {
	// The connector's metrics are recorded, as in production, into a
	// registry that no in-process server serves: the metrics test scrapes
	// the binary instead.
	harness.Main(m, prometheus.NewRegistry(), connectors.WithClock(connectorClock.Now))
}
