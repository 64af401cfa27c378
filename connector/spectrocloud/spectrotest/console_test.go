package spectrotest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConsoleRouting(t *testing.T) {
	f := newFixture(t)
	base := f.srv.URL + "/v1/oidc/tenant/"
	tests := []struct {
		name string
		url  string
		want int
	}{
		{"discovery", base + testTenantUID + "/.well-known/openid-configuration", http.StatusOK},
		{"jwks", base + testTenantUID + "/keys", http.StatusOK},
		{"unknown tenant", base + "nope/.well-known/openid-configuration", http.StatusNotFound},
		{"unknown path", base + testTenantUID + "/userinfo", http.StatusNotFound},
		{"trailing slash", base + testTenantUID + "/keys/", http.StatusNotFound},
		{"tenant root", base + testTenantUID, http.StatusNotFound},
		{"outside the console", f.srv.URL + "/v1/spectroclusters", http.StatusNotFound},
		{"user API without a key", f.srv.URL + "/v1/users", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _ := get(t, f, tt.url)
			assert.Equal(t, tt.want, res.StatusCode)
		})
	}
}

func TestConsoleTenants(t *testing.T) {
	c := NewConsole("https://console.example.com/")
	assert.Equal(t, "https://console.example.com", c.URL())
	assert.Nil(t, c.Tenant("a"))

	a := c.AddTenant("a")
	require.NotNil(t, a)
	assert.Same(t, a, c.AddTenant("a"), "adding an existing tenant returns it")
	assert.Same(t, a, c.Tenant("a"))
	assert.Equal(t, "a", a.UID())
	assert.Equal(t, "https://console.example.com/v1/oidc/tenant/a", a.Issuer())
	assert.Equal(t, a.Issuer()+"/auth", a.AuthURL())
	assert.Equal(t, a.Issuer()+"/token", a.TokenURL())
	assert.Equal(t, a.Issuer()+"/keys", a.JWKSURL())
	assert.Equal(t, a.Issuer()+"/.well-known/openid-configuration", a.DiscoveryURL())

	for _, uid := range []string{"", "a/b", "..", "a b", "é"} {
		assert.Panics(t, func() { c.AddTenant(uid) }, "uid %q", uid)
	}
}

func TestConsoleMountedUnderPrefix(t *testing.T) {
	c := NewConsole("http://palette.test/console/")
	tenant := c.AddTenant("t1")
	assert.Equal(t, "http://palette.test/console/v1/oidc/tenant/t1", tenant.Issuer())

	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tenant.DiscoveryURL(), nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `"issuer":"http://palette.test/console/v1/oidc/tenant/t1"`)

	rec = httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://palette.test/v1/oidc/tenant/t1/keys", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)
}

func TestTLSServer(t *testing.T) {
	srv := NewTLSServer()
	defer srv.Close()
	require.NotNil(t, srv.Certificate())
	tenant := srv.AddTenant("tls")
	res, err := srv.Client().Get(tenant.DiscoveryURL())
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, tenant.Issuer(), "https://127.0.0.1:")

	plain := NewServer()
	defer plain.Close()
	assert.Nil(t, plain.Certificate())
}

func TestTenantsAreIsolated(t *testing.T) {
	f := newFixture(t)
	a := f.tenant
	b := f.srv.AddTenant("tenant-b")
	b.AddClient(Client{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}})
	b.AddUser(testUser)

	assert.NotEqual(t, a.Issuer(), b.Issuer())
	assert.NotEqual(t, a.SigningKeyID(), b.SigningKeyID())
	aKeys, bKeys := fetchJWKS(t, f, a), fetchJWKS(t, f, b)
	assert.Empty(t, aKeys.Key(b.SigningKeyID()))
	assert.Empty(t, bKeys.Key(a.SigningKeyID()))

	// A code of tenant A is worthless at tenant B, even for a client of the
	// same ID and secret.
	code := f.code(t, nil)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}}
	fb := &fixture{srv: f.srv, tenant: b}
	requireOAuthError(t, postToken(t, fb, authBasic, testClientID, testSecret, form), http.StatusBadRequest, "invalid_grant")

	// A's ID tokens do not verify with B's keys.
	res := exchange(t, f, code, nil)
	require.Equal(t, http.StatusOK, res.status)
	_, err := verifyWithJWKS(bKeys, res.str("id_token"), "RS256")
	assert.Error(t, err)

	// Settings, faults and counters are per tenant.
	a.ResetRequests()
	b.ResetRequests()
	a.SetDiscovery(false)
	b.SetFault(EndpointJWKS, Fault{Status: http.StatusServiceUnavailable})
	r1, _ := get(t, f, a.DiscoveryURL())
	r2, _ := get(t, f, b.DiscoveryURL())
	r3, _ := get(t, f, a.JWKSURL())
	r4, _ := get(t, f, b.JWKSURL())
	assert.Equal(t, []int{404, 200, 200, 503}, []int{r1.StatusCode, r2.StatusCode, r3.StatusCode, r4.StatusCode})
	assert.Equal(t, 1, a.Requests(EndpointDiscovery))
	assert.Equal(t, 1, b.Requests(EndpointJWKS))
	assert.Equal(t, 0, b.Requests(EndpointToken))

	// Clients are per tenant.
	c := f.srv.AddTenant("tenant-c")
	_, err = c.Authorize(context.Background(), authURL(c, nil))
	require.ErrorContains(t, err, "400")
	require.ErrorContains(t, err, "unknown client_id")
}
