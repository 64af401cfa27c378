package dextest_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

func TestCAIssuesForLoopback(t *testing.T) {
	ca := dextest.NewCA(t, "test CA")
	certPEM, keyPEM := ca.Issue(t, "server")
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	require.NoError(t, err)
	assert.Equal(t, "server", cert.Subject.CommonName)

	for _, host := range []string{"127.0.0.1", "localhost"} {
		_, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: host})
		assert.NoError(t, err, host)
	}
	_, err = cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: "example.com"})
	assert.Error(t, err, "only loopback names")
	_, err = cert.Verify(x509.VerifyOptions{Roots: dextest.NewCA(t, "other CA").Pool(), DNSName: "localhost"})
	assert.Error(t, err, "another CA does not vouch for it")

	block, _ := pem.Decode(ca.PEM)
	require.NotNil(t, block)
	assert.Equal(t, ca.Cert.Raw, block.Bytes)
}
