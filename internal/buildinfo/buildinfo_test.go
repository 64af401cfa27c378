package buildinfo

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestReleaseName(t *testing.T) {
	tests := map[string]string{
		dexReleaseModuleVersion:              DexRelease,
		"v2.45.1":                            DexRelease,
		"unknown":                            DexRelease,
		"v0.0.0-20270101000000-0123456789ab": "v0.0.0-20270101000000-0123456789ab",
	}
	for in, want := range tests {
		assert.Equal(t, want, releaseName(in), in)
	}
}

func TestRead(t *testing.T) {
	info := Read()
	assert.Equal(t, Version, info.Version)
	assert.Equal(t, DexRelease, info.DexVersion)
	assert.NotEmpty(t, info.GoVersion)
	assert.Contains(t, info.String(), "Dex Version: "+DexRelease)
	assert.Contains(t, info.APIVersion(), DexRelease)
}
