package dextest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

func TestStoppedClock(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		move func(c *dextest.Clock)
		want time.Time
	}{
		{"stands still", func(*dextest.Clock) {}, start},
		{"advances", func(c *dextest.Clock) { c.Advance(90 * time.Second) }, start.Add(90 * time.Second)},
		{"goes back", func(c *dextest.Clock) { c.Advance(-time.Hour) }, start.Add(-time.Hour)},
		{"advances to a later time", func(c *dextest.Clock) { c.AdvanceTo(start.Add(time.Minute)) }, start.Add(time.Minute)},
		{"does not advance to an earlier time", func(c *dextest.Clock) { c.AdvanceTo(start.Add(-time.Minute)) }, start},
		{"is set", func(c *dextest.Clock) { c.Set(start.Add(-48 * time.Hour)) }, start.Add(-48 * time.Hour)},
		{"is reset", func(c *dextest.Clock) { c.Advance(time.Hour); c.Reset() }, start},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dextest.NewClock(start)
			tt.move(c)
			assert.Equal(t, tt.want, c.Now())
			assert.Equal(t, tt.want, c.Now(), "a stopped clock does not run")
		})
	}
}

// The zero Clock runs on real time, so this test reads the system clock
// around each reading and checks that the clock's time lies between them,
// moved by the expected offset.
func TestRunningClock(t *testing.T) {
	tests := []struct {
		name   string
		move   func(c *dextest.Clock)
		offset time.Duration
	}{
		{"follows the system clock", func(*dextest.Clock) {}, 0},
		{"advances", func(c *dextest.Clock) { c.Advance(time.Hour) }, time.Hour},
		{"goes back", func(c *dextest.Clock) { c.Advance(-2 * time.Hour) }, -2 * time.Hour},
		{"advances twice", func(c *dextest.Clock) { c.Advance(time.Minute); c.Advance(time.Minute) }, 2 * time.Minute},
		{"advances to a later time", func(c *dextest.Clock) { c.AdvanceTo(time.Now().Add(24 * time.Hour)) }, 24 * time.Hour},
		{"does not advance to an earlier time", func(c *dextest.Clock) { c.AdvanceTo(time.Now().Add(-time.Hour)) }, 0},
		{"is set", func(c *dextest.Clock) { c.Set(time.Now().Add(-10 * time.Minute)) }, -10 * time.Minute},
		{"is reset", func(c *dextest.Clock) { c.Advance(time.Hour); c.Reset() }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c dextest.Clock
			before := time.Now()
			tt.move(&c)
			got := c.Now()
			after := time.Now()
			// AdvanceTo and Set read the system clock after before was
			// taken, so the offset they leave may be short by that much.
			slack := after.Sub(before)
			assert.False(t, got.Before(before.Add(tt.offset-slack)), "%v is before %v", got, before.Add(tt.offset))
			assert.False(t, got.After(after.Add(tt.offset+slack)), "%v is after %v", got, after.Add(tt.offset))
		})
	}
}

func TestClockConcurrentUse(t *testing.T) {
	c := dextest.NewClock(time.Unix(0, 0))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	require.Equal(t, time.Unix(800, 0), c.Now())
}
