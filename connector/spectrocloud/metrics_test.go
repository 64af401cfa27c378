package spectrocloud

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/resolver"
)

// Every series carries the connector's ID, so that tenants (one connector
// each) can be told apart; token exchanges and catalog requests are counted
// and timed.
func TestMetricsPerConnector(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics, err := newMetricSet(reg)
	require.NoError(t, err)
	cat := newCatalog(t)
	cat.addUser("jdoe", "jane@example.com", "platform")

	open := func(f *fixture, id string) *spectroConnector {
		f.cfg.metrics = metrics
		c, err := f.cfg.Open(id, f.logger(slog.DiscardHandler))
		require.NoError(t, err)
		return c.(*spectroConnector)
	}
	a := newFixture(t)
	connA := open(a, "tenant-a")
	b := newFixture(t)
	b.cfg.SignIn = &resolver.Config{
		Resolvers: []resolver.ResolverConfig{{Resolver: resolver.EmailMatchingUserEntityProfileEmail}},
		Catalog:   &resolver.CatalogConfig{BaseURL: cat.srv.URL, Token: "catalog-token"},
	}
	connB := open(b, "tenant-b")

	_, err = a.login(connA, allScopes)
	require.NoError(t, err)
	_, err = connA.TokenIdentity(context.Background(), tokenTypeIDToken, a.tenant.MintIDToken(a.tenant.Claims(jane, testClientID, "")))
	require.NoError(t, err)
	_, err = connA.TokenIdentity(context.Background(), tokenTypeIDToken, "junk")
	require.Error(t, err)
	_, err = b.login(connB, allScopes)
	require.NoError(t, err)

	families, err := reg.Gather()
	require.NoError(t, err)
	byName := map[string]*dto.MetricFamily{}
	for _, f := range families {
		byName[f.GetName()] = f
		require.True(t, strings.HasPrefix(f.GetName(), "dex_spectrocloud_"), f.GetName())
		for _, m := range f.GetMetric() {
			assert.NotEmpty(t, labelValue(m, "connector"), "%s has a connector label", f.GetName())
		}
	}
	for _, name := range []string{
		"dex_spectrocloud_upstream_requests_total", "dex_spectrocloud_upstream_request_duration_seconds",
		"dex_spectrocloud_logins_total", "dex_spectrocloud_token_exchanges_total",
		"dex_spectrocloud_token_exchange_duration_seconds", "dex_spectrocloud_catalog_requests_total",
		"dex_spectrocloud_catalog_request_duration_seconds", "dex_spectrocloud_jwks_fetches_total",
	} {
		require.Contains(t, byName, name)
	}

	value := func(name string, labels map[string]string) float64 {
		var sum float64
		for _, m := range byName[name].GetMetric() {
			if matches(m, labels) {
				sum += m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
			}
		}
		return sum
	}
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"dex_spectrocloud_logins_total", map[string]string{"connector": "tenant-a", "outcome": "ok"}, 1},
		{"dex_spectrocloud_logins_total", map[string]string{"connector": "tenant-b", "outcome": "ok"}, 1},
		{"dex_spectrocloud_token_exchanges_total", map[string]string{"connector": "tenant-a", "outcome": "ok"}, 1},
		{"dex_spectrocloud_token_exchanges_total", map[string]string{"connector": "tenant-a", "outcome": "invalid_token"}, 1},
		{"dex_spectrocloud_token_exchanges_total", map[string]string{"connector": "tenant-b"}, 0},
		{"dex_spectrocloud_token_exchange_duration_seconds", map[string]string{"connector": "tenant-a"}, 2},
		{"dex_spectrocloud_catalog_requests_total", map[string]string{"connector": "tenant-b", "outcome": "ok"}, 1},
		{"dex_spectrocloud_catalog_request_duration_seconds", map[string]string{"connector": "tenant-b"}, 1},
		{"dex_spectrocloud_catalog_requests_total", map[string]string{"connector": "tenant-a"}, 0},
		{"dex_spectrocloud_jwks_fetches_total", map[string]string{"connector": "tenant-a"}, float64(a.tenant.Requests(spectrotest.EndpointJWKS))},
		{"dex_spectrocloud_upstream_requests_total", map[string]string{"connector": "tenant-b", "endpoint": "token"}, float64(b.tenant.Requests(spectrotest.EndpointToken))},
		{"dex_spectrocloud_upstream_requests_total", map[string]string{"connector": "tenant-a", "endpoint": "discovery"}, float64(a.tenant.Requests(spectrotest.EndpointDiscovery))},
	} {
		assert.Equal(t, tt.want, value(tt.name, tt.labels), "%s%v", tt.name, tt.labels)
	}
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func matches(m *dto.Metric, labels map[string]string) bool {
	for k, v := range labels {
		if labelValue(m, k) != v {
			return false
		}
	}
	return true
}

// Latencies are wall durations, whatever the connector's clock says: a
// server whose clock a test moved an hour ahead records the seconds its
// requests to Palette took, not the hour.
func TestLatencyIsWallTime(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics, err := newMetricSet(reg)
	require.NoError(t, err)
	f := newFixture(t, func(c *Config) { c.metrics = metrics })
	f.clock.Advance(time.Hour) // Palette's clock too: its tokens are valid
	c := f.open()
	_, err = f.login(c, allScopes)
	require.NoError(t, err)
	_, err = c.TokenIdentity(context.Background(), tokenTypeIDToken, f.tenant.MintIDToken(f.tenant.Claims(jane, testClientID, "")))
	require.NoError(t, err)

	families, err := reg.Gather()
	require.NoError(t, err)
	seen := 0
	for _, fam := range families {
		for _, m := range fam.GetMetric() {
			if h := m.GetHistogram(); h != nil && h.GetSampleCount() > 0 {
				seen++
				assert.GreaterOrEqual(t, h.GetSampleSum(), 0.0, "%s%v", fam.GetName(), m.GetLabel())
				assert.Less(t, h.GetSampleSum(), 60.0, "%s%v", fam.GetName(), m.GetLabel())
			}
		}
	}
	assert.GreaterOrEqual(t, seen, 4, "discovery, jwks, token and token exchange are timed")
}
