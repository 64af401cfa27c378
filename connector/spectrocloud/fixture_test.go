package spectrocloud

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dexidp/dex/connector"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/connhook"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

const (
	testClientID     = "dex-client"
	testClientSecret = "dex-client-secret-value"
	testRedirectURI  = "https://dex.example.com/dex/callback"
	testTenant       = dextest.TenantUID
	testState        = "state-0123456789"
)

var (
	jane = spectrotest.User{Sub: "user-jane", Email: "jane@example.com", GivenName: "Jane", FamilyName: "Doe",
		Groups: []string{"admins", "devs"}, Claims: map[string]any{"tenant": "acme"}}
	allScopes = connector.Scopes{OfflineAccess: true, Groups: true}
)

// newFakeClock returns a clock tests move by hand, stopped at the present
// second; shared by the emulator and the connector.
func newFakeClock() *dextest.Clock { return dextest.NewClock(time.Now().Truncate(time.Second)) }

// fixture is one emulated Palette tenant and a connector configured for it.
type fixture struct {
	t      testing.TB
	srv    *spectrotest.Server
	tenant *spectrotest.Tenant
	clock  *dextest.Clock
	now    func() time.Time // the connector's clock: clock.Now, or nil for the system clock
	cfg    Config
	logs   *dextest.LogBuffer
}

func newFixture(t testing.TB, configure ...func(*Config)) *fixture {
	t.Helper()
	srv := spectrotest.NewServer()
	t.Cleanup(srv.Close)
	clock := newFakeClock()
	tenant := srv.AddTenant(testTenant)
	tenant.SetNow(clock.Now)
	tenant.AddClient(spectrotest.Client{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{testRedirectURI}})
	tenant.AddUser(jane)
	tenant.SetAutoLogin(jane.Email)
	f := &fixture{t: t, srv: srv, tenant: tenant, clock: clock, now: clock.Now, logs: &dextest.LogBuffer{}}
	f.cfg = Config{
		Tenant:       testTenant,
		ConsoleURL:   srv.URL,
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		RedirectURI:  testRedirectURI,
	}
	for _, c := range configure {
		c(&f.cfg)
	}
	return f
}

// open opens a connector with the fixture's configuration.
func (f *fixture) open() *spectroConnector {
	f.t.Helper()
	c, err := f.cfg.Open("spectrocloud", f.logger(nil))
	require.NoError(f.t, err)
	return c.(*spectroConnector)
}

// logger is the logger a server hands the connector: it logs to h (nil:
// debug text into f.logs) and carries the connectors' clock, f.now
// (connhook.Clock).
func (f *fixture) logger(h slog.Handler) *slog.Logger {
	if h == nil {
		h = slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	return connhook.NewHub(f.now).Logger(slog.New(h))
}

// systemClock puts the connector and the emulator on the system clock, as
// in production.
func (f *fixture) systemClock() *fixture {
	f.now = nil
	f.tenant.SetNow(nil)
	return f
}

// signedIn opens a connector and signs jane in through it, Palette's key
// set declaring itself valid for maxAge; it returns the connector and the
// session Dex would store.
func (f *fixture) signedIn(maxAge time.Duration) (*spectroConnector, connector.Identity) {
	f.t.Helper()
	f.tenant.SetJWKSMaxAge(maxAge)
	c := f.open()
	session, err := f.login(c, allScopes)
	require.NoError(f.t, err)
	return c, session
}

// authorize runs LoginURL and the emulator's authorization endpoint, and
// returns the callback request Palette's redirect leads to, with connData.
func (f *fixture) authorize(c *spectroConnector, s connector.Scopes) (*http.Request, []byte) {
	f.t.Helper()
	authURL, connData, err := c.LoginURL(s, testRedirectURI, testState)
	require.NoError(f.t, err)
	cb, err := f.tenant.Authorize(context.Background(), authURL)
	require.NoError(f.t, err)
	return httptest.NewRequest(http.MethodGet, cb.String(), nil), connData
}

// login runs a whole sign-in.
func (f *fixture) login(c *spectroConnector, s connector.Scopes) (connector.Identity, error) {
	f.t.Helper()
	req, connData := f.authorize(c, s)
	return c.HandleCallback(s, connData, req)
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func ioNopCloser(r io.Reader) io.ReadCloser { return io.NopCloser(r) }
