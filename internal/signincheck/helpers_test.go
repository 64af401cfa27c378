package signincheck

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/config"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	serveharness "github.com/dex-spectro/dex-spectro/internal/dextest/harness"
)

const (
	clientID     = dextest.PaletteClientID
	clientSecret = "dex-client-secret-value"
	catalogToken = "catalog-token-value-0123456789"
	remoteURI    = "https://dex.example.com/dex/callback"
)

var jane = spectrotest.User{Sub: "64a1b2c3d4e5f60718293a4b", Email: "jane@example.com", GivenName: "Jane",
	FamilyName: "Doe", Groups: []string{"platform", "admins"}}

// receipt is how the test's browser hands Palette's answer back.
type receipt int

const (
	viaListener receipt = iota // the check listens on a loopback redirectURI
	viaPaste                   // the check reads the pasted URL
)

func (r receipt) String() string {
	if r == viaListener {
		return "listening on redirectURI"
	}
	return "pasted URL"
}

// harness is an emulated Palette tenant and a configuration for it.
type harness struct {
	t        *testing.T
	palette  *spectrotest.Server
	tenant   *spectrotest.Tenant
	redirect string
	receipt  receipt
	// connectorConfig is YAML added under the connector's config.
	connectorConfig string
	// topLevel is YAML added at the top level (expiry).
	topLevel string
	// closeStdin ends standard input once the URL is printed.
	closeStdin bool
}

func newHarness(t *testing.T, r receipt) *harness {
	t.Helper()
	palette := spectrotest.NewServer()
	t.Cleanup(palette.Close)
	h := &harness{t: t, palette: palette, receipt: r, redirect: remoteURI}
	if r == viaListener {
		h.redirect = "http://" + serveharness.FreeAddr(t) + "/dex/callback"
	}
	h.tenant = palette.AddTenant(dextest.TenantUID)
	h.tenant.AddClient(spectrotest.Client{ID: clientID, Secret: clientSecret, RedirectURIs: []string{h.redirect}})
	h.tenant.AddUser(jane)
	h.tenant.SetAutoLogin(jane.Email)
	return h
}

func (h *harness) config() *config.Config {
	h.t.Helper()
	keys := dextest.YAMLMap(h.connectorConfig)
	if keys == nil {
		keys = map[string]any{}
	}
	keys["clientSecret"], keys["redirectURI"] = clientSecret, h.redirect
	yaml, err := dextest.DexConfig{
		Issuer: "https://dex.example.com/dex", HTTP: "127.0.0.1:5556",
		Connectors: []dextest.ConnectorFunc{dextest.SpectroCloud("palette", h.palette.URL, dextest.TenantUID, keys)},
	}.With(h.topLevel).YAML()
	require.NoError(h.t, err)
	cfg, _, err := config.Load(yaml, config.Options{Strict: true})
	require.NoError(h.t, err, "%s", yaml)
	return cfg
}

// browser plays the user: given the printed authorization URL, it returns
// the URL Palette sends the browser back to.
type browser func(t *testing.T, h *harness, authURL string) string

// signIn follows the authorization URL, as a browser does; with the
// tenant's auto-login it is sent back to redirectURI at once.
func signIn(t *testing.T, h *harness, authURL string) string {
	p, err := dextest.NewBrowser().Walk(context.Background(), authURL, h.redirect)
	require.NoError(t, err)
	require.Zero(t, p.Status, "sent back to redirectURI, not to a page")
	return p.URL.String()
}

// signInWithForm submits the emulator's sign-in page for jane.
func signInWithForm(t *testing.T, h *harness, authURL string) string {
	loc, err := h.tenant.AuthorizeAs(context.Background(), authURL, jane.Email)
	require.NoError(t, err)
	return loc.String()
}

// result is the outcome of one check.
type result struct {
	out      string // what the check printed
	logs     string // the connector's log records
	err      error
	callback string // the URL the browser was sent back to
}

func (r result) status() int {
	if r.err == nil {
		return StatusSignedIn
	}
	var e *Error
	if errors.As(r.err, &e) {
		return e.Status
	}
	return -1
}

// run runs the check; the browser takes the URL from the printed output
// and answers as the harness's receipt says.
func (h *harness) run(cfg *config.Config, opts Options, b browser) result {
	t := h.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, logs := &dextest.LogBuffer{}, &dextest.LogBuffer{}
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	opts.In, opts.Out = stdinR, out
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opts.Wait == 0 {
		opts.Wait = 30 * time.Second
	}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, opts) }()
	// The browser opens the authorization URL once the check prints it.
	printed := make(chan string, 1)
	watch, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	go func() {
		if line, ok := out.AwaitLine(watch, h.tenant.AuthURL()+"?"); ok {
			printed <- line
		}
	}()

	var res result
	select {
	case authURL := <-printed:
		switch {
		case b != nil:
			res.callback = b(t, h, authURL)
			h.deliver(t, res.callback, stdinW)
		case h.closeStdin:
			_ = stdinW.Close()
		}
		res.err = <-done
	case res.err = <-done:
	}
	res.out = out.String()
	res.logs = logs.String()
	return res
}

// deliver hands the callback URL to the check the harness's way.
func (h *harness) deliver(t *testing.T, callback string, stdin io.Writer) {
	if h.receipt == viaPaste {
		go func() { _, _ = io.WriteString(stdin, "  "+callback+"  \n") }()
		return
	}
	resp, err := http.Get(callback)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	require.NotContains(t, string(body), "code=", "the page does not echo the code")
}

// newCatalog serves a Backstage catalog holding one User entity, jane,
// found by her email or name.
func newCatalog(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/catalog/entities/by-query" || r.Header.Get("Authorization") != "Bearer "+catalogToken {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		items := []any{}
		if f := r.URL.Query().Get("filter"); strings.Contains(f, "=jane@example.com") || strings.HasSuffix(f, "=jane") {
			items = append(items, map[string]any{
				"apiVersion": "backstage.io/v1alpha1", "kind": "User",
				"metadata":  map[string]any{"name": "jane", "namespace": "default"},
				"spec":      map[string]any{"profile": map[string]any{"email": "jane@example.com"}},
				"relations": []any{},
			})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"items": items, "totalItems": len(items)})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// runWith runs the check with the harness's configuration.
func (h *harness) runWith(opts Options, b browser, closeStdin bool) result {
	h.closeStdin = closeStdin
	return h.run(h.config(), opts, b)
}

// netListen occupies a loopback port for the test's duration.
func netListen(t *testing.T) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln.Addr().String(), nil
}
