package spectrocloud

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/directory"
)

// The directory block is validated at Open; every error names its key.
func TestDirectoryConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		block string
		want  string
	}{
		{"no key", `{}`, "directory.apiKey or directory.apiKeyFile is required"},
		{"both keys", `{"apiKey":"k","apiKeyFile":"/f"}`, "directory.apiKey and directory.apiKeyFile are exclusive"},
		{"bad API URL", `{"apiKey":"k","apiURL":"ftp://x"}`, `directory.apiURL "ftp://x" must be an absolute http or https URL`},
		{"bad interval", `{"apiKey":"k","syncInterval":"5"}`, `directory.syncInterval "5" must be a duration between 1s and 24h0m0s`},
		{"interval too short", `{"apiKey":"k","syncInterval":"100ms"}`, `directory.syncInterval "100ms"`},
		{"bad staleness", `{"apiKey":"k","maxStaleness":"soon"}`, `directory.maxStaleness "soon"`},
		{"staleness not beyond the interval", `{"apiKey":"k","syncInterval":"10m","maxStaleness":"5m"}`,
			"directory.maxStaleness (5m0s) must be longer than directory.syncInterval (10m0s)"},
		{"whenStale", `{"apiKey":"k","whenStale":"allow"}`, `directory.whenStale "allow" is not supported: use refuse (the default) or tokenOnly`},
		{"groups", `{"apiKey":"k","groups":"catalog"}`, `directory.groups "catalog" is not supported`},
		{"match entry", `{"apiKey":"k","match":["uid","name"]}`, `directory.match[1] "name" is not supported: use uid or email`},
		{"match twice", `{"apiKey":"k","match":["email","email"]}`, `directory.match[1] "email" is listed twice`},
		{"pace above Palette's limit", `{"apiKey":"k","requestsPerSecond":20}`, "directory.requestsPerSecond 20 must be between 0.1 and 10"},
		{"unknown key", `{"apiKey":"k","syncIntervall":"1m"}`, `unknown key "syncIntervall"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			err := json.Unmarshal([]byte(`{"tenant":"t1","clientID":"c","clientSecret":"s","redirectURI":"https://dex.example.com/callback","directory":`+tt.block+`}`), &c)
			if err == nil {
				_, err = c.Open("spectrocloud", nil)
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// Defaults: SaaS Palette's API address for its console, the console for a
// self-hosted one; two minutes between reads, fifteen of staleness, refuse,
// uid then email by sub, groups from the directory.
func TestDirectoryConfigDefaults(t *testing.T) {
	s, err := (&DirectoryConfig{APIKey: " k "}).validate(defaultConsoleURL + "/v1/oidc/tenant/t1")
	require.NoError(t, err)
	assert.Equal(t, &directorySettings{apiURL: "https://api.spectrocloud.com", apiKey: "k", interval: 2 * time.Minute, maxStaleness: 15 * time.Minute,
		whenStale: whenStaleRefuse, match: []directory.Match{directory.MatchUID, directory.MatchEmail}, uidClaim: "sub", groups: groupsFromDirectory,
		rate: directory.DefaultRequestsPerSecond}, s)

	s, err = (&DirectoryConfig{APIKey: "k", SyncInterval: "10m"}).validate("https://palette.example.com/v1/oidc/tenant/t1")
	require.NoError(t, err)
	assert.Equal(t, "https://palette.example.com", s.apiURL)
	assert.Equal(t, 20*time.Minute, s.maxStaleness, "at least twice the interval")

	s, err = (*DirectoryConfig)(nil).validate("https://x")
	require.NoError(t, err)
	assert.Nil(t, s, "no block, no directory")
}

// The key file is read at every sync (a rotated key is used at once),
// bounded, and never shown.
func TestDirectoryAPIKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	require.NoError(t, os.WriteFile(path, []byte("  first-key\n"), 0o600))
	s := &directorySettings{apiKeyFile: path}
	key, err := s.readAPIKey()
	require.NoError(t, err)
	assert.Equal(t, "first-key", key)
	require.NoError(t, os.WriteFile(path, []byte("second-key"), 0o600))
	key, err = s.readAPIKey()
	require.NoError(t, err)
	assert.Equal(t, "second-key", key)

	require.NoError(t, os.WriteFile(path, []byte("\n"), 0o600))
	_, err = s.readAPIKey()
	require.ErrorContains(t, err, "directory.apiKeyFile "+path+" is empty")
	require.NoError(t, os.WriteFile(path, make([]byte, maxAPIKeyFileBytes+1), 0o600))
	_, err = s.readAPIKey()
	require.ErrorContains(t, err, "is longer than 4096 bytes")
	_, err = (&directorySettings{apiKeyFile: filepath.Join(dir, "missing")}).readAPIKey()
	require.ErrorContains(t, err, "directory.apiKeyFile")
}

// An API address over plain http to another host and whenStale: tokenOnly
// are warned about at start-up and by check.
func TestDirectoryWarnings(t *testing.T) {
	c := Config{Tenant: "t1", ClientID: "c", ClientSecret: "s", RedirectURI: "https://dex.example.com/callback",
		Directory: &DirectoryConfig{APIKey: "k", APIURL: "http://palette.example.com", WhenStale: whenStaleTokenOnly}}
	ws, err := warningsOf(&c)
	require.NoError(t, err)
	var keys []string
	for _, w := range ws {
		keys = append(keys, w.Key)
	}
	assert.Equal(t, []string{"directory.apiURL", "directory.whenStale"}, keys)

	c.Directory = &DirectoryConfig{APIKey: "k", APIURL: "http://127.0.0.1:8080"}
	ws, err = warningsOf(&c)
	require.NoError(t, err)
	assert.Empty(t, ws, "loopback and refuse need no warning")
}
