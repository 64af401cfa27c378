package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
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

func readHAValues(t *testing.T) (haValues, map[string]any) {
	t.Helper()
	data, err := os.ReadFile("../../examples/helm/values-ha.yaml")
	require.NoError(t, err)
	var v haValues
	require.NoError(t, yaml.Unmarshal(data, &v))
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal(data, &raw))
	return v, raw
}

// The HA values use only the chart's keys and run two replicas that a
// drain or an upgrade never takes down together, on shared storage, with
// a reuse interval for clients that refresh at once.
func TestHelmHAValues(t *testing.T) {
	v, raw := readHAValues(t)
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
	v, _ := readHAValues(t)
	palette := spectrotest.NewServer()
	t.Cleanup(palette.Close)

	cfg := v.Config
	storage := cfg["storage"].(map[string]any)["config"].(map[string]any)
	storage["port"], storage["database"], storage["user"] = db.Port, db.Database, db.User
	storage["ssl"] = map[string]any{"mode": db.SSLMode}
	conn := cfg["connectors"].([]any)[0].(map[string]any)["config"].(map[string]any)
	palette.AddTenant(conn["tenant"].(string))
	conn["consoleURL"] = palette.URL
	out, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.yaml"), out, 0o600))

	var keys []string
	for replica := range v.ReplicaCount {
		addrs := map[string]string{}
		addr := func(port string) string {
			if addrs[port] == "" {
				addrs[port] = harness.FreeAddr(t)
			}
			return addrs[port]
		}
		args := chartArgs(false, false, addr)
		args[len(args)-1] = filepath.Join(dir, "config.yaml")
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), runMainEnv+"=1", "TMPDIR="+t.TempDir(),
			"POSTGRES_HOST="+db.Host, "POSTGRES_PASSWORD="+db.Password,
			"SPECTROCLOUD_CLIENT_ID=dex", "SPECTROCLOUD_CLIENT_SECRET=secret", "BACKSTAGE_CLIENT_SECRET=backstage-secret")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill() })

		telemetry := "http://" + addrs["telemetry"]
		require.Eventually(t, func() bool { return get(t, telemetry+chartReadiness) == http.StatusOK },
			30*time.Second, 20*time.Millisecond, "replica %d: readiness probe; stderr:\n%s", replica, &stderr)
		assert.Equal(t, http.StatusOK, get(t, telemetry+chartLiveness), "replica %d: liveness probe", replica)

		web := "http://" + addrs["http"]
		var discovery struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		require.NoError(t, json.Unmarshal(getBody(t, web+"/.well-known/openid-configuration"), &discovery))
		assert.Equal(t, cfg["issuer"], discovery.Issuer)
		keys = append(keys, string(getBody(t, web+"/keys")))
		t.Cleanup(func() { stopWithSIGTERM(t, cmd, &stderr, "replica") })
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
