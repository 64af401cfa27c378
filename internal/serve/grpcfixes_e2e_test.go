package serve_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/dexidp/dex/api/v2"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// grpcConfig has a mock connector and the gRPC API, with grpcTLS (the
// section's keys beside addr) for its TLS.
func grpcConfig(grpcTLS map[string]any) dextest.DexConfig {
	grpc := map[string]any{"addr": "127.0.0.1:0"}
	maps.Copy(grpc, grpcTLS)
	return dextest.DexConfig{
		Connectors: []dextest.ConnectorFunc{dextest.MockCallback("mock", "Mock")},
		Sections:   map[string]any{"grpc": grpc},
	}
}

// A gRPC API that anyone reaching it may use is announced at start-up with
// a WARN line naming the setting and the risk; with client certificates
// required there is none. A CreateConnector without a connector is refused
// and the server keeps serving.
func TestGRPCAPIWithoutClientCA(t *testing.T) {
	t.Setenv("DEX_API_CONNECTORS_CRUD", "true")
	logs := &dextest.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dex := startDex(t, grpcConfig(nil), "", serve.WithLogger(logger))

	warnings := logs.Lines("grpc.tlsClientCA")
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], "level=WARN")
	assert.Contains(t, warnings[0], "full administrative access")
	assert.Contains(t, warnings[0], "tls=false")

	conn, err := grpc.NewClient(dex.Addrs.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	client := api.NewDexClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err = client.CreateConnector(ctx, &api.CreateConnectorReq{})
	assert.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	_, err = client.GetVersion(ctx, &api.VersionReq{})
	require.NoError(t, err, "the server is still up")
}

func TestGRPCAPIWithClientCA(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	serverCert, serverKey := ca.issue(t, 2, "server")
	writeFile(t, filepath.Join(dir, "grpc.crt"), serverCert)
	writeFile(t, filepath.Join(dir, "grpc.key"), serverKey)
	writeFile(t, filepath.Join(dir, "ca.crt"), ca.pem)
	tlsSection := map[string]any{"tlsCert": filepath.Join(dir, "grpc.crt"), "tlsKey": filepath.Join(dir, "grpc.key"),
		"tlsClientCA": filepath.Join(dir, "ca.crt")}

	logs := &dextest.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dex := startDex(t, grpcConfig(tlsSection), "", serve.WithLogger(logger))
	assert.Empty(t, logs.Lines("grpc.tlsClientCA"))

	// The API is up, and asks for a client certificate.
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	conn, err := grpc.NewClient(dex.Addrs.GRPC, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots})))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = api.NewDexClient(conn).GetVersion(ctx, &api.VersionReq{})
	require.Error(t, err)
}

// credentialCapture records the credential every request carries in
// header (without a "Bearer " prefix) and answers with an empty list: a
// Backstage catalog that knows no user (header Authorization), or Palette's
// API with no user (header ApiKey).
type credentialCapture struct {
	header string
	mu     sync.Mutex
	sent   []string
}

