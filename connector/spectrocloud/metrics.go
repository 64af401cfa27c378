package spectrocloud

import (
	"errors"
	"time"

	"github.com/dexidp/dex/connector"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dex-spectro/dex-spectro/resolver"
)

// Outcomes of sign-ins and refreshes, as reported in metrics and logs.
const (
	outcomeOK               = "ok"
	outcomeExpired          = "expired"
	outcomeInvalidSignature = "invalid_signature"
	outcomeInvalidToken     = "invalid_token"
	outcomeDenied           = "denied"
	outcomeUpstreamError    = "upstream_error"
	outcomeError            = "error"
)

// metricSet holds the connectors' Prometheus metrics. One set serves every
// spectrocloud connector of a process (NewFactory registers it); every
// series carries the connector ID as its "connector" label, so that tenants
// (one connector each) can be told apart. A nil *metricSet records nothing.
type metricSet struct {
	upstreamRequests *prometheus.CounterVec
	upstreamDuration *prometheus.HistogramVec
	logins           *prometheus.CounterVec
	refreshes        *prometheus.CounterVec
	exchanges        *prometheus.CounterVec
	exchangeDuration *prometheus.HistogramVec
	catalogRequests  *prometheus.CounterVec
	catalogDuration  *prometheus.HistogramVec
	jwksFetches      *prometheus.CounterVec
	directory        *directoryMetrics
}

// latencyBuckets are the buckets of every duration histogram: 5 ms to 10 s.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// newMetricSet creates the metrics and registers them on reg.
func newMetricSet(reg prometheus.Registerer) (*metricSet, error) {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, append([]string{"connector"}, labels...))
	}
	histogram := func(name, help string, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: latencyBuckets}, append([]string{"connector"}, labels...))
	}
	m := &metricSet{
		upstreamRequests: counter("dex_spectrocloud_upstream_requests_total",
			"Requests to Palette by connector, endpoint (discovery, jwks, token) and outcome (ok, error).", "endpoint", "outcome"),
		upstreamDuration: histogram("dex_spectrocloud_upstream_request_duration_seconds",
			"Latency of requests to Palette by connector and endpoint.", "endpoint"),
		logins: counter("dex_spectrocloud_logins_total",
			"Sign-ins through Palette by connector and outcome (ok, expired, invalid_signature, invalid_token, denied, upstream_error, error).", "outcome"),
		refreshes: counter("dex_spectrocloud_refreshes_total",
			"Refreshes by re-validation of the stored Palette ID token, by connector and outcome.", "outcome"),
		exchanges: counter("dex_spectrocloud_token_exchanges_total",
			"Token exchanges of Palette ID tokens, by connector and outcome.", "outcome"),
		exchangeDuration: histogram("dex_spectrocloud_token_exchange_duration_seconds",
			"Time the connector takes for a token exchange (verification, claims, resolvers), by connector."),
		catalogRequests: counter("dex_spectrocloud_catalog_requests_total",
			"Requests to the Backstage catalog (cached answers not counted), by connector and outcome (ok, error).", "outcome"),
		catalogDuration: histogram("dex_spectrocloud_catalog_request_duration_seconds",
			"Latency of requests to the Backstage catalog, by connector."),
		jwksFetches: counter("dex_spectrocloud_jwks_fetches_total",
			"Fetches of Palette's signing keys (JWKS), by connector."),
	}
	for _, c := range []prometheus.Collector{m.upstreamRequests, m.upstreamDuration, m.logins, m.refreshes,
		m.exchanges, m.exchangeDuration, m.catalogRequests, m.catalogDuration, m.jwksFetches} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	directory, err := newDirectoryMetrics(reg)
	if err != nil {
		return nil, err
	}
	m.directory = directory
	return m, nil
}

// connectorMetrics records the measurements of one connector. A nil
// *connectorMetrics, or one without a metricSet, records nothing.
type connectorMetrics struct {
	m  *metricSet
	id string
}

func (m *metricSet) forConnector(id string) *connectorMetrics {
	return &connectorMetrics{m: m, id: id}
}

func (c *connectorMetrics) off() bool { return c == nil || c.m == nil }

func okOrError(err error) string {
	if err != nil {
		return outcomeError
	}
	return outcomeOK
}

func (c *connectorMetrics) upstream(endpoint string, start time.Time, err error) {
	if c.off() {
		return
	}
	c.m.upstreamRequests.WithLabelValues(c.id, endpoint, okOrError(err)).Inc()
	c.m.upstreamDuration.WithLabelValues(c.id, endpoint).Observe(time.Since(start).Seconds())
}

func (c *connectorMetrics) jwksFetch() {
	if !c.off() {
		c.m.jwksFetches.WithLabelValues(c.id).Inc()
	}
}

func (c *connectorMetrics) login(outcome string) {
	if !c.off() {
		c.m.logins.WithLabelValues(c.id, outcome).Inc()
	}
}

func (c *connectorMetrics) refresh(outcome string) {
	if !c.off() {
		c.m.refreshes.WithLabelValues(c.id, outcome).Inc()
	}
}

func (c *connectorMetrics) exchange(outcome string, start time.Time) {
	if c.off() {
		return
	}
	c.m.exchanges.WithLabelValues(c.id, outcome).Inc()
	c.m.exchangeDuration.WithLabelValues(c.id).Observe(time.Since(start).Seconds())
}

// catalog observes one request to the Backstage catalog; it is the
// resolver chain's Options.ObserveCatalog.
func (c *connectorMetrics) catalog(err error, elapsed time.Duration) {
	if c.off() {
		return
	}
	c.m.catalogRequests.WithLabelValues(c.id, okOrError(err)).Inc()
	c.m.catalogDuration.WithLabelValues(c.id).Observe(elapsed.Seconds())
}

// outcomeOf classifies an error for metrics and logs.
func outcomeOf(err error) string {
	var (
		expired  *TokenExpiredError
		invalid  *InvalidTokenError
		upstream *UpstreamError
		catalog  *resolver.CatalogError
		notIn    *connector.UserNotInRequiredGroupsError
		denied   *resolver.DeniedError
	)
	switch {
	case err == nil:
		return outcomeOK
	case errors.As(err, &expired):
		return outcomeExpired
	case errors.As(err, &invalid):
		if invalid.Kind == KindInvalidSignature || invalid.Kind == KindUnknownKey {
			return outcomeInvalidSignature
		}
		return outcomeInvalidToken
	case errors.As(err, &upstream), errors.As(err, &catalog), isStaleDirectory(err):
		return outcomeUpstreamError
	case errors.As(err, &notIn), errors.As(err, &denied), isFinalDirectoryRefusal(err):
		return outcomeDenied
	default:
		return outcomeError
	}
}
