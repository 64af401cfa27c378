package main

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// chartSelector is the chart's dex.selectorLabels for a release named dex:
// the labels its PodDisruptionBudget selects and a spread constraint must
// match.
var chartSelector = map[string]any{"app.kubernetes.io/name": "dex", "app.kubernetes.io/instance": "dex"}

// haValues is the part of examples/helm/values-ha.yaml the tests read.
type haValues struct {
	ReplicaCount        int `json:"replicaCount"`
	PodDisruptionBudget struct {
		Enabled      bool `json:"enabled"`
		MinAvailable int  `json:"minAvailable"`
	} `json:"podDisruptionBudget"`
	TopologySpreadConstraints []struct {
		TopologyKey   string `json:"topologyKey"`
		LabelSelector struct {
			MatchLabels map[string]any `json:"matchLabels"`
		} `json:"labelSelector"`
	} `json:"topologySpreadConstraints"`
	Strategy struct {
		RollingUpdate struct {
			MaxUnavailable int `json:"maxUnavailable"`
		} `json:"rollingUpdate"`
	} `json:"strategy"`
	Config map[string]any `json:"config"`
}

// The HA values use only the chart's keys and run two replicas that a
// drain or an upgrade never takes down together, on shared storage, with
// a reuse interval for clients that refresh at once.
func TestHelmHAValues(t *testing.T) {
	v, raw := readValues[haValues](t, "values-ha.yaml")
	for key := range raw {
		assert.Contains(t, chartValueKeys, key, "the chart has no value %q", key)
	}
	assert.GreaterOrEqual(t, v.ReplicaCount, 2)
	assert.True(t, v.PodDisruptionBudget.Enabled)
	assert.Equal(t, 1, v.PodDisruptionBudget.MinAvailable)
	assert.Zero(t, v.Strategy.RollingUpdate.MaxUnavailable, "an upgrade starts a new replica before it stops one")
	require.NotEmpty(t, v.TopologySpreadConstraints)
	assert.Equal(t, "kubernetes.io/hostname", v.TopologySpreadConstraints[0].TopologyKey)
	for _, c := range v.TopologySpreadConstraints {
		assert.Equal(t, chartSelector, c.LabelSelector.MatchLabels, "the constraint selects the chart's pods")
	}
	storage, _ := v.Config["storage"].(map[string]any)
	assert.Equal(t, "postgres", storage["type"])
	sc, _ := storage["config"].(map[string]any)
	assert.Equal(t, "$POSTGRES_PASSWORD", sc["password"], "the database password comes from the environment")
	expiry, _ := v.Config["expiry"].(map[string]any)
	rt, _ := expiry["refreshTokens"].(map[string]any)
	assert.NotEmpty(t, rt["reuseInterval"])
}

// Two servers started with the chart's args from the HA values' config,
// on one PostgreSQL database, pass the chart's probes and serve one issuer
// with one set of signing keys. Changed for a test machine, and only
// these: loopback addresses, the test database (without TLS), and an
// emulated Palette console.
func TestHelmHAValuesServe(t *testing.T) {
	db := dextest.NewPostgres(t)
	v, _ := readValues[haValues](t, "values-ha.yaml")
	palette := spectrotest.NewServer()
	t.Cleanup(palette.Close)

	cfg := v.Config
	storage := cfg["storage"].(map[string]any)["config"].(map[string]any)
	storage["port"], storage["database"], storage["user"] = db.Port, db.Database, db.User
	storage["ssl"] = map[string]any{"mode": db.SSLMode}
	conn := valuesConnector(cfg)
	palette.AddTenant(conn["tenant"].(string))
	conn["consoleURL"] = palette.URL

	var keys []string
	for range v.ReplicaCount {
		srv := startChart(t, cfg, false, false, "POSTGRES_HOST="+db.Host, "POSTGRES_PASSWORD="+db.Password,
			"SPECTROCLOUD_CLIENT_ID=dex", "SPECTROCLOUD_CLIENT_SECRET=secret", "BACKSTAGE_CLIENT_SECRET=backstage-secret")
		web := "http://" + srv.addrs["http"]
		var discovery struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		require.NoError(t, json.Unmarshal(getBody(t, web+"/.well-known/openid-configuration"), &discovery))
		assert.Equal(t, cfg["issuer"], discovery.Issuer)
		keys = append(keys, string(getBody(t, web+"/keys")))
		t.Cleanup(func() { stopWithSIGTERM(t, srv.cmd, srv.stderr, "replica") })
	}
	assert.Equal(t, keys[0], keys[1], "the replicas sign with the keys they share in the database")
}

// getBody returns the body of a successful GET.
func getBody(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return body
}
