// Package e2e tests dex-spectro end to end, through Dex's HTTP endpoints,
// against an emulated SpectroCloud Palette on loopback: behaviour while
// Palette is down, slow or rotating its keys, unknown-kid floods, a SIGKILL
// in the middle of a sign-in on sqlite3 and PostgreSQL, the connector's
// Prometheus metrics, log hygiene, and (behind the `load` build tag) a load
// test against Dex's own oidc and mockCallback connectors.
//
// The harness starts dex-spectro in-process (StartDex) or as a real process
// of a freshly built binary (BuildBinary, StartProcess), in both cases from a
// configuration file written to disk, and drives it with an Agent (the user's
// browser) and a dextest.RelyingParty (the application).
package e2e

import (
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
	"github.com/dex-spectro/dex-spectro/internal/logging"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// Fixed identities of the test setup; the emulated Palette tenant is
// dextest.TenantUID.
const (
	// PaletteClientID and PaletteClientSecret are the OAuth client Dex uses
	// at Palette.
	PaletteClientID     = "dex-spectro"
	PaletteClientSecret = "palette-client-secret-7Qm2xK9vLp4R"
	// ClientID and ClientSecret are the application signing in through Dex.
	ClientID     = "app"
	ClientSecret = "app-client-secret-Zt8sW3nB6yHq"
	// RPRedirect is the application's redirect URI; nothing listens there,
	// the Agent stops when it is redirected to it.
	RPRedirect = "http://127.0.0.1:5555/callback"
)

// Palette is an emulated Palette console served by its own HTTP server, so
// that it can be stopped (connections are refused) and started again at the
// same address.
type Palette struct {
	Console *spectrotest.Console
	Tenant  *spectrotest.Tenant
	// URL is the console's base URL, http://127.0.0.1:<port>.
	URL string

	addr    string
	handler http.Handler

	mu        sync.Mutex
	srv       *http.Server
	redirects []string
}

// StartPalette starts an emulated console with one tenant and Dex's OAuth
// client registered. Middleware, outermost last, wraps the console's handler
// (to observe requests and responses). The server stops when the test ends.
func StartPalette(t testing.TB, middleware ...func(http.Handler) http.Handler) *Palette {
	t.Helper()
	l := harness.Listen(t)
	p := &Palette{addr: l.Addr().String()}
	p.URL = "http://" + p.addr
	p.Console = spectrotest.NewConsole(p.URL)
	p.Tenant = p.Console.AddTenant(dextest.TenantUID)
	p.Tenant.AddClient(spectrotest.Client{ID: PaletteClientID, Secret: PaletteClientSecret})
	var h http.Handler = p.Console
	for _, m := range middleware {
		h = m(h)
	}
	p.handler = h
	p.serve(l)
	t.Cleanup(p.Stop)
	return p
}

func (p *Palette) serve(l net.Listener) {
	srv := &http.Server{Handler: p.handler, ReadHeaderTimeout: 10 * time.Second}
	p.mu.Lock()
	p.srv = srv
	p.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// Stop takes Palette off the network: the listener and every connection
// close, so requests in flight fail and new connections are refused.
func (p *Palette) Stop() {
	p.mu.Lock()
	srv := p.srv
	p.srv = nil
	p.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Start serves Palette again at its address after Stop.
func (p *Palette) Start(t testing.TB) {
	t.Helper()
	l, err := net.Listen("tcp", p.addr)
	require.NoError(t, err, "listen again on %s", p.addr)
	p.serve(l)
}

// AddUser adds a Palette user whose ID token carries, besides Palette's
// usual claims, name and email_verified (which Dex's oidc connector needs).
func (p *Palette) AddUser(email string, groups ...string) spectrotest.User {
	local, _, _ := strings.Cut(email, "@")
	u := spectrotest.User{
		Email:      email,
		GivenName:  local,
		FamilyName: "Tester",
		Groups:     groups,
		Claims:     map[string]any{"name": local + " Tester", "email_verified": true},
	}
	p.Tenant.AddUser(u)
	for _, added := range p.Tenant.Users() {
		if added.Email == email {
			return added
		}
	}
	return u
}

// allowRedirect registers uri as a redirect URI of Dex's client at Palette.
func (p *Palette) allowRedirect(uri string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.redirects {
		if r == uri {
			return
		}
	}
	p.redirects = append(p.redirects, uri)
	p.Tenant.AddClient(spectrotest.Client{ID: PaletteClientID, Secret: PaletteClientSecret, RedirectURIs: p.redirects})
}

// Requests is the number of requests Palette's endpoints received.
func (p *Palette) Requests(eps ...spectrotest.Endpoint) int {
	n := 0
	for _, ep := range eps {
		n += p.Tenant.Requests(ep)
	}
	return n
}

// backChannel lists the endpoints Dex itself calls (the browser calls auth).
func backChannel() []spectrotest.Endpoint {
	return []spectrotest.Endpoint{spectrotest.EndpointDiscovery, spectrotest.EndpointJWKS, spectrotest.EndpointToken}
}

// BackChannelRequests is the number of requests Dex sent to Palette.
func (p *Palette) BackChannelRequests() int { return p.Requests(backChannel()...) }

// SetBackChannelFault makes every endpoint Dex calls misbehave.
func (p *Palette) SetBackChannelFault(f spectrotest.Fault) {
	for _, ep := range backChannel() {
		p.Tenant.SetFault(ep, f)
	}
}

// SpectroCloud returns a spectrocloud connector for the tenant
// (dextest.SpectroCloud) with Dex's client at Palette and an upstream
// timeout of 5 s; extra adds or replaces configuration keys. Dex's callback
// is registered at Palette.
func (p *Palette) SpectroCloud(id string, extra map[string]any) dextest.ConnectorFunc {
	return func(issuer string) dextest.Connector {
		p.allowRedirect(issuer + "/callback")
		cfg := map[string]any{"clientID": PaletteClientID, "clientSecret": PaletteClientSecret, "upstreamTimeout": "5s"}
		maps.Copy(cfg, extra)
		return dextest.SpectroCloud(id, p.URL, dextest.TenantUID, cfg)(issuer)
	}
}

// OIDC returns Dex's own oidc connector for the same tenant, configured as
// close to the spectrocloud connector as it allows (PKCE, groups). Against
// real Palette its refresh cannot work; the emulator's standard refresh
// grant must be enabled for it.
func (p *Palette) OIDC(id string) dextest.ConnectorFunc {
	return func(issuer string) dextest.Connector {
		p.allowRedirect(issuer + "/callback")
		return dextest.Connector{Type: "oidc", ID: id, Name: "OIDC", Config: map[string]any{
			"issuer":               p.Tenant.Issuer(),
			"clientID":             PaletteClientID,
			"clientSecret":         PaletteClientSecret,
			"redirectURI":          issuer + "/callback",
			"scopes":               []string{"profile", "email", "groups"},
			"insecureEnableGroups": true,
			"pkceChallenge":        "S256",
		}}
	}
}

// DexConfig describes a dex-spectro configuration file, built with
// dextest.DexConfig, and how the harness runs it.
type DexConfig struct {
	Connectors []dextest.ConnectorFunc
	// Clients defaults to the application ClientID.
	Clients []dextest.Client
	// Storage is the storage section; memory when nil.
	Storage map[string]any
	// Expiry is the expiry section; Dex's defaults when nil.
	Expiry map[string]any
	// LogLevel defaults to debug; LogFormat to text.
	LogLevel, LogFormat string
	// Telemetry enables the telemetry listener (/metrics, /healthz).
	Telemetry bool
	// LogOutput receives the in-process server's logs instead of a buffer.
	LogOutput io.Writer
	// NewLogger builds the in-process server's logger; logging.New, as the
	// binary uses, when nil.
	NewLogger func(w io.Writer, level slog.Level, format string) (*slog.Logger, error)
}

// WriteConfig writes the configuration file for a Dex at issuer, listening
// on httpAddr and, when Telemetry is set, telemetryAddr, into a fresh
// temporary directory and returns its path; the approval screen is skipped.
func (c DexConfig) WriteConfig(t testing.TB, issuer, httpAddr, telemetryAddr string) string {
	t.Helper()
	clients := c.Clients
	if clients == nil {
		clients = []dextest.Client{{ID: ClientID, Name: "Application", Secret: ClientSecret, RedirectURIs: []string{RPRedirect}}}
	}
	level, format := c.LogLevel, c.LogFormat
	if level == "" {
		level = "debug"
	}
	if format == "" {
		format = "text"
	}
	sections := map[string]any{
		"logger": map[string]any{"level": level, "format": format},
		"oauth2": map[string]any{"skipApprovalScreen": true},
	}
	if c.Expiry != nil {
		sections["expiry"] = c.Expiry
	}
	if c.Telemetry {
		require.NotEmpty(t, telemetryAddr, "telemetry enabled without an address")
		sections["telemetry"] = map[string]any{"http": telemetryAddr}
	}
	return dextest.DexConfig{Issuer: issuer, HTTP: httpAddr, Storage: c.Storage, Clients: clients,
		Connectors: c.Connectors, Sections: sections}.WriteFile(t)
}

// Dex is dex-spectro running in the test's process.
type Dex struct {
	*harness.Dex
	// Logs holds everything the server logged, unless DexConfig.LogOutput
	// was set.
	Logs *dextest.LogBuffer
}

// StartDex writes cfg to disk, loads it strictly as the binary does, and
// serves it on 127.0.0.1 until the test ends. On failure, the server's logs
// are added to the test's output.
func StartDex(t testing.TB, cfg DexConfig, opts ...serve.Option) *Dex {
	t.Helper()
	l := harness.Listen(t)
	issuer := "http://" + l.Addr().String() + "/dex"
	options := []serve.Option{serve.WithListener(serve.ListenerHTTP, l), serve.WithShutdownTimeout(5 * time.Second)}
	var telemetryAddr string
	if cfg.Telemetry {
		tl := harness.Listen(t)
		telemetryAddr = tl.Addr().String()
		options = append(options, serve.WithListener(serve.ListenerTelemetry, tl))
	}
	path := cfg.WriteConfig(t, issuer, l.Addr().String(), telemetryAddr)
	loaded := harness.LoadFile(t, path)

	d := &Dex{}
	out := cfg.LogOutput
	if out == nil {
		d.Logs = &dextest.LogBuffer{}
		out = d.Logs
		// Registered before the server's own cleanup, so this runs after
		// the server has stopped, with its last words in the buffer; and
		// also when it fails to start.
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("dex logs:\n%s", d.Logs)
			}
			d.Logs.Close()
		})
	}
	newLogger := cfg.NewLogger
	if newLogger == nil {
		newLogger = logging.New
	}
	logger, err := newLogger(out, loaded.Logger.Level, loaded.Logger.Format)
	require.NoError(t, err)
	options = append(options, serve.WithLogger(logger))

	d.Dex = harness.Serve(t, loaded, append(options, opts...)...)
	return d
}