func (c *credentialCapture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.sent = append(c.sent, strings.TrimPrefix(r.Header.Get(c.header), "Bearer "))
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"items":[],"totalItems":0}`))
}

func (c *credentialCapture) received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sent...)
}

// A spectrocloud connector created through the gRPC API with
// signIn.catalog.tokenFile and a catalog of its own makes Dex v2.45.1 read
// that file on its host and send its content to that catalog at the next
// sign-in; with directory.apiKeyFile and an apiURL of its own, it sends the
// file to that address as soon as Dex opens the connector. dex-spectro's
// API refuses such a connector (created, updated, or turned into a
// spectrocloud connector) with InvalidArgument naming the key; $VAR
// references in API-created configs are not expanded (Dex expands only the
// config file), so no environment value leaves either.
func TestGRPCConnectorReadingLocalFiles(t *testing.T) {
	t.Setenv("DEX_API_CONNECTORS_CRUD", "true")
	t.Setenv("DEX_SPECTRO_TEST_CATALOG_SECRET", "value-from-the-environment")
	secretFile := filepath.Join(t.TempDir(), "secret")
	writeFile(t, secretFile, []byte("content-of-a-local-file"))

	ctx := context.Background()
	l := listen(t)
	palette, _, _ := lifetimePalette(t, "http://"+l.Addr().String()+"/dex")
	capture := &credentialCapture{header: "Authorization"}
	catalog := httptest.NewServer(capture)
	t.Cleanup(catalog.Close)
	// Palette's API as the refused connectors name it, and as the one
	// created through the unprotected API does (whose reads go on).
	keyCapture, holeCapture := &credentialCapture{header: "ApiKey"}, &credentialCapture{header: "ApiKey"}
	paletteAPI, holeAPI := httptest.NewServer(keyCapture), httptest.NewServer(holeCapture)
	t.Cleanup(paletteAPI.Close)
	t.Cleanup(holeAPI.Close)
	dex := harness.Start(t, lifetimeConfig(palette.URL).With("grpc: {addr: 127.0.0.1:0}"), l)

	connectorConfig := func(catalogKeys string) []byte {
		return []byte(`{"consoleURL":"` + palette.URL + `","tenant":"` + dextest.TenantUID + `","clientID":"dex","clientSecret":"dex-secret",` +
			`"redirectURI":"` + dex.Issuer + `/callback","signIn":{"resolvers":[{"resolver":"emailMatchingUserEntityProfileEmail"}],` +
			`"catalog":{"baseURL":"` + catalog.URL + `",` + catalogKeys + `}}}`)
	}
	directoryConfigTo := func(apiURL, directoryKeys string) []byte {
		return []byte(`{"consoleURL":"` + palette.URL + `","tenant":"` + dextest.TenantUID + `","clientID":"dex","clientSecret":"dex-secret",` +
			`"redirectURI":"` + dex.Issuer + `/callback","directory":{"apiURL":"` + apiURL + `",` + directoryKeys + `}}`)
	}
	directoryConfig := func(directoryKeys string) []byte { return directoryConfigTo(paletteAPI.URL, directoryKeys) }
	signInThrough := func(connectorID string) {
		b := dextest.NewBrowser()
		_, _ = b.Authorize(ctx, dex.Issuer+"/auth?"+url.Values{
			"client_id": {"backstage"}, "redirect_uri": {rpRedirect}, "response_type": {"code"},
			"scope": {"openid email"}, "state": {"state-0123456789"}, "connector_id": {connectorID},
		}.Encode(), rpRedirect)
	}

	t.Run("Dex v2.45.1 sends the file", func(t *testing.T) {
		_, err := serve.UnprotectedAPI(dex.Server).CreateConnector(ctx, &api.CreateConnectorReq{Connector: &api.Connector{
			Id: "reads-a-file", Type: "spectrocloud", Name: "Reads a file", Config: connectorConfig(`"tokenFile":"` + secretFile + `"`)}})
		require.NoError(t, err)
		signInThrough("reads-a-file")
		assert.Contains(t, capture.received(), "content-of-a-local-file", "the hole is reproduced")

		_, err = serve.UnprotectedAPI(dex.Server).CreateConnector(ctx, &api.CreateConnectorReq{Connector: &api.Connector{
			Id: "reads-a-key-file", Type: "spectrocloud", Name: "Reads a key file", Config: directoryConfigTo(holeAPI.URL, `"apiKeyFile":"`+secretFile+`"`)}})
		require.NoError(t, err)
		signInThrough("reads-a-key-file")
		require.Eventually(t, func() bool { return len(holeCapture.received()) > 0 }, 10*time.Second, 20*time.Millisecond, "the directory is read")
		assert.Contains(t, holeCapture.received(), "content-of-a-local-file", "the hole is reproduced")
	})

	conn, err := grpc.NewClient(dex.Addrs.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	client := api.NewDexClient(conn)
	refusedNaming := func(t *testing.T, err error, key string) {
		t.Helper()
		require.Error(t, err)
		assert.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
		assert.Contains(t, status.Convert(err).Message(), key)
		assert.Contains(t, status.Convert(err).Message(), "config file")
	}
	refused := func(t *testing.T, err error) {
		t.Helper()
		refusedNaming(t, err, "signIn.catalog.tokenFile")
	}

	t.Run("created", func(t *testing.T) {
		for id, keys := range map[string]string{
			"token-file":       `"tokenFile":"` + secretFile + `"`,
			"token-file-cased": `"TokenFile":"` + secretFile + `"`, // Go's JSON decoding ignores case, as Dex's does
		} {
			_, err := client.CreateConnector(ctx, &api.CreateConnectorReq{Connector: &api.Connector{
				Id: id, Type: "spectrocloud", Name: "Reads a file", Config: connectorConfig(keys)}})
			refused(t, err)
		}
		for id, keys := range map[string]string{
			"key-file":       `"apiKeyFile":"` + secretFile + `"`,
			"key-file-cased": `"APIKeyFile":"` + secretFile + `"`,
		} {
			_, err := client.CreateConnector(ctx, &api.CreateConnectorReq{Connector: &api.Connector{
				Id: id, Type: "spectrocloud", Name: "Reads a key file", Config: directoryConfig(keys)}})
			refusedNaming(t, err, "directory.apiKeyFile")
		}
	})

	t.Run("updated", func(t *testing.T) {
		_, err := client.CreateConnector(ctx, &api.CreateConnectorReq{Connector: &api.Connector{
			Id: "api-made", Type: "spectrocloud", Name: "API", Config: connectorConfig(`"token":"catalog-token"`)}})
		require.NoError(t, err, "a connector with its catalog token given is accepted")
		_, err = client.UpdateConnector(ctx, &api.UpdateConnectorReq{Id: "api-made", NewConfig: connectorConfig(`"tokenFile":"` + secretFile + `"`)})
		refused(t, err)
		_, err = client.UpdateConnector(ctx, &api.UpdateConnectorReq{Id: "api-made", NewConfig: directoryConfig(`"apiKeyFile":"` + secretFile + `"`)})
		refusedNaming(t, err, "directory.apiKeyFile")

		// A connector of another type (which ignores the key), made a
		// spectrocloud connector.
		_, err = client.CreateConnector(ctx, &api.CreateConnectorReq{Connector: &api.Connector{
			Id: "was-oidc", Type: "oidc", Name: "OIDC", Config: connectorConfig(`"tokenFile":"` + secretFile + `"`)}})
		require.NoError(t, err)
		_, err = client.UpdateConnector(ctx, &api.UpdateConnectorReq{Id: "was-oidc", NewType: "spectrocloud",
			NewConfig: connectorConfig(`"tokenFile":"` + secretFile + `"`)})
		refused(t, err)
		_, err = client.UpdateConnector(ctx, &api.UpdateConnectorReq{Id: "was-oidc", NewType: "spectrocloud",
			NewConfig: directoryConfig(`"apiKeyFile":"` + secretFile + `"`)})
		refusedNaming(t, err, "directory.apiKeyFile")
		// Dex v2.45.1 refuses a new type without a new config ("invalid
		// config supplied"); the stored config is checked all the same.
		_, err = client.UpdateConnector(ctx, &api.UpdateConnectorReq{Id: "was-oidc", NewType: "spectrocloud", NewName: "x"})
		require.Error(t, err)

		list, err := client.ListConnectors(ctx, &api.ListConnectorReq{})
		require.NoError(t, err)
		for _, c := range list.GetConnectors() {
			if c.GetType() == "spectrocloud" && c.GetId() != "reads-a-file" && c.GetId() != "reads-a-key-file" {
				assert.NotContains(t, string(c.GetConfig()), "tokenFile", "connector %s", c.GetId())
				assert.NotContains(t, string(c.GetConfig()), "apiKeyFile", "connector %s", c.GetId())
			}
		}
	})

	t.Run("no file and no environment value reaches a catalog", func(t *testing.T) {
		before := len(capture.received())
		for _, id := range []string{"token-file", "token-file-cased", "key-file", "key-file-cased", "api-made", "was-oidc"} {
			signInThrough(id)
		}
		_, err := client.CreateConnector(ctx, &api.CreateConnectorReq{Connector: &api.Connector{
			Id: "env-ref", Type: "spectrocloud", Name: "Env", Config: connectorConfig(`"token":"$DEX_SPECTRO_TEST_CATALOG_SECRET"`)}})
		require.NoError(t, err)
		signInThrough("env-ref")
		sent := capture.received()[before:]
		assert.NotContains(t, sent, "content-of-a-local-file")
		assert.NotContains(t, sent, "value-from-the-environment")
		assert.Contains(t, sent, "$DEX_SPECTRO_TEST_CATALOG_SECRET", "sent as written, not expanded")
		assert.Empty(t, keyCapture.received(), "no refused connector reads a directory")
	})
}
