package dextest

import (
	"sync/atomic"
	"time"
)

// Clock is the system clock moved forward by an offset that tests set. It
// stands in for the clock of the spectrocloud connectors a test process
// opens (connectors.WithClock), so that a test can take a Palette ID token
// past its expiry, or a key set past its refetch interval, without waiting.
// Dex's own clock is not moved. Tests that move it must not run in parallel
// with others that open connectors, and reset it when done.
type Clock struct {
	offset atomic.Int64
}

// Now returns the system time plus the offset.
func (c *Clock) Now() time.Time {
	return time.Now().Add(time.Duration(c.offset.Load()))
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// AdvanceTo moves the clock forward to t, if it is not there yet.
func (c *Clock) AdvanceTo(t time.Time) {
	if d := t.Sub(c.Now()); d > 0 {
		c.Advance(d)
	}
}

// Reset puts the clock back on the system time.
func (c *Clock) Reset() { c.offset.Store(0) }
