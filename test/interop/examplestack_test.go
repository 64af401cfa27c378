package interop

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// The OAuth clients registered in the example's Palette tenants for Dex: the
// values of the $SPECTROCLOUD_* variables that examples/config.yaml reads.
const (
	exampleProdClientID     = "dex-prod"
	exampleProdClientSecret = "dex-prod-secret"
	exampleLabClientID      = "dex-lab"
	exampleLabClientSecret  = "dex-lab-secret"
)

// exampleEnv is the environment examples/config.yaml reads its secrets from.
func exampleEnv() map[string]string {
	return map[string]string{
		"SPECTROCLOUD_CLIENT_ID":         exampleProdClientID,
		"SPECTROCLOUD_CLIENT_SECRET":     exampleProdClientSecret,
		"SPECTROCLOUD_LAB_CLIENT_ID":     exampleLabClientID,
		"SPECTROCLOUD_LAB_CLIENT_SECRET": exampleLabClientSecret,
		"BACKSTAGE_CLIENT_SECRET":        backstageSecret,
	}
}

// configEdit replaces one value of examples/config.yaml: the value at path
// (map keys and list indexes) must be want before (nil: absent), and becomes
// value.
type configEdit struct {
	path  []any
	want  any
	value any
}

// applyConfigEdit applies e to a decoded YAML document.
func applyConfigEdit(doc map[string]any, e configEdit) error {
	var parent any = doc
	for i, step := range e.path {
		last := i == len(e.path)-1
		switch p := parent.(type) {
		case map[string]any:
			key, ok := step.(string)
			if !ok {
				return fmt.Errorf("%v: step %v of a mapping is not a key", e.path, step)
			}
			if last {
				if !reflect.DeepEqual(p[key], e.want) {
					return fmt.Errorf("%v is %#v, the test expects %#v", e.path, p[key], e.want)
				}
				p[key] = e.value
				return nil
			}
			parent = p[key]
		case []any:
			index, ok := step.(int)
			if !ok || index < 0 || index >= len(p) {
				return fmt.Errorf("%v: step %v is not an index of a list of %d", e.path, step, len(p))
			}
			if last {
				return fmt.Errorf("%v: only mapping values are replaced", e.path)
			}
			parent = p[index]
		default:
			return fmt.Errorf("%v: step %v of %T", e.path, step, parent)
		}
	}
	return errors.New("empty path")
}

// exampleStack starts dex-spectro from examples/config.yaml itself, the way
// it is deployed: behind an ingress that terminates TLS (a reverse proxy
// with a certificate from a test CA), with its secrets in the environment.
// Only URLs, secrets and file paths are replaced: the issuer, the
// connectors' console URLs (an emulated Palette for each tenant, the lab one
// over HTTPS with its certificate as rootCAs) and redirect URIs, and the
// SQLite file. Dex listens for HTTP and telemetry on 127.0.0.1 instead of
// the file's addresses. edits are applied after those, for tests of
// variants.
func startExampleStack(t *testing.T, edits ...configEdit) *stack {
	t.Helper()
	dir := t.TempDir()
	for name, value := range exampleEnv() {
		t.Setenv(name, value)
	}

	ingress := harness.Listen(t)
	st := &stack{
		Issuer:  "https://" + ingress.Addr().String(),
		tenants: make(map[string]*spectrotest.Tenant),
	}
	// Production on SpectroCloud's SaaS console (the file has no
	// consoleURL), the lab on a self-hosted console with a private CA.
	prodConsole := spectrotest.NewServer()
	t.Cleanup(prodConsole.Close)
	labConsole := spectrotest.NewTLSServer()
	t.Cleanup(labConsole.Close)
	st.palette = prodConsole
	labCA := filepath.Join(dir, "lab-ca.pem")
	require.NoError(t, os.WriteFile(labCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: labConsole.Certificate().Raw}), 0o600))

	// The test's browser and relying parties trust Dex's CA and, as the
	// lab's users' browsers do, the lab console's.
	pki := newTestPKI(t, dir)
	st.CAFile, st.CAPEM = pki.caFile, pki.ca.PEM
	pool := pki.ca.Pool()
	pool.AddCert(labConsole.Certificate())
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	st.HTTP = &http.Client{Transport: transport, Timeout: 30 * time.Second}
	t.Cleanup(transport.CloseIdleConnections)

	for _, ts := range []struct {
		console     *spectrotest.Server
		uid, connID string
		clientID    string
		secret      string
		users       []spectrotest.User
	}{
		{prodConsole, prodTenantUID, prodConnector, exampleProdClientID, exampleProdClientSecret, []spectrotest.User{jane(), sam(), opsProd()}},
		{labConsole, labTenantUID, labConnector, exampleLabClientID, exampleLabClientSecret, []spectrotest.User{lee(), opsLab()}},
	} {
		tenant := ts.console.AddTenant(ts.uid)
		tenant.AddClient(spectrotest.Client{ID: ts.clientID, Secret: ts.secret, RedirectURIs: []string{st.Issuer + "/callback"}})
		for _, u := range ts.users {
			tenant.AddUser(u)
		}
		st.tenants[ts.connID] = tenant
	}

	data, err := os.ReadFile(examplePath("config.yaml"))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(data, &doc))
	replacements := []configEdit{
		{[]any{"issuer"}, exampleIssuer, st.Issuer},
		{[]any{"storage", "config", "file"}, "/var/dex/dex.db", filepath.Join(dir, "dex.db")},
		{[]any{"connectors", 0, "config", "consoleURL"}, nil, prodConsole.URL},
		{[]any{"connectors", 0, "config", "redirectURI"}, exampleIssuer + "/callback", st.Issuer + "/callback"},
		{[]any{"connectors", 1, "config", "consoleURL"}, "https://palette.lab.example.com", labConsole.URL},
		{[]any{"connectors", 1, "config", "redirectURI"}, exampleIssuer + "/callback", st.Issuer + "/callback"},
		{[]any{"connectors", 1, "config", "rootCAs"}, []any{"/etc/dex/ca/internal-ca.pem"}, []any{labCA}},
	}
	for _, e := range append(replacements, edits...) {
		require.NoError(t, applyConfigEdit(doc, e), "examples/config.yaml")
	}
	edited, err := yaml.Marshal(doc)
	require.NoError(t, err)
	path := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(path, edited, 0o600))
	web, telemetry := harness.Listen(t), harness.Listen(t)
	st.serve(t, harness.LoadFile(t, path),
		serve.WithListener(serve.ListenerHTTP, web),
		serve.WithListener(serve.ListenerTelemetry, telemetry),
	)

	startIngress(t, ingress, pki, "http://"+web.Addr().String())
	return st
}

// startIngress serves HTTPS on l with the test PKI's certificate and passes
// every request on to backend, as an ingress controller in front of Dex
// does. It stops when the test ends.
func startIngress(t *testing.T, l net.Listener, pki testPKI, backend string) {
	t.Helper()
	target, err := url.Parse(backend)
	require.NoError(t, err)
	cert, err := tls.LoadX509KeyPair(pki.certFile, pki.keyFile)
	require.NoError(t, err)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.SetXForwarded()
			r.Out.Host = r.In.Host
		},
	}
	srv := &http.Server{
		Handler:           proxy,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("ingress: %v", err)
		}
	})
}
