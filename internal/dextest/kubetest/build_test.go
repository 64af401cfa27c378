package kubetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A build with other GOFLAGS or another GOEXPERIMENT, which go build gets
// from the caller's environment, is cached apart.
func TestCacheKeyCoversBuildEnvironment(t *testing.T) {
	v := Version{Name: "1.34", Release: "v1.34.2", Dir: t.TempDir()}
	require.NoError(t, os.WriteFile(filepath.Join(v.Dir, "go.mod"), []byte("module example.com/kube\n\ngo 1.22\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(v.Dir, "go.sum"), nil, 0o600))
	key := func(goflags, goexperiment string) string {
		t.Setenv("GOFLAGS", goflags)
		t.Setenv("GOEXPERIMENT", goexperiment)
		k, err := cacheKey(t.Context(), v)
		require.NoError(t, err)
		return k
	}
	base := key("", "")
	assert.Equal(t, base, key("", ""), "the same environment")
	assert.NotEqual(t, base, key("-tags=kubetest", ""), "other GOFLAGS")
	assert.NotEqual(t, base, key("", "none"), "another GOEXPERIMENT")
}
