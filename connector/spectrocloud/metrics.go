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
	OutcomeOK               = "ok"
	OutcomeExpired          = "expired"
	OutcomeInvalidSignature = "invalid_signature"
	OutcomeInvalidToken     = "invalid_token"
	OutcomeDenied           = "denied"
	OutcomeUpstreamError    = "upstream_error"
	OutcomeError            = "error"
)

// Metrics are the connector's Prometheus metrics. One Metrics serves every
// spectrocloud connector of a server; the connector ID is a label. A nil
// *Metrics records nothing.
type Metrics struct {
	upstreamRequests *prometheus.CounterVec
	upstreamDuration *prometheus.HistogramVec
	logins           *prometheus.CounterVec
	refreshes        *prometheus.CounterVec
	jwksFetches      prometheus.Counter
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		upstreamRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dex_spectrocloud_upstream_requests_total",
			Help: "Requests to Palette by endpoint (discovery, jwks, token) and outcome (ok, error).",
		}, []string{"endpoint", "outcome"}),
		upstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dex_spectrocloud_upstream_request_duration_seconds",
			Help:    "Latency of requests to Palette by endpoint.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"endpoint"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dex_spectrocloud_logins_total",
			Help: "Sign-ins through Palette by connector and outcome (ok, expired, invalid_signature, invalid_token, denied, upstream_error, error).",
		}, []string{"connector", "outcome"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dex_spectrocloud_refreshes_total",
			Help: "Refreshes by re-validation of the stored Palette ID token, by connector and outcome.",
		}, []string{"connector", "outcome"}),
		jwksFetches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dex_spectrocloud_jwks_fetches_total",
			Help: "Fetches of Palette's signing keys (JWKS).",
		}),
	}
	for _, c := range []prometheus.Collector{m.upstreamRequests, m.upstreamDuration, m.logins, m.refreshes, m.jwksFetches} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) upstream(endpoint string, start time.Time, err error) {
	if m == nil {
		return
	}
	outcome := OutcomeOK
	if err != nil {
		outcome = OutcomeError
	}
	m.upstreamRequests.WithLabelValues(endpoint, outcome).Inc()
	m.upstreamDuration.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
}

func (m *Metrics) jwksFetch() {
	if m != nil {
		m.jwksFetches.Inc()
	}
}

func (m *Metrics) login(connectorID, outcome string) {
	if m != nil {
		m.logins.WithLabelValues(connectorID, outcome).Inc()
	}
}

func (m *Metrics) refresh(connectorID, outcome string) {
	if m != nil {
		m.refreshes.WithLabelValues(connectorID, outcome).Inc()
	}
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
		return OutcomeOK
	case errors.As(err, &expired):
		return OutcomeExpired
	case errors.As(err, &invalid):
		if invalid.Kind == KindInvalidSignature || invalid.Kind == KindUnknownKey {
			return OutcomeInvalidSignature
		}
		return OutcomeInvalidToken
	case errors.As(err, &upstream), errors.As(err, &catalog):
		return OutcomeUpstreamError
	case errors.As(err, &notIn), errors.As(err, &denied):
		return OutcomeDenied
	default:
		return OutcomeError
	}
}
