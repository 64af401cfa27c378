package demo

import (
	"testing"

	"github.com/dex-spectro/dex-spectro/internal/connectors"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

// connectorClock is the clock of every spectrocloud connector the tests
// open; tests move it to reach expiry or a refetch interval without waiting.
// Tests that move it are not parallel and reset it.
var connectorClock dextest.Clock

func TestMain(m *testing.M) {
	harness.Main(m, nil, connectors.WithClock(connectorClock.Now))
}
