package spectrocloud

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
)

// withoutDiscovery configures the JWKS URL, so that the connector works
// against a tenant whose discovery is switched off.
func withoutDiscovery(f *fixture) {
	f.tenant.SetDiscovery(false)
	f.cfg.ProviderDiscoveryOverrides.JWKSURL = f.tenant.JWKSURL()
}

// The connector authenticates at the token endpoint the way it takes, on the
// first try when discovery says how, and otherwise by trying basic, then post
// once, remembering what worked. Each sign-in redeems its code exactly once.
func TestClientAuthentication(t *testing.T) {
	tests := []struct {
		name   string
		tenant func(f *fixture)
		config func(*Config)
		// token requests of the first and the second sign-in
		first, second int
		want          string // the method that worked
	}{
		{name: "both methods, advertised", first: 1, second: 1, want: authMethodBasic},
		{name: "post only, advertised", first: 1, second: 1, want: authMethodPost,
			tenant: func(f *fixture) { f.tenant.SetTokenAuthMethods(spectrotest.AuthMethodPost) }},
		{name: "basic only, advertised", first: 1, second: 1, want: authMethodBasic,
			tenant: func(f *fixture) { f.tenant.SetTokenAuthMethods(spectrotest.AuthMethodBasic) }},
		{name: "post only, not advertised", first: 2, second: 1, want: authMethodPost,
			tenant: func(f *fixture) {
				f.tenant.SetTokenAuthMethods(spectrotest.AuthMethodPost)
				f.tenant.SetAdvertiseTokenAuthMethods(false)
			}},
		{name: "post only, no discovery", first: 2, second: 1, want: authMethodPost,
			tenant: func(f *fixture) {
				f.tenant.SetTokenAuthMethods(spectrotest.AuthMethodPost)
				withoutDiscovery(f)
			}},
		{name: "basic only, no discovery", first: 1, second: 1, want: authMethodBasic,
			tenant: func(f *fixture) {
				f.tenant.SetTokenAuthMethods(spectrotest.AuthMethodBasic)
				withoutDiscovery(f)
			}},
		{name: "token URL overridden: discovery's methods do not apply", first: 2, second: 1, want: authMethodPost,
			tenant: func(f *fixture) {
				f.tenant.SetTokenAuthMethods(spectrotest.AuthMethodPost)
				f.tenant.SetAdvertiseTokenAuthMethods(true)
				f.cfg.ProviderDiscoveryOverrides.TokenURL = f.tenant.TokenURL()
			}},
		{name: "basicAuthUnsupported", first: 1, second: 1, want: authMethodPost,
			config: func(c *Config) { c.BasicAuthUnsupported = true }},
		{name: "basicAuthUnsupported, no discovery", first: 1, second: 1, want: authMethodPost,
			config: func(c *Config) { c.BasicAuthUnsupported = true },
			tenant: func(f *fixture) { withoutDiscovery(f) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.config != nil {
				tt.config(&f.cfg)
			}
			if tt.tenant != nil {
				tt.tenant(f)
			}
			c := f.open()
			for i, want := range []int{tt.first, tt.second} {
				f.tenant.ResetRequests()
				redeemed := f.tenant.CodeRedemptions()
				id, err := f.login(c, allScopes)
				require.NoError(t, err, "sign-in %d", i+1)
				assert.Equal(t, "user-jane", id.UserID)
				assert.Equal(t, want, f.tenant.Requests(spectrotest.EndpointToken), "token requests of sign-in %d", i+1)
				assert.Equal(t, redeemed+1, f.tenant.CodeRedemptions(), "sign-in %d redeems its code once", i+1)
			}
			attempt, fallback := c.auth.plan()
			assert.Equal(t, tt.want, attempt.method)
			assert.False(t, fallback, "once known, the method is used without probing")
		})
	}
}

// basicAuthUnsupported: true never sends basic credentials, even to a token
// endpoint that takes only those.
func TestBasicAuthUnsupportedIsNeverOverridden(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.BasicAuthUnsupported = true })
	f.tenant.SetTokenAuthMethods(spectrotest.AuthMethodBasic)
	_, err := f.login(f.open(), allScopes)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid_client")
	assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointToken))
}

