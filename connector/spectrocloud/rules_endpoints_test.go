package spectrocloud

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
)

// A discovery document that names another issuer is refused, and configured
// endpoints do not turn that refusal into a fallback: the connector never
// talks to endpoints listed by a document made for someone else, nor to its
// own configured ones, while the document at its issuer's address disowns it.
func TestRuleDiscoveryIssuerMismatch(t *testing.T) {
	const evilIssuer = "https://evil.example.com/v1/oidc/tenant/" + testTenant
	tests := []struct {
		name string
		// docIssuer is the issuer the discovery document names; nil keeps
		// the tenant's own document.
		docIssuer func(f *fixture) string
		// overrides configures every endpoint explicitly.
		overrides bool
	}{
		{name: "own document (control)"},
		{name: "own document, all endpoints configured (control)", overrides: true},
		{name: "another issuer", docIssuer: func(*fixture) string { return evilIssuer }},
		{name: "another issuer, all endpoints configured", docIssuer: func(*fixture) string { return evilIssuer }, overrides: true},
		{name: "the issuer with a trailing slash", docIssuer: func(f *fixture) string { return f.tenant.Issuer() + "/" }},
		{name: "the issuer with a trailing slash, all endpoints configured",
			docIssuer: func(f *fixture) string { return f.tenant.Issuer() + "/" }, overrides: true},
		{name: "no issuer", docIssuer: func(*fixture) string { return "" }},
	}
	shared := newFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := shared.freshCase(t)
			if tt.overrides {
				f.cfg.ProviderDiscoveryOverrides = ProviderDiscoveryOverrides{
					AuthURL: f.tenant.AuthURL(), TokenURL: f.tenant.TokenURL(), JWKSURL: f.tenant.JWKSURL(),
				}
			}
			var named string
			if tt.docIssuer != nil {
				named = tt.docIssuer(f)
				// Everything but the issuer is the tenant's: were the
				// mismatch ignored, every sign-in would work.
				f.tenant.SetFault(spectrotest.EndpointDiscovery, spectrotest.Fault{
					Status: http.StatusOK, ContentType: "application/json", Body: discoveryDocFor(t, f.tenant, named),
				})
				f.tenant.ResetRequests()
			}
			c := f.open()
			token := f.tenant.MintIDToken(f.tenant.Claims(jane, testClientID, ""))

			_, _, loginErr := c.LoginURL(allScopes, testRedirectURI, testState)
			_, exchangeErr := c.TokenIdentity(context.Background(), tokenTypeIDToken, token)
			p, err := f.cfg.Probe("palette", nil)
			require.NoError(t, err)
			_, inspectErr := p.KeyIDs(context.Background())
			if tt.docIssuer == nil {
				require.NoError(t, loginErr)
				require.NoError(t, exchangeErr)
				require.NoError(t, inspectErr)
				return
			}
			for what, err := range map[string]error{"LoginURL": loginErr, "TokenIdentity": exchangeErr, "check": inspectErr} {
				require.Error(t, err, what)
				assert.Contains(t, err.Error(), strconv.Quote(named), "%s names the issuer the document gives", what)
				assert.Contains(t, err.Error(), strconv.Quote(f.tenant.Issuer()), "%s names the issuer expected", what)
				assert.NotContains(t, err.Error(), "providerDiscoveryOverrides.jwksURL", "%s does not suggest a setting that cannot help", what)
			}
			assert.Zero(t, f.tenant.Requests(spectrotest.EndpointJWKS), "no key is fetched")
			assert.Zero(t, f.tenant.Requests(spectrotest.EndpointToken))
			assert.NotContains(t, f.logs.String(), "using the configured endpoints")
		})
	}
}

// discoveryDocFor returns the tenant's discovery document with another
// issuer.
func discoveryDocFor(t testing.TB, tenant *spectrotest.Tenant, issuer string) []byte {
	t.Helper()
	res, err := http.Get(tenant.DiscoveryURL())
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var doc map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&doc))
	doc["issuer"] = issuer
	body, err := json.Marshal(doc)
	require.NoError(t, err)
	return body
}

