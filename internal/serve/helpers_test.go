package serve_test

import (
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// bcryptHash is a bcrypt hash (cost 10) of "s3cret-pass".
const bcryptHash = "$2a$10$Ff5CVUENfEjsqQbSJJQJuONj8Gb5kZB/HnCPAbCkEU80rI9gP8FG."

// rpRedirect is the relying party's redirect URI; the browser stops there.
const rpRedirect = "http://127.0.0.1:5555/callback"

// The static clients of the tests' configurations.
var (
	appClient       = dextest.Client{ID: "app", Name: "Example App", Secret: "app-secret", RedirectURIs: []string{rpRedirect}}
	backstageClient = dextest.Client{ID: "backstage", Name: "Backstage", Secret: "backstage-secret", RedirectURIs: []string{rpRedirect}}
	kubeloginClient = dextest.Client{ID: "kubelogin", Name: "kubelogin", Secret: "kubelogin-secret", RedirectURIs: []string{rpRedirect}}
	kubectlClient   = dextest.Client{ID: "kubectl", Name: "kubectl", Public: true}
)

// passwordDB is the password database with one user, Jane, whose password
// is s3cret-pass.
const passwordDB = `
enablePasswordDB: true
staticPasswords:
- email: jane@example.com
  hash: "` + bcryptHash + `"
  username: jane
  name: Jane Doe
  preferredUsername: jdoe
  userID: 7f2b6c1e-0000-4000-8000-000000000001
  groups: [platform, admins]
`

// basicConfig has the password database, a mock connector and a client,
// on storage.
func basicConfig(storage map[string]any) dextest.DexConfig {
	return dextest.DexConfig{
		Storage:    storage,
		Clients:    []dextest.Client{appClient},
		Connectors: []dextest.ConnectorFunc{dextest.MockCallback("mock", "Mock Login")},
	}.With("telemetry: {http: 127.0.0.1:0}\nlogger: {level: debug}\nfrontend: {issuer: Example Corp}\n" + passwordDB)
}

// storageSection is a storage section of the type typ: memory, or sqlite3
// in a file of the test's own.
func storageSection(t *testing.T, typ string) map[string]any {
	switch typ {
	case "memory":
		return map[string]any{"type": "memory"}
	case "sqlite3":
		return sqlite(filepath.Join(t.TempDir(), "dex.db"))
	}
	t.Fatalf("no storage section for %q", typ)
	return nil
}

// sqlite is a storage section for the sqlite3 database in file.
func sqlite(file string) map[string]any {
	return map[string]any{"type": "sqlite3", "config": map[string]any{"file": file}}
}

// spectroCloud is the spectrocloud connector of the tests, for the tenant
// dextest.TenantUID of the console at consoleURL; each of extra, a YAML
// mapping, adds keys to its configuration.
func spectroCloud(consoleURL string, extra ...string) dextest.ConnectorFunc {
	keys := map[string]any{}
	for _, e := range extra {
		maps.Copy(keys, dextest.YAMLMap(e))
	}
	return dextest.SpectroCloud("spectrocloud", consoleURL, dextest.TenantUID, keys)
}

// spectroConfig signs users in to Backstage through one Palette tenant of
// the console at consoleURL, with a group made of the tenant claim.
func spectroConfig(consoleURL string, extra ...string) dextest.DexConfig {
	const newGroup = "claimModifications: {newGroupFromClaims: [{claims: [tenant], delimiter: ':', prefix: spectrocloud}]}"
	return dextest.DexConfig{
		Clients:    []dextest.Client{backstageClient},
		Connectors: []dextest.ConnectorFunc{spectroCloud(consoleURL, append([]string{newGroup}, extra...)...)},
	}
}

// lifetimeConfig has three clients, Backstage, kubelogin and the public
// kubectl, one Palette tenant of the console at consoleURL, and Dex's ID
// tokens valid for an hour.
func lifetimeConfig(consoleURL string, extra ...string) dextest.DexConfig {
	return dextest.DexConfig{
		Clients:    []dextest.Client{backstageClient, kubeloginClient, kubectlClient},
		Connectors: []dextest.ConnectorFunc{spectroCloud(consoleURL, extra...)},
	}.With("expiry: {idTokens: 1h}")
}

// passwordBrowser signs Jane in through the password database (passwordDB).
func passwordBrowser() *dextest.Browser {
	b := dextest.NewBrowser()
	b.Connector, b.Login, b.Password = "Email", "jane@example.com", "s3cret-pass"
	return b
}

// paletteFor is an emulated Palette console with the tenant
// dextest.TenantUID, whose OAuth client for a Dex at dexIssuer is
// dextest.PaletteClientID, and user, who is signed in to Palette (the
// tenant's auto-login). The console stops when the test ends.
func paletteFor(t *testing.T, dexIssuer string, user spectrotest.User) (*spectrotest.Server, *spectrotest.Tenant) {
	t.Helper()
	palette := spectrotest.NewServer()
	t.Cleanup(palette.Close)
	tenant := palette.AddTenant(dextest.TenantUID)
	tenant.AddClient(spectrotest.Client{ID: dextest.PaletteClientID, Secret: dextest.PaletteClientSecret, RedirectURIs: []string{dexIssuer + "/callback"}})
	tenant.AddUser(user)
	tenant.SetAutoLogin(user.Email)
	return palette, tenant
}

// startDex serves cfg (harness.Start); with addr empty it listens on a free
// port of 127.0.0.1.
func startDex(t *testing.T, cfg dextest.DexConfig, addr string, opts ...serve.Option) *harness.Dex {
	t.Helper()
	if addr == "" {
		return harness.Start(t, cfg, nil, opts...)
	}
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return harness.Start(t, cfg, l, opts...)
}

// listen listens on a free port of 127.0.0.1.
func listen(t *testing.T) net.Listener {
	t.Helper()
	return harness.Listen(t)
}

// loadConfig loads cfg for a web listener at l strictly.
func loadConfig(t *testing.T, cfg dextest.DexConfig, l net.Listener) *config.Config {
	t.Helper()
	return harness.Load(t, harness.For(cfg, l))
}

// get fetches a URL and returns status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// testLogger logs to the test's output until the test ends; records logged
// later by stray goroutines are dropped.
func testLogger(t *testing.T) *slog.Logger {
	return harness.Logger(t, slog.LevelDebug)
}
