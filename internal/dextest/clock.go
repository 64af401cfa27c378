package dextest

import (
	"sync"
	"time"
)

// Clock is the fake clock of the tests, safe for concurrent use. It runs in
// one of two ways:
//
//   - Its zero value follows the system clock, moved by the offset that
//     Advance, AdvanceTo and Set give it. It stands in for the clock of a
//     server a test starts or of the connectors that server opens
//     (serve.WithClock, serve.WithConnectorClock), which also run timers
//     and talk to peers on real time, so that a test can take a Palette ID
//     token past its expiry, or a key set past its refetch interval, without
//     waiting.
//   - NewClock returns a clock that stands still at a given time and moves
//     only when Advance, AdvanceTo or Set move it, for code whose only
//     notion of time is the clock it is given.
//
// Each test, or each server, has a clock of its own: none is shared by a
// whole test process.
type Clock struct {
	mu      sync.Mutex
	stopped bool
	start   time.Time     // where a stopped clock started
	at      time.Time     // the time of a stopped clock
	offset  time.Duration // the offset of a clock that follows the system's
}

// NewClock returns a clock that stands still at start.
func NewClock(start time.Time) *Clock {
	return &Clock{stopped: true, start: start, at: start}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *Clock) nowLocked() time.Time {
	if c.stopped {
		return c.at
	}
	return time.Now().Add(c.offset)
}

// Advance moves the clock by d, backwards when d is negative.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		c.at = c.at.Add(d)
		return
	}
	c.offset += d
}

// AdvanceTo moves the clock forward to t, if it is not there yet.
func (c *Clock) AdvanceTo(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		if t.After(c.at) {
			c.at = t
		}
		return
	}
	if d := t.Sub(c.nowLocked()); d > 0 {
		c.offset += d
	}
}

// Set puts the clock at t, forwards or backwards. A clock that follows the
// system clock goes on running from there.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		c.at = t
		return
	}
	c.offset = time.Until(t)
}

// Reset takes back every move: a clock that follows the system clock is on
// the system time again, a stopped one at the time it started at.
func (c *Clock) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at, c.offset = c.start, 0
}
