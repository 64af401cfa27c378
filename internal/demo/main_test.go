package demo

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dex-spectro/dex-spectro/internal/connectors"
)

// connectorClockOffset moves the clock of every spectrocloud connector the
// tests open, so that a Palette ID token can be taken past its expiry
// without waiting. Tests that move it are not parallel and reset it.
var connectorClockOffset atomic.Int64

func connectorNow() time.Time {
	return time.Now().Add(time.Duration(connectorClockOffset.Load()))
}

func TestMain(m *testing.M) {
	if err := connectors.Register(nil, connectors.WithClock(connectorNow)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
