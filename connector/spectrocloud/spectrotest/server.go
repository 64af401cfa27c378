package spectrotest

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
)

// Server is a Console listening on 127.0.0.1 at a random port, for tests and
// demos. Its embedded Console serves the tenants; close the server when done.
type Server struct {
	*Console

	// URL is the console's base URL, such as "http://127.0.0.1:41234".
	URL string

	srv *httptest.Server
}

// NewServer starts a plain-HTTP emulated console. Add tenants with AddTenant.
func NewServer() *Server {
	return startServer(false)
}

// NewTLSServer starts an emulated console over HTTPS with a self-signed
// certificate; Client trusts it, and Certificate returns it for clients that
// need it as a root CA.
func NewTLSServer() *Server {
	return startServer(true)
}

func startServer(tls bool) *Server {
	srv := httptest.NewUnstartedServer(nil)
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	console := NewConsole(scheme + srv.Listener.Addr().String())
	srv.Config.Handler = console
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	return &Server{Console: console, URL: console.URL(), srv: srv}
}

// Client returns an HTTP client for this server; for a TLS server it trusts
// the server's certificate.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Certificate returns the TLS server's certificate, or nil for a plain-HTTP
// server.
func (s *Server) Certificate() *x509.Certificate {
	if s.srv.TLS == nil {
		return nil
	}
	return s.srv.Certificate()
}

// Close ends pending fault delays, then shuts the server down and waits for
// outstanding requests. Close may be called more than once.
func (s *Server) Close() {
	s.Console.stopDelays()
	s.srv.Close()
}
