package serve

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConflictMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newConflictMetrics(reg)
	require.NoError(t, err)
	m.observe("UpdateRefreshToken", 3, true)
	m.observe("UpdateRefreshToken", 25, false)
	m.observe("UpdateOfflineSessions", 2, true)

	assert.InDelta(t, 1, testutil.ToFloat64(m.conflicts.WithLabelValues("UpdateRefreshToken", "retried")), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(m.conflicts.WithLabelValues("UpdateRefreshToken", "failed")), 0)
	assert.InDelta(t, 2+24, testutil.ToFloat64(m.retries.WithLabelValues("UpdateRefreshToken")), 0)
	assert.InDelta(t, 1, testutil.ToFloat64(m.retries.WithLabelValues("UpdateOfflineSessions")), 0)
	n, err := testutil.GatherAndCount(reg, "dex_spectro_storage_conflicts_total", "dex_spectro_storage_conflict_retries_total")
	require.NoError(t, err)
	assert.Equal(t, 5, n)
}
