package harness

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// Load renders cfg and loads it strictly, as `dex-spectro serve` loads its
// file; the test fails at once if the configuration does not load or loads
// with warnings.
func Load(t testing.TB, cfg dextest.DexConfig) *config.Config {
	t.Helper()
	data, err := cfg.YAML()
	require.NoError(t, err, "render the configuration")
	loaded, warnings, err := config.Load(data, config.Options{Strict: true})
	require.NoError(t, err, "load the configuration:\n%s", data)
	require.Empty(t, warnings, "warnings loading the configuration")
	return loaded
}

// LoadFile loads the configuration file at path strictly, as
// `dex-spectro serve` does; the test fails at once if it does not load or
// loads with warnings.
func LoadFile(t testing.TB, path string) *config.Config {
	t.Helper()
	cfg, warnings, err := config.LoadFile(path, config.Options{Strict: true})
	require.NoError(t, err, "load %s", path)
	require.Empty(t, warnings, "warnings loading %s", path)
	return cfg
}
