package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

// testMetrics signs users in and out through the binary, then scrapes its
// telemetry /metrics: the connector's metrics are registered on Dex's
// registry and count what happened, in agreement with what Palette saw.
func testMetrics(t *testing.T, bin string) {
	ctx := context.Background()
	const id = "palette"
	p := StartPalette(t)
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		p.AddUser(u + "@example.com")
	}
	httpAddr, telemetryAddr := harness.FreeAddr(t), harness.FreeAddr(t)
	issuer := "http://" + httpAddr + "/dex"
	cfg := DexConfig{Telemetry: true, LogLevel: "info", Connectors: []dextest.ConnectorFunc{p.SpectroCloud(id, map[string]any{"upstreamTimeout": "2s"})}}
	StartProcess(t, bin, cfg.WriteConfig(t, issuer, httpAddr, telemetryAddr), issuer, telemetryAddr)
	rp, err := dextest.NewRelyingParty(ctx, issuer, ClientID, ClientSecret, RPRedirect)
	require.NoError(t, err)

	// Three sign-ins and five refreshes succeed.
	var rt string
	for _, u := range []string{"alice", "bob", "carol"} {
		s, err := rp.SignIn(ctx, NewAgent(u+"@example.com", nil))
		require.NoError(t, err)
		rt = s.OAuth2.RefreshToken
	}
	for range 5 {
		r, err := rp.Refresh(ctx, rt)
		require.NoError(t, err)
		rt = r.OAuth2.RefreshToken
	}
	// Palette's token endpoint fails one sign-in...
	p.Tenant.SetFault(spectrotest.EndpointToken, spectrotest.Fault{Status: http.StatusServiceUnavailable})
	_, err = rp.SignIn(ctx, NewAgent("dave@example.com", nil))
	var pageErr *dextest.PageError
	require.ErrorAs(t, err, &pageErr)
	p.Tenant.ClearFaults()
	// ...and a Palette clock 13 hours behind issues an expired ID token.
	p.Tenant.SetNow(func() time.Time { return time.Now().Add(-13 * time.Hour) })
	_, err = rp.SignIn(ctx, NewAgent("dave@example.com", nil))
	require.ErrorAs(t, err, &pageErr)
	p.Tenant.SetNow(nil)

	m := scrape(t, "http://"+telemetryAddr+"/metrics")

	types := map[string]dto.MetricType{
		"dex_spectrocloud_logins_total":                      dto.MetricType_COUNTER,
		"dex_spectrocloud_refreshes_total":                   dto.MetricType_COUNTER,
		"dex_spectrocloud_upstream_requests_total":           dto.MetricType_COUNTER,
		"dex_spectrocloud_upstream_request_duration_seconds": dto.MetricType_HISTOGRAM,
		"dex_spectrocloud_jwks_fetches_total":                dto.MetricType_COUNTER,
	}
	for name, typ := range types {
		f := m[name]
		if assert.NotNil(t, f, "%s is served", name) {
			assert.Equal(t, typ, f.GetType(), name)
			assert.NotEmpty(t, f.GetHelp(), name)
		}
	}

	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"dex_spectrocloud_logins_total", map[string]string{"connector": id, "outcome": "ok"}, 3},
		{"dex_spectrocloud_logins_total", map[string]string{"connector": id, "outcome": "upstream_error"}, 1},
		{"dex_spectrocloud_logins_total", map[string]string{"connector": id, "outcome": "expired"}, 1},
		{"dex_spectrocloud_refreshes_total", map[string]string{"connector": id, "outcome": "ok"}, 5},
		{"dex_spectrocloud_refreshes_total", map[string]string{"connector": id}, 5},
		{"dex_spectrocloud_upstream_requests_total", map[string]string{"connector": id, "endpoint": "token", "outcome": "ok"}, 4},
		{"dex_spectrocloud_upstream_requests_total", map[string]string{"connector": id, "endpoint": "token", "outcome": "error"}, 1},
		// Palette saw exactly the requests the metrics count.
		{"dex_spectrocloud_upstream_requests_total", map[string]string{"connector": id, "endpoint": "token"}, float64(p.Requests(spectrotest.EndpointToken))},
		{"dex_spectrocloud_upstream_requests_total", map[string]string{"connector": id, "endpoint": "discovery", "outcome": "ok"}, float64(p.Requests(spectrotest.EndpointDiscovery))},
		{"dex_spectrocloud_upstream_requests_total", map[string]string{"connector": id, "endpoint": "jwks", "outcome": "ok"}, float64(p.Requests(spectrotest.EndpointJWKS))},
		{"dex_spectrocloud_jwks_fetches_total", map[string]string{"connector": id}, float64(p.Requests(spectrotest.EndpointJWKS))},
		{"dex_spectrocloud_jwks_fetches_total", map[string]string{"connector": id}, 1},
		// One latency sample per request.
		{"dex_spectrocloud_upstream_request_duration_seconds", map[string]string{"connector": id, "endpoint": "token"}, 5},
		{"dex_spectrocloud_upstream_request_duration_seconds", map[string]string{"connector": id, "endpoint": "jwks"}, 1},
		{"dex_spectrocloud_upstream_request_duration_seconds", map[string]string{"connector": id, "endpoint": "discovery"}, 1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, sampleValue(m, tt.name, tt.labels), "%s%v", tt.name, tt.labels)
	}
	for _, ep := range []string{"token", "jwks", "discovery"} {
		sum := histogramSum(m, "dex_spectrocloud_upstream_request_duration_seconds", map[string]string{"connector": id, "endpoint": ep})
		assert.Greater(t, sum, 0.0, "%s latency", ep)
		assert.Less(t, sum, 10.0, "%s latency on loopback", ep)
	}
	// Dex's own metrics are on the same registry.
	assert.GreaterOrEqual(t, sampleValue(m, "http_requests_total", map[string]string{"handler": "/token", "code": "200"}), 8.0)
	assert.Equal(t, 1.0, sampleValue(m, "dex_spectro_build_info", nil))
}

// scrape fetches and parses a Prometheus text exposition.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return families
}

// sampleValue sums, over the series of a family whose labels include
// labels, the counter or gauge values, or the histogram sample counts.
func sampleValue(m map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	var total float64
	for _, metric := range matching(m, name, labels) {
		switch {
		case metric.Counter != nil:
			total += metric.Counter.GetValue()
		case metric.Gauge != nil:
			total += metric.Gauge.GetValue()
		case metric.Histogram != nil:
			total += float64(metric.Histogram.GetSampleCount())
		}
	}
	return total
}

// histogramSum sums the sample sums of matching histogram series.
func histogramSum(m map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	var total float64
	for _, metric := range matching(m, name, labels) {
		total += metric.GetHistogram().GetSampleSum()
	}
	return total
}

func matching(m map[string]*dto.MetricFamily, name string, labels map[string]string) []*dto.Metric {
	f := m[name]
	if f == nil {
		return nil
	}
	var out []*dto.Metric
	for _, metric := range f.GetMetric() {
		have := make(map[string]string)
		for _, l := range metric.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		ok := true
		for k, v := range labels {
			if have[k] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, metric)
		}
	}
	return out
}
