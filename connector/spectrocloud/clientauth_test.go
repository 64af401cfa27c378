package spectrocloud

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
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

func boolPtr(b bool) *bool { return &b }

// What a discovery document says about client authentication, or that
// there is none.
var discoveryCases = []struct {
	name  string
	setup func(f *fixture)
	// basicFirst is true when the method is automatic and discovery makes
	// client_secret_basic the first choice.
	basicFirst bool
}{
	{name: "discovery lists basic", basicFirst: true,
		setup: func(f *fixture) { f.tenant.SetAdvertisedTokenAuthMethods(spectrotest.AuthMethodBasic) }},
	{name: "discovery lists post",
		setup: func(f *fixture) { f.tenant.SetAdvertisedTokenAuthMethods(spectrotest.AuthMethodPost) }},
	{name: "discovery lists both",
		setup: func(f *fixture) {
			f.tenant.SetAdvertisedTokenAuthMethods(spectrotest.AuthMethodBasic, spectrotest.AuthMethodPost)
		}},
	{name: "discovery lists nothing",
		setup: func(f *fixture) { f.tenant.SetAdvertiseTokenAuthMethods(false) }},
	{name: "no discovery", setup: withoutDiscovery},
	{name: "discovery shaped as Palette's schema",
		setup: func(f *fixture) { f.tenant.SetSchemaShapedDiscovery(true) }},
}

// How the token endpoint takes client authentication: every way a
// post-only endpoint refuses a Basic header, and, for contrast, endpoints
// that take both methods or Basic only.
var tokenEndpointCases = []struct {
	name  string
	setup func(t *spectrotest.Tenant)
	// takes is the method it takes, "" for both.
	takes string
	// redeemsRefused is true when a refused request still uses up its code.
	redeemsRefused bool
	// answer is what a refused request gets.
	answer string
}{
	{name: "takes both"},
	{name: "post only, Basic refused first", takes: authMethodPost, answer: "invalid_client",
		setup: func(t *spectrotest.Tenant) { t.SetBasicRefusal(spectrotest.RefuseBasicFirst) }},
	{name: "post only, Basic ignored", takes: authMethodPost, answer: "invalid_request",
		setup: func(t *spectrotest.Tenant) { t.SetBasicRefusal(spectrotest.IgnoreBasic) }},
	{name: "post only, code used up, then Basic refused", takes: authMethodPost, answer: "invalid_client", redeemsRefused: true,
		setup: func(t *spectrotest.Tenant) { t.SetBasicRefusal(spectrotest.RedeemThenRefuseBasic) }},
	{name: "basic only", takes: authMethodBasic, answer: "invalid_client"},
}

// Every sign-in case against every token endpoint: each sign-in sends its
// code once, whatever the answer; the first sign-in succeeds whenever the
// method chosen is one the endpoint takes; a refusal names the key to set;
// and, with the method automatic, the sign-in after a refusal succeeds
// with the other method. Run on the fake clock and on the emulator's real
// time.
func TestClientAuthenticationEverywhere(t *testing.T) {
	modes := []struct {
		name string
		set  *bool
	}{{"basicAuthUnsupported unset", nil}, {"basicAuthUnsupported: true", boolPtr(true)}, {"basicAuthUnsupported: false", boolPtr(false)}}
	for clockName, clock := range map[string]func(*fixture) *fixture{
		"fake clock": func(f *fixture) *fixture { return f },
		"real time":  (*fixture).systemClock,
	} {
		t.Run(clockName, func(t *testing.T) {
			for _, ep := range tokenEndpointCases {
				for _, dc := range discoveryCases {
					t.Run(ep.name+"/"+dc.name, func(t *testing.T) {
						f := clock(newFixture(t))
						if ep.takes != "" {
							f.tenant.SetTokenAuthMethods(ep.takes)
						}
						if ep.setup != nil {
							ep.setup(f.tenant)
						}
						dc.setup(f)
						for _, mode := range modes {
							f.cfg.BasicAuthUnsupported = mode.set
							checkSignIns(t, f, mode.name, mode.set, dc.basicFirst, ep.takes, ep.answer, ep.redeemsRefused)
						}
					})
				}
			}
		})
	}
}

