package sessions

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/dex-spectro/dex-spectro/internal/config"
)

// GRPC says how to reach Dex's gRPC API, as Dex's API clients do: TLS with
// the server's CA, and a client certificate when the server requires one
// (grpc.tlsClientCA: mutual TLS).
type GRPC struct {
	// Addr is host:port.
	Addr string
	// CACert is a PEM file of the CA that signed the server's certificate;
	// empty means the system's roots.
	CACert string
	// ClientCert and ClientKey are PEM files of the client certificate and
	// its key; both or neither.
	ClientCert, ClientKey string
	// ServerName is the name the server's certificate must carry; empty
	// means the host of Addr.
	ServerName string
	// Plaintext talks to an API without TLS (no grpc.tlsCert). Anyone on the
	// path can then read and change what is exchanged.
	Plaintext bool
}

// DefaultAddr returns the address of the configuration's gRPC API to dial
// from the same machine: grpc.addr, with a wildcard host replaced by the
// loopback address; empty when the API is off.
func DefaultAddr(cfg *config.Config) string {
	if cfg == nil || cfg.GRPC.Addr == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(cfg.GRPC.Addr)
	if err != nil {
		return cfg.GRPC.Addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func (g GRPC) dial() (*grpc.ClientConn, error) {
	if g.Addr == "" {
		return nil, usage("give the gRPC API's address with --grpc-addr (the configuration has no grpc.addr)")
	}
	creds, err := g.credentials()
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(g.Addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("connect to Dex's gRPC API at %s: %w", g.Addr, err)
	}
	return conn, nil
}

func (g GRPC) credentials() (credentials.TransportCredentials, error) {
	if g.Plaintext {
		if g.CACert != "" || g.ClientCert != "" || g.ClientKey != "" {
			return nil, usage("--plaintext cannot be used with --ca-cert, --client-cert or --client-key")
		}
		return insecure.NewCredentials(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: g.ServerName}
	if g.CACert != "" {
		pem, err := os.ReadFile(g.CACert)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-cert %s holds no PEM certificate", g.CACert)
		}
	}
	switch {
	case (g.ClientCert == "") != (g.ClientKey == ""):
		return nil, usage("give both --client-cert and --client-key, or neither")
	case g.ClientCert != "":
		cert, err := tls.LoadX509KeyPair(g.ClientCert, g.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("--client-cert and --client-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return credentials.NewTLS(cfg), nil
}
