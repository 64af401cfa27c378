package demo

import (
	"bytes"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestQuietStartupDropsOnlyTheStartupNoise(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger, started := newQuietStartup(slog.New(slog.NewTextHandler(&buf, nil)))
	logger = logger.With("component", "dex")

	logger.Error(startupNoise, "err", "no signing key found")
	logger.Error("failed to authenticate")
	assert.NotContains(t, buf.String(), startupNoise)
	assert.Contains(t, buf.String(), "failed to authenticate")
	assert.Contains(t, buf.String(), "component=dex")

	started.Store(true)
	logger.Error(startupNoise)
	assert.Contains(t, buf.String(), startupNoise, "after start-up it is a real problem")
}

func TestFriendlyDurations(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "0s", friendlyDuration(0))
	assert.Equal(t, "2m", friendlyDuration(2*time.Minute))
	assert.Equal(t, "1h 2m 5s", friendlyDuration(3725*time.Second))
	assert.Equal(t, "in 1m 5s", relative(65*time.Second))
	assert.Equal(t, "3s ago", relative(-3*time.Second))
}