// checkSignIns runs three sign-ins through one connector and checks each.
func checkSignIns(t *testing.T, f *fixture, modeName string, mode *bool, basicFirst bool, takes, answer string, redeemsRefused bool) {
	t.Helper()
	c := f.open()
	method := authMethodPost
	switch {
	case mode != nil && !*mode:
		method = authMethodBasic
	case mode == nil && basicFirst:
		method = authMethodBasic
	}
	for i := range 3 {
		f.tenant.ResetRequests()
		before := f.tenant.CodeRedemptions()
		_, err := f.login(c, allScopes)
		what := modeName + ", sign-in " + string(rune('1'+i)) + " with " + method
		require.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointToken), "%s: one token request", what)
		accepted := takes == "" || takes == method
		redeemed := f.tenant.CodeRedemptions() - before
		if accepted {
			require.NoError(t, err, what)
			assert.Equal(t, 1, redeemed, "%s: the code is redeemed once", what)
			continue
		}
		require.Error(t, err, what)
		if redeemsRefused {
			assert.Equal(t, 1, redeemed, "%s: the code was used up, and never sent again", what)
		} else {
			assert.Zero(t, redeemed, "%s: the code never reached the code check", what)
		}
		msg := err.Error()
		assert.Contains(t, msg, method, what)
		assert.Contains(t, msg, answer, what)
		assert.NotContains(t, msg, testClientSecret, what)
		want := "basicAuthUnsupported: true"
		if method == authMethodPost {
			want = "basicAuthUnsupported: false"
		}
		assert.Contains(t, msg, want, "%s: the error names the key to set", what)
		if mode == nil {
			// The next sign-in, with a new code, tries the other method.
			assert.Contains(t, msg, "the next sign-in tries", what)
			assert.Contains(t, f.logs.String(), "the next sign-in tries the other one")
			method = otherMethod(method)
		}
	}
}

// A method that worked once is kept when it is refused later: the refusal
// then means wrong credentials, and the message says so.
func TestClientAuthenticationKeepsAMethodThatWorked(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetTokenAuthMethods(spectrotest.AuthMethodPost)
	f.tenant.SetAdvertiseTokenAuthMethods(false)
	c := f.open()
	_, err := f.login(c, allScopes)
	require.NoError(t, err)

	f.tenant.AddClient(spectrotest.Client{ID: testClientID, Secret: "rotated-secret", RedirectURIs: []string{testRedirectURI}})
	for range 2 {
		_, err = f.login(c, allScopes)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "check clientID and clientSecret (client_secret_post worked at an earlier sign-in)")
		assert.Equal(t, authMethodPost, c.auth.plan().method)
	}
}

// After a switch, a method that works is remembered as such.
func TestClientAuthenticationRemembersTheSwitch(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetTokenAuthMethods(spectrotest.AuthMethodPost)
	f.tenant.SetAdvertisedTokenAuthMethods(spectrotest.AuthMethodBasic)
	c := f.open()
	_, err := f.login(c, allScopes)
	require.Error(t, err)
	assert.Equal(t, authAttempt{authMethodPost, "switched: the token endpoint refused client_secret_basic at an earlier sign-in (invalid_client)"}, c.auth.plan())
	for range 2 {
		_, err = f.login(c, allScopes)
		require.NoError(t, err)
		assert.Equal(t, authAttempt{authMethodPost, authChosenByMemory}, c.auth.plan())
	}
}

// basicAuthUnsupported: true never sends basic credentials, even to a token
// endpoint that takes only those, and false never sends them in the form.
func TestBasicAuthUnsupportedIsNeverOverridden(t *testing.T) {
	for _, tt := range []struct {
		set   bool
		takes string
	}{{true, spectrotest.AuthMethodBasic}, {false, spectrotest.AuthMethodPost}} {
		f := newFixture(t, func(c *Config) { c.BasicAuthUnsupported = boolPtr(tt.set) })
		f.tenant.SetTokenAuthMethods(tt.takes)
		f.tenant.SetAdvertisedTokenAuthMethods(tt.takes)
		c := f.open()
		for range 2 {
			f.tenant.ResetRequests()
			_, err := f.login(c, allScopes)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "invalid_client")
			assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointToken))
		}
	}
}

