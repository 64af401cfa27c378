package spectrotest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestConcurrentUse runs sign-ins on two tenants while their settings, keys
// and faults change; run with -race.
func TestConcurrentUse(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetAutoLogin(testUser.Email)
	b := f.srv.AddTenant("tenant-b")
	b.AddClient(Client{ID: testClientID, Secret: testSecret, RedirectURIs: []string{testRedirect}})
	b.AddUser(testUser)
	b.SetAutoLogin(testUser.Email)

	var wg sync.WaitGroup
	for i := range 16 {
		tenant := f.tenant
		if i%2 == 1 {
			tenant = b
		}
		wg.Go(func() {
			ft := &fixture{srv: f.srv, tenant: tenant}
			for range 5 {
				loc, err := tenant.Authorize(context.Background(), authURL(tenant, map[string]string{"state": fmt.Sprint(i)}))
				if !assert.NoError(t, err) {
					return
				}
				form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {testRedirect}}
				res := postToken(t, ft, authPost, testClientID, testSecret, form)
				assert.Equal(t, http.StatusOK, res.status)
				get(t, ft, tenant.JWKSURL())
			}
		})
	}
	wg.Go(func() {
		for range 3 {
			f.tenant.RotateKey()
			f.tenant.SetJWKSMaxAge(0)
			f.tenant.SetFault(EndpointDiscovery, Fault{Status: 500})
			f.tenant.ClearFaults()
			f.tenant.AddUser(User{Email: "x@example.com"})
			_ = f.tenant.Users()
			f.tenant.SetIDTokenHook(func(map[string]any) {})
			f.tenant.SetIDTokenMint()
			_ = f.tenant.Requests(EndpointToken)
			f.tenant.SetEchoNonce(true)
		}
	})
	wg.Wait()
	assert.Equal(t, 40, b.Requests(EndpointToken))
}
