package main

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The version command lists the security fixes carried on top of the Dex
// release, each with the Dex pull request that fixes it upstream (or
// saying Dex has not fixed it yet).
func TestVersionListsFixes(t *testing.T) {
	stdout, _, err := run(t, "version")
	require.NoError(t, err)
	assert.Contains(t, stdout, "Security fixes carried on top of Dex v2.45.1:")
	for _, pr := range []int{4927, 4928} {
		assert.Contains(t, stdout, fmt.Sprintf("dexidp/dex#%d: ", pr))
	}
	assert.Contains(t, stdout, "device callback accepts only an auth code of the device request's client")
	assert.Contains(t, stdout, "grpc.tlsClientCA")
	assert.Contains(t, stdout, "not fixed in dexidp/dex yet: device flow completes only in a browser that entered the user code")
}