// A code that may have been used up is never sent again, whatever the
// answer: here the code expires between the redirect and its redemption,
// so the token endpoint consumes it and answers invalid_grant, and a
// server error is not retried either.
func TestOneTokenRequestPerCode(t *testing.T) {
	for _, name := range []string{"discovery lists basic", "no discovery"} {
		t.Run(name+", code expired", func(t *testing.T) {
			f := newFixture(t)
			if name == "no discovery" {
				withoutDiscovery(f)
			} else {
				f.tenant.SetAdvertisedTokenAuthMethods(spectrotest.AuthMethodBasic)
			}
			c := f.open()
			req, connData := f.authorize(c, allScopes)
			f.clock.Advance(spectrotest.DefaultCodeLifetime + time.Second)
			_, err := c.HandleCallback(allScopes, connData, req)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "invalid_grant")
			assert.Equal(t, 1, f.tenant.CodeRedemptions(), "the code reached the token endpoint once")
			assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointToken))
			if name == "no discovery" {
				assert.NotContains(t, err.Error(), "basicAuthUnsupported", "invalid_grant after client_secret_post is about the code")
			} else {
				assert.Contains(t, err.Error(), "sign in again, and if every sign-in fails so, set basicAuthUnsupported: true, since Palette may use up the code before it refuses client_secret_basic")
			}
		})
	}

	t.Run("a server error", func(t *testing.T) {
		f := newFixture(t)
		f.tenant.SetFault(spectrotest.EndpointToken, spectrotest.Fault{Status: http.StatusInternalServerError})
		_, err := f.login(f.open(), allScopes)
		require.Error(t, err)
		assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointToken), "a failure is never retried")
		assert.NotContains(t, err.Error(), "basicAuthUnsupported")
	})
}

// Wrong credentials fail with a message that names them; with the method
// automatic, sign-ins alternate between the methods, one request each.
func TestClientAuthenticationWrongCredentials(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.ClientSecret = "wrong-secret" })
	f.tenant.SetAdvertiseTokenAuthMethods(false)
	c := f.open()
	for _, method := range []string{authMethodPost, authMethodBasic, authMethodPost} {
		f.tenant.ResetRequests()
		_, err := f.login(c, allScopes)
		var up *UpstreamError
		require.ErrorAs(t, err, &up)
		assert.Contains(t, err.Error(), "Palette refused the client credentials sent with "+method)
		assert.Contains(t, err.Error(), "check clientID and clientSecret")
		assert.NotContains(t, err.Error(), "wrong-secret")
		assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointToken))
	}
	assert.Zero(t, f.tenant.CodeRedemptions())
}

// Concurrent first sign-ins against a token endpoint that refuses the
// method discovery lists: each sends its code once; once one has been
// refused, later sign-ins use the other method.
func TestClientAuthenticationConcurrent(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetTokenAuthMethods(spectrotest.AuthMethodPost)
	f.tenant.SetBasicRefusal(spectrotest.RedeemThenRefuseBasic)
	f.tenant.SetAdvertisedTokenAuthMethods(spectrotest.AuthMethodBasic)
	c := f.open()
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		req, connData := f.authorize(c, allScopes)
		wg.Go(func() { _, errs[i] = c.HandleCallback(allScopes, connData, req) })
	}
	wg.Wait()
	assert.Equal(t, n, f.tenant.CodeRedemptions(), "each code was sent once")
	assert.Equal(t, n, f.tenant.Requests(spectrotest.EndpointToken))
	_, err := f.login(c, allScopes)
	require.NoError(t, err)
}

// The choice from discovery: post when listed, basic only when listed
// without post, post when discovery says nothing.
func TestClientAuthPlan(t *testing.T) {
	list := func(s ...string) looseList { return s }
	tests := []struct {
		name       string
		doc        *discoveryDoc
		overridden bool
		mode       authMode
		want       authAttempt
	}{
		{"no discovery", nil, false, authAutomatic, authAttempt{authMethodPost, authChosenByDefault}},
		{"field absent", &discoveryDoc{}, false, authAutomatic, authAttempt{authMethodPost, authChosenByDefault}},
		{"both", &discoveryDoc{TokenAuthMethods: list(authMethodBasic, authMethodPost)}, false, authAutomatic, authAttempt{authMethodPost, authChosenByDiscoveryPost}},
		{"post only", &discoveryDoc{TokenAuthMethods: list(authMethodPost)}, false, authAutomatic, authAttempt{authMethodPost, authChosenByDiscoveryPost}},
		{"basic only", &discoveryDoc{TokenAuthMethods: list(authMethodBasic)}, false, authAutomatic, authAttempt{authMethodBasic, authChosenByDiscoveryBasic}},
		{"neither", &discoveryDoc{TokenAuthMethods: list("private_key_jwt")}, false, authAutomatic, authAttempt{authMethodPost, authChosenByDefault}},
		{"token URL overridden", &discoveryDoc{TokenAuthMethods: list(authMethodBasic)}, true, authAutomatic, authAttempt{authMethodPost, authChosenByOverride}},
		{"true", &discoveryDoc{TokenAuthMethods: list(authMethodBasic)}, false, authAlwaysPost, authAttempt{authMethodPost, authChosenByConfigPost}},
		{"false", &discoveryDoc{TokenAuthMethods: list(authMethodPost)}, false, authAlwaysBasic, authAttempt{authMethodBasic, authChosenByConfigBasic}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newClientAuth(tt.mode)
			a.discovered(tt.doc, tt.overridden)
			assert.Equal(t, tt.want, a.plan())
		})
	}
}

