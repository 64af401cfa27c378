package serve_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/dexidp/dex/api/v2"

	"github.com/dex-spectro/dex-spectro/internal/buildinfo"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// testCA issues certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key for 127.0.0.1, usable by servers
// and clients.
func (ca *testCA) issue(t *testing.T, serial int64, name string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

// HTTPS and the gRPC API with client certificates work as configured, and a
// replaced certificate is served without a restart.
func TestTLSListenersAndGRPCAPI(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	serverCert, serverKey := ca.issue(t, 2, "server")
	clientCert, clientKey := ca.issue(t, 3, "client")
	webCert, webKey := filepath.Join(dir, "web", "tls.crt"), filepath.Join(dir, "web", "tls.key")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "web"), 0o700))
	writeFile(t, webCert, serverCert)
	writeFile(t, webKey, serverKey)
	writeFile(t, filepath.Join(dir, "grpc.crt"), serverCert)
	writeFile(t, filepath.Join(dir, "grpc.key"), serverKey)
	writeFile(t, filepath.Join(dir, "ca.crt"), ca.pem)

	httpsL := listen(t)
	httpL := listen(t)
	cfg := dextest.DexConfig{
		HTTP:       httpL.Addr().String(),
		Connectors: []dextest.ConnectorFunc{dextest.MockCallback("mock", "Mock")},
		Sections: map[string]any{
			"web": map[string]any{
				"http": httpL.Addr().String(), "https": httpsL.Addr().String(), "tlsCert": webCert, "tlsKey": webKey,
				"tlsMinVersion": "1.2", "headers": map[string]any{"X-Frame-Options": "DENY"},
			},
			"grpc": map[string]any{
				"addr": "127.0.0.1:0", "tlsCert": filepath.Join(dir, "grpc.crt"), "tlsKey": filepath.Join(dir, "grpc.key"),
				"tlsClientCA": filepath.Join(dir, "ca.crt"), "reflection": true,
			},
		},
	}
	dex := harness.Start(t, cfg, httpL, serve.WithListener(serve.ListenerHTTPS, httpsL))
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)

	// HTTPS serves Dex with the configured headers.
	httpsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, DisableKeepAlives: true}}
	resp, err := httpsClient.Get("https://" + dex.Addrs.HTTPS + "/dex/.well-known/openid-configuration")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
	firstSerial := resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	assert.Equal(t, int64(2), firstSerial)

	// The gRPC API requires a client certificate...
	grpcCall := func(certs []tls.Certificate) (*api.VersionResp, error) {
		creds := credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: certs})
		conn, err := grpc.NewClient(dex.Addrs.GRPC, grpc.WithTransportCredentials(creds))
		require.NoError(t, err)
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return api.NewDexClient(conn).GetVersion(ctx, &api.VersionReq{})
	}
	_, err = grpcCall(nil)
	require.Error(t, err)
	pair, err := tls.X509KeyPair(clientCert, clientKey)
	require.NoError(t, err)
	version, err := grpcCall([]tls.Certificate{pair})
	require.NoError(t, err)
	assert.Equal(t, buildinfo.Read().APIVersion(), version.Server)

	// ...and a certificate replaced on disk is picked up.
	newCert, newKey := ca.issue(t, 4, "server-renewed")
	writeFile(t, webKey+".new", newKey)
	writeFile(t, webCert+".new", newCert)
	require.NoError(t, os.Rename(webKey+".new", webKey))
	require.NoError(t, os.Rename(webCert+".new", webCert))
	require.Eventually(t, func() bool {
		resp, err := httpsClient.Get("https://" + dex.Addrs.HTTPS + "/dex/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return bytes.Equal(resp.TLS.PeerCertificates[0].SerialNumber.Bytes(), big.NewInt(4).Bytes())
	}, 10*time.Second, 20*time.Millisecond)
}
