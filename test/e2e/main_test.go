package e2e

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dex-spectro/dex-spectro/internal/connectors"
)

// connectorClockOffset moves the clock of the spectrocloud connectors that
// in-process servers open (Dex's own clock is not moved), so that tests reach
// the connector's refetch interval without waiting. Tests that move it are
// not parallel and reset it.
var connectorClockOffset atomic.Int64

func connectorNow() time.Time {
	return time.Now().Add(time.Duration(connectorClockOffset.Load()))
}

func TestMain(m *testing.M) {
	// Register this build's connector types once, before any server starts,
	// as the binary does. The connector's metrics are recorded, as in
	// production, into a registry that no in-process server serves: the
	// metrics test scrapes the binary instead.
	if err := connectors.Register(prometheus.NewRegistry(), connectors.WithClock(connectorNow)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