// Which answers say the method, or the credentials, may be wrong.
func TestRefusalOf(t *testing.T) {
	status := func(code int) *http.Response { return &http.Response{StatusCode: code} }
	basic := authAttempt{authMethodBasic, authChosenByDiscoveryBasic}
	post := authAttempt{authMethodPost, authChosenByDefault}
	tests := []struct {
		name     string
		attempt  authAttempt
		err      error
		answer   string // "" for no refusal
		switches bool
	}{
		{"invalid_client", post, &oauth2.RetrieveError{ErrorCode: "invalid_client", Response: status(401)}, "invalid_client", true},
		{"wrapped", basic, errors.Join(errors.New("x"), &oauth2.RetrieveError{ErrorCode: "invalid_client"}), "invalid_client", true},
		{"401 without a code", basic, &oauth2.RetrieveError{Response: status(401)}, "HTTP 401", true},
		{"client_id is required", basic, &oauth2.RetrieveError{ErrorCode: "invalid_request", ErrorDescription: "client_id is required", Response: status(400)}, "invalid_request", true},
		{"missing credentials", basic, &oauth2.RetrieveError{ErrorCode: "invalid_request", ErrorDescription: "Missing client credentials", Response: status(400)}, "invalid_request", true},
		{"another invalid_request", basic, &oauth2.RetrieveError{ErrorCode: "invalid_request", ErrorDescription: "redirect_uri is required", Response: status(400)}, "", false},
		{"client_id is required after post", post, &oauth2.RetrieveError{ErrorCode: "invalid_request", ErrorDescription: "client_id is required", Response: status(400)}, "", false},
		{"invalid_grant after basic", basic, &oauth2.RetrieveError{ErrorCode: "invalid_grant", Response: status(400)}, "invalid_grant", false},
		{"invalid_grant after post", post, &oauth2.RetrieveError{ErrorCode: "invalid_grant", Response: status(400)}, "", false},
		{"500", basic, &oauth2.RetrieveError{Response: status(500)}, "", false},
		{"timeout", basic, context.DeadlineExceeded, "", false},
		{"closed", post, io.ErrUnexpectedEOF, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newClientAuth(authAutomatic).refusalOf(tt.attempt, tt.err)
			if tt.answer == "" {
				assert.Nil(t, r)
				return
			}
			require.NotNil(t, r)
			assert.Equal(t, tt.answer, r.answer)
			assert.Equal(t, tt.switches, r.methodRefused)
			assert.True(t, strings.HasPrefix(r.summary, "Palette "), r.summary)
		})
	}
}

// A discovery document's list members are read in any shape.
func TestLooseList(t *testing.T) {
	for raw, want := range map[string][]string{
		`["client_secret_post", 3, "client_secret_basic"]`: {"client_secret_post", "client_secret_basic"},
		`"client_secret_post client_secret_basic"`:         {"client_secret_post", "client_secret_basic"},
		`"RS256,ES256"`: {"RS256", "ES256"},
		`{"a": 1}`:      nil,
		`null`:          nil,
		`12`:            nil,
	} {
		var doc discoveryDoc
		require.NoError(t, json.Unmarshal([]byte(`{"issuer":"x","token_endpoint_auth_methods_supported":`+raw+`}`), &doc), raw)
		assert.Equal(t, want, []string(doc.TokenAuthMethods), raw)
	}
}
