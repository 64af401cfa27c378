package dextest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"
)

// certLifetime is how long the certificates of a CA are valid, from an hour
// before they are made.
const certLifetime = 24 * time.Hour

// CA is a certificate authority made for one test. It issues certificates
// for servers (and clients) on 127.0.0.1 and localhost.
type CA struct {
	// Cert is the CA's certificate, and PEM the same, PEM-encoded: what
	// clients of the servers trust.
	Cert *x509.Certificate
	PEM  []byte

	key *ecdsa.PrivateKey
}

// NewCA makes a CA whose certificate names it name. The test fails at once
// if it cannot.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	der, key := newCertificate(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("CA certificate: %v", err)
	}
	return &CA{Cert: cert, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key}
}

// Pool returns a certificate pool holding the CA alone.
func (ca *CA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	return pool
}

// Issue returns a certificate signed by the CA for 127.0.0.1 and localhost,
// named name, for servers and clients, and its private key (PKCS #8), both
// PEM-encoded. The test fails at once if it cannot.
func (ca *CA) Issue(t testing.TB, name string) (certPEM, keyPEM []byte) {
	t.Helper()
	der, key := newCertificate(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:    []string{"localhost"},
	}, ca)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("key of %s: %v", name, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// newCertificate makes a P-256 key and a certificate for it from tmpl,
// with a random serial number and certLifetime's validity, signed by
// parent, or by itself when parent is nil. It returns the certificate's
// DER and the key.
func newCertificate(t testing.TB, tmpl *x509.Certificate, parent *CA) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("key of %s: %v", tmpl.Subject.CommonName, err)
	}
	tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		t.Fatalf("serial number of %s: %v", tmpl.Subject.CommonName, err)
	}
	now := time.Now()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(certLifetime)
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.Cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatalf("certificate of %s: %v", tmpl.Subject.CommonName, err)
	}
	return der, key
}
