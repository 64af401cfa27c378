package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

const checkAPIKey = "palette-api-key-0123456789abcdef"

// check reads the directory of a connector with a directory block: it
// verifies the API key and its permissions and prints the counts, never the
// key.
func TestCheckReadsTheDirectory(t *testing.T) {
	palette, tenant := newPalette(t)
	tenant.AddUser(spectrotest.User{Email: "jane@example.com", Groups: []string{"platform"}})
	tenant.AddUser(spectrotest.User{Email: "bob@example.com", Groups: []string{"platform", "ops"}})
	tenant.DisableUser("bob@example.com")
	t.Setenv("PALETTE_API_KEY", checkAPIKey)
	path := checkConfig(palette.URL, dextest.TenantUID, "directory: {apiKey: $PALETTE_API_KEY, requestsPerSecond: 10}").WriteFile(t)

	tenant.AddAPIKey(checkAPIKey)
	stdout, stderr, err := run(t, "check", path)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, `connector "palette" (SpectroCloud): OK`)
	assert.Contains(t, stdout, "  directory:              "+palette.URL+", read with the API key: 2 users (1 active, 1 disabled, 0 deleted), 2 teams\n")
	assert.Contains(t, stdout, "  directory read:         2 requests (0 answered 429) in ")

	tenant.AddAPIKey(checkAPIKey, spectrotest.APIPermissionUsers)
	stdout, stderr, err = run(t, "check", path)
	require.Error(t, err)
	assert.Contains(t, stdout, `connector "palette" (SpectroCloud): FAILED: spectrocloud: directory: reading `+palette.URL+
		`: /v1/teams answered HTTP 403: the API key's user may not read it: give that user a read-only tenant role such as Tenant Viewer`)
	assert.NotContains(t, stdout+stderr+err.Error(), checkAPIKey)

	tenant.RemoveAPIKey(checkAPIKey)
	stdout, _, err = run(t, "check", path)
	require.Error(t, err)
	assert.Contains(t, stdout, "/v1/users answered HTTP 401: the API key was refused")
}