// A code that Palette has consumed is never sent again: after any answer
// but invalid_client, there is no second attempt with the other method. Here
// the code expires between the redirect and its redemption, so the token
// endpoint consumes it and answers invalid_grant.
func TestFallbackNeverResendsAConsumedCode(t *testing.T) {
	for _, name := range []string{"not advertised", "no discovery"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.tenant.SetTokenAuthMethods(spectrotest.AuthMethodPost)
			f.tenant.SetAdvertiseTokenAuthMethods(false)
			if name == "no discovery" {
				withoutDiscovery(f)
			}
			c := f.open()
			req, connData := f.authorize(c, allScopes)
			f.clock.Advance(spectrotest.DefaultCodeLifetime + time.Second)
			_, err := c.HandleCallback(allScopes, connData, req)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "invalid_grant")
			assert.Equal(t, 1, f.tenant.CodeRedemptions(), "the code reached the token endpoint once")
			assert.Equal(t, 2, f.tenant.Requests(spectrotest.EndpointToken), "basic refused, then post once")
		})
	}

	t.Run("basic taken, code expired", func(t *testing.T) {
		f := newFixture(t)
		f.tenant.SetAdvertiseTokenAuthMethods(false)
		c := f.open()
		req, connData := f.authorize(c, allScopes)
		f.clock.Advance(spectrotest.DefaultCodeLifetime + time.Second)
		_, err := c.HandleCallback(allScopes, connData, req)
		require.Error(t, err)
		assert.Equal(t, 1, f.tenant.CodeRedemptions())
		assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointToken), "invalid_grant is no reason to try post")
	})

	t.Run("a server error", func(t *testing.T) {
		f := newFixture(t)
		f.tenant.SetAdvertiseTokenAuthMethods(false)
		f.tenant.SetFault(spectrotest.EndpointToken, spectrotest.Fault{Status: http.StatusInternalServerError})
		_, err := f.login(f.open(), allScopes)
		require.Error(t, err)
		assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointToken), "a failure other than invalid_client is never retried")
	})
}

// Wrong credentials fail with a message that names both methods, and teach
// the connector nothing.
func TestClientAuthenticationBothRefused(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.ClientSecret = "wrong-secret" })
	f.tenant.SetAdvertiseTokenAuthMethods(false)
	c := f.open()
	for range 2 {
		f.tenant.ResetRequests()
		_, err := f.login(c, allScopes)
		var up *UpstreamError
		require.ErrorAs(t, err, &up)
		assert.Contains(t, err.Error(), "client_secret_basic and client_secret_post")
		assert.Contains(t, err.Error(), "check clientID and clientSecret")
		assert.NotContains(t, err.Error(), "wrong-secret")
		assert.Equal(t, 2, f.tenant.Requests(spectrotest.EndpointToken))
	}
	assert.Zero(t, f.tenant.CodeRedemptions())
	_, fallback := c.auth.plan()
	assert.True(t, fallback, "nothing was learned")
}

// Concurrent first sign-ins probe independently and all succeed; each code
// is redeemed once.
func TestClientAuthenticationConcurrent(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetTokenAuthMethods(spectrotest.AuthMethodPost)
	f.tenant.SetAdvertiseTokenAuthMethods(false)
	c := f.open()
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		req, connData := f.authorize(c, allScopes)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.HandleCallback(allScopes, connData, req)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, n, f.tenant.CodeRedemptions())
	assert.LessOrEqual(t, f.tenant.Requests(spectrotest.EndpointToken), 2*n)
	attempt, _ := c.auth.plan()
	assert.Equal(t, authMethodPost, attempt.method)
}

// The choice from discovery: basic when listed, post when only post is.
func TestClientAuthPlan(t *testing.T) {
	tests := []struct {
		name       string
		doc        *discoveryDoc
		overridden bool
		forcePost  bool
		want       authAttempt
		fallback   bool
	}{
		{"no discovery", nil, false, false, authAttempt{authMethodBasic, authChosenByDefault}, true},
		{"field absent", &discoveryDoc{}, false, false, authAttempt{authMethodBasic, authChosenByDefault}, true},
		{"both", &discoveryDoc{TokenAuthMethods: []string{"client_secret_post", "client_secret_basic"}}, false, false, authAttempt{authMethodBasic, authChosenByDiscovery}, false},
		{"post only", &discoveryDoc{TokenAuthMethods: []string{"client_secret_post"}}, false, false, authAttempt{authMethodPost, authChosenByDiscovery}, false},
		{"neither", &discoveryDoc{TokenAuthMethods: []string{"private_key_jwt"}}, false, false, authAttempt{authMethodBasic, authChosenByDefault}, true},
		{"token URL overridden", &discoveryDoc{TokenAuthMethods: []string{"client_secret_post"}}, true, false, authAttempt{authMethodBasic, authChosenByDefault}, true},
		{"forced post", &discoveryDoc{TokenAuthMethods: []string{"client_secret_basic"}}, false, true, authAttempt{authMethodPost, authChosenByConfig}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &clientAuth{forcePost: tt.forcePost}
			a.discovered(tt.doc, tt.overridden)
			got, fallback := a.plan()
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.fallback, fallback)
		})
	}
}

// Only the OAuth error invalid_client allows the fallback.
func TestIsInvalidClient(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"invalid_client", &oauth2.RetrieveError{ErrorCode: "invalid_client"}, true},
		{"wrapped", errors.Join(errors.New("x"), &oauth2.RetrieveError{ErrorCode: "invalid_client"}), true},
		{"invalid_grant", &oauth2.RetrieveError{ErrorCode: "invalid_grant"}, false},
		{"401 without a code", &oauth2.RetrieveError{Response: &http.Response{StatusCode: http.StatusUnauthorized}}, false},
		{"timeout", context.DeadlineExceeded, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, isInvalidClient(tt.err))
		})
	}
}