// No request to Palette follows a redirect: not discovery, not the JWKS, not
// the token endpoint (whose request carries the client secret and the code).
// Each redirect leads to a server that would answer correctly, so a client
// that followed it would sign the user in.
func TestRuleNoRedirectsFromPalette(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string // the endpoint that redirects (discovery, jwks, token); "" for none
		status   int
	}{
		{name: "no redirect (control)"},
		{name: "discovery 302", endpoint: "discovery", status: http.StatusFound},
		{name: "discovery 301", endpoint: "discovery", status: http.StatusMovedPermanently},
		{name: "JWKS 302", endpoint: "jwks", status: http.StatusFound},
		{name: "JWKS 308", endpoint: "jwks", status: http.StatusPermanentRedirect},
		{name: "token 307", endpoint: "token", status: http.StatusTemporaryRedirect},
		{name: "token 308", endpoint: "token", status: http.StatusPermanentRedirect},
		{name: "token 303", endpoint: "token", status: http.StatusSeeOther},
	}
	shared, redirects := newRedirectingFixture(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := shared.freshCase(t)
			redirects.set(tt.endpoint, tt.status)
			c := f.open()
			_, err := signInOnce(f, c)
			assert.Zero(t, redirects.followed.Load(), "the redirect target received a request")
			if tt.endpoint == "" {
				require.NoError(t, err)
				return
			}
			var upstream *UpstreamError
			require.ErrorAs(t, err, &upstream)
			assert.Equal(t, tt.endpoint, upstream.Endpoint)
			assert.Contains(t, err.Error(), strconv.Itoa(tt.status))
		})
	}
}

// redirector answers requests for one of a tenant's endpoints with a
// redirect to another server, which serves the same console: a followed
// redirect would succeed.
type redirector struct {
	tenant    *spectrotest.Tenant
	elsewhere string // base URL of the server redirected to

	mu       sync.Mutex
	url      string // the endpoint that redirects; "" for none
	status   int
	followed atomic.Int64 // requests the server redirected to received
}

// set makes the endpoint ("discovery", "jwks", "token" or "" for none)
// redirect with status, and resets the count of followed redirects.
func (r *redirector) set(endpoint string, status int) {
	url := map[string]string{
		"discovery": r.tenant.DiscoveryURL(), "jwks": r.tenant.JWKSURL(), "token": r.tenant.TokenURL(),
	}[endpoint]
	r.mu.Lock()
	defer r.mu.Unlock()
	r.url, r.status = url, status
	r.followed.Store(0)
}

func (r *redirector) target() (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.url, r.status
}

// newRedirectingFixture is a fixture whose Palette is served through a
// redirector.
func newRedirectingFixture(t *testing.T) (*fixture, *redirector) {
	t.Helper()
	f := newFixture(t)
	front := httptest.NewUnstartedServer(nil)
	console := spectrotest.NewConsole("http://" + front.Listener.Addr().String())
	tenant := console.AddTenant(testTenant)
	tenant.SetNow(f.clock.Now)
	tenant.AddClient(spectrotest.Client{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{testRedirectURI}})
	tenant.AddUser(jane)
	tenant.SetAutoLogin(jane.Email)

	r := &redirector{tenant: tenant}
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.followed.Add(1)
		console.ServeHTTP(w, req)
	}))
	t.Cleanup(elsewhere.Close)
	r.elsewhere = elsewhere.URL

	front.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if url, status := r.target(); url != "" && "http://"+req.Host+req.URL.Path == url {
			http.Redirect(w, req, r.elsewhere+req.URL.RequestURI(), status)
			return
		}
		console.ServeHTTP(w, req)
	})
	front.Start()
	t.Cleanup(front.Close)

	f.tenant = tenant
	f.cfg.ConsoleURL = console.URL()
	return f, r
}
