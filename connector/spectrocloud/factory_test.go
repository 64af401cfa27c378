package spectrocloud

import (
	"encoding/json"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A configuration of NewFactory's, decoded from JSON as Dex decodes it,
// opens a connector that records its sign-ins on the factory's registry; the
// same JSON decoded into a Config made any other way records nothing, and
// no key of the file can make it record.
func TestFactoryConfigsRecordMetrics(t *testing.T) {
	f := newFixture(t)
	raw, err := json.Marshal(f.cfg)
	require.NoError(t, err)
	signIn := func(cfg *Config, id string) {
		t.Helper()
		require.NoError(t, json.Unmarshal(raw, cfg))
		c, err := cfg.Open(id, f.logger(nil))
		require.NoError(t, err)
		_, err = f.login(c.(*spectroConnector), allScopes)
		require.NoError(t, err)
	}
	logins := func(reg *prometheus.Registry, id string) float64 {
		t.Helper()
		families, err := reg.Gather()
		require.NoError(t, err)
		var n float64
		for _, fam := range families {
			for _, m := range fam.GetMetric() {
				if fam.GetName() == "dex_spectrocloud_logins_total" && labelValue(m, "connector") == id {
					n += m.GetCounter().GetValue()
				}
			}
		}
		return n
	}

	reg := prometheus.NewRegistry()
	factory, err := NewFactory(reg)
	require.NoError(t, err)
	signIn(factory(), "from-factory")
	signIn(&Config{}, "decoded-elsewhere")
	assert.Equal(t, float64(1), logins(reg, "from-factory"))
	assert.Zero(t, logins(reg, "decoded-elsewhere"))

	var withKey map[string]any
	require.NoError(t, json.Unmarshal(raw, &withKey))
	withKey["metrics"] = map[string]any{}
	data, err := json.Marshal(withKey)
	require.NoError(t, err)
	require.ErrorContains(t, json.Unmarshal(data, &Config{}), `unknown key "metrics"`)

	_, err = NewFactory(reg)
	require.Error(t, err, "the metrics are registered once per registry")
	none, err := NewFactory(nil)
	require.NoError(t, err)
	signIn(none(), "no-registry")
}
