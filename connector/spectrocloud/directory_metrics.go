package spectrocloud

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/directory"
)

// directoryMetrics are the metrics of the connectors' directories, per
// connector.
type directoryMetrics struct {
	requests     *prometheus.CounterVec
	syncs        *prometheus.CounterVec
	syncDuration *prometheus.HistogramVec
	lastSync     *prometheus.GaugeVec
	users        *prometheus.GaugeVec
	teams        *prometheus.GaugeVec
	refusals     *prometheus.CounterVec
}

// syncBuckets are the buckets of the sync duration: 0.1 s to 10 minutes
// (a sync of 10,000 users at five requests per second takes about 45 s).
var syncBuckets = []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

func newDirectoryMetrics(reg prometheus.Registerer) (*directoryMetrics, error) {
	labels := func(more ...string) []string { return append([]string{"connector"}, more...) }
	m := &directoryMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dex_spectrocloud_directory_requests_total",
			Help: "Requests to Palette's user and team API, by connector, endpoint (users, teams, users_summary) and outcome (ok, rate_limited, unauthorized, forbidden, error)."},
			labels("endpoint", "outcome")),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dex_spectrocloud_directory_syncs_total",
			Help: "Reads of Palette's directory, by connector and outcome (ok, error)."}, labels("outcome")),
		syncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dex_spectrocloud_directory_sync_duration_seconds",
			Help: "Time a successful read of Palette's directory takes, by connector.", Buckets: syncBuckets}, labels()),
		lastSync: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dex_spectrocloud_directory_last_sync_timestamp_seconds",
			Help: "When the last successful read of Palette's directory started, in Unix seconds, by connector."}, labels()),
		users: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dex_spectrocloud_directory_users",
			Help: "Users in the copy of Palette's directory in force, by connector and status (active, disabled, deleted)."}, labels("status")),
		teams: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dex_spectrocloud_directory_teams",
			Help: "Teams in the copy of Palette's directory in force, by connector."}, labels()),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dex_spectrocloud_directory_refusals_total",
			Help: "Sign-ins, refreshes and token exchanges refused by Palette's directory, by connector and reason (disabled, deleted, absent, ambiguous, stale)."},
			labels("reason")),
	}
	for _, c := range []prometheus.Collector{m.requests, m.syncs, m.syncDuration, m.lastSync, m.users, m.teams, m.refusals} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (c *connectorMetrics) directoryOff() bool { return c.off() || c.m.directory == nil }

// directoryRequest observes one request to the user and team API; it is the
// directory client's Config.Observe.
func (c *connectorMetrics) directoryRequest(endpoint, outcome string, _ time.Duration) {
	if !c.directoryOff() {
		c.m.directory.requests.WithLabelValues(c.id, endpoint, outcome).Inc()
	}
}

// directorySync records a sync: its outcome, and for a successful one what
// it holds.
func (c *connectorMetrics) directorySync(s *directory.Snapshot, err error) {
	if c.directoryOff() {
		return
	}
	d := c.m.directory
	if err != nil {
		d.syncs.WithLabelValues(c.id, outcomeError).Inc()
		return
	}
	d.syncs.WithLabelValues(c.id, outcomeOK).Inc()
	d.syncDuration.WithLabelValues(c.id).Observe(s.Stats.Duration.Seconds())
	d.lastSync.WithLabelValues(c.id).Set(float64(s.Taken.UnixNano()) / 1e9)
	d.users.WithLabelValues(c.id, "active").Set(float64(s.Stats.Active))
	d.users.WithLabelValues(c.id, "disabled").Set(float64(s.Stats.Disabled))
	d.users.WithLabelValues(c.id, "deleted").Set(float64(s.Stats.Deleted))
	d.teams.WithLabelValues(c.id).Set(float64(s.Stats.Teams))
}

func (c *connectorMetrics) directoryRefusal(reason string) {
	if !c.directoryOff() {
		c.m.directory.refusals.WithLabelValues(c.id, reason).Inc()
	}
}
