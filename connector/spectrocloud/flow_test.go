package spectrocloud

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dexidp/dex/connector"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/connhook"
)

func TestLoginURL(t *testing.T) {
	tests := []struct {
		name   string
		config func(*Config)
		check  func(t *testing.T, q url.Values, ls loginState)
	}{
		{name: "defaults: S256 PKCE, no prompt", check: func(t *testing.T, q url.Values, ls loginState) {
			assert.Equal(t, "S256", q.Get("code_challenge_method"))
			assert.NotEmpty(t, q.Get("code_challenge"))
			assert.NotEqual(t, ls.Verifier, q.Get("code_challenge"), "S256 never sends the verifier")
			assert.False(t, q.Has("prompt"))
			assert.Equal(t, "openid profile email", q.Get("scope"))
		}},
		{name: "plain PKCE", config: func(c *Config) { c.PKCEChallenge = "plain" }, check: func(t *testing.T, q url.Values, ls loginState) {
			assert.Equal(t, "plain", q.Get("code_challenge_method"))
			assert.Equal(t, ls.Verifier, q.Get("code_challenge"))
		}},
		{name: "PKCE off", config: func(c *Config) { c.PKCEChallenge = "none" }, check: func(t *testing.T, q url.Values, ls loginState) {
			assert.False(t, q.Has("code_challenge"))
			assert.Empty(t, ls.Verifier)
		}},
		{name: "prompt and scopes", config: func(c *Config) { c.PromptType = "login"; c.Scopes = []string{"email", "groups"} },
			check: func(t *testing.T, q url.Values, ls loginState) {
				assert.Equal(t, "login", q.Get("prompt"))
				assert.Equal(t, "openid email groups", q.Get("scope"))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.config != nil {
				tt.config(&f.cfg)
			}
			c := f.open()
			authURL, connData, err := c.LoginURL(allScopes, testRedirectURI, testState)
			require.NoError(t, err)
			u, err := url.Parse(authURL)
			require.NoError(t, err)
			assert.Equal(t, f.tenant.Issuer()+"/auth", u.Scheme+"://"+u.Host+u.Path)
			q := u.Query()
			assert.Equal(t, "code", q.Get("response_type"))
			assert.Equal(t, testClientID, q.Get("client_id"))
			assert.Equal(t, testRedirectURI, q.Get("redirect_uri"))
			assert.Equal(t, testState, q.Get("state"))

			ls, err := c.decodeLoginState(connData)
			require.NoError(t, err)
			assert.Equal(t, ls.Nonce, q.Get("nonce"))
			assert.Len(t, ls.Nonce, 22, "128 bits, base64url")
			tt.check(t, q, ls)

			_, connData2, err := c.LoginURL(allScopes, testRedirectURI, testState)
			require.NoError(t, err)
			ls2, err := c.decodeLoginState(connData2)
			require.NoError(t, err)
			assert.NotEqual(t, ls.Nonce, ls2.Nonce, "a fresh nonce per sign-in")
		})
	}

	t.Run("callback URL must be redirectURI", func(t *testing.T) {
		c := newFixture(t).open()
		_, _, err := c.LoginURL(allScopes, "https://evil.example.com/callback", testState)
		require.ErrorContains(t, err, "differs from redirectURI")
	})
}

func TestLoginAndRefresh(t *testing.T) {
	f := newFixture(t)
	c := f.open()

	id, err := f.login(c, allScopes)
	require.NoError(t, err)
	assert.Equal(t, "user-jane", id.UserID)
	assert.Equal(t, "Jane Doe", id.Username)
	assert.Equal(t, "jane@example.com", id.Email)
	assert.True(t, id.EmailVerified)
	assert.Equal(t, []string{"admins", "devs"}, id.Groups)

	// ConnectorData holds the ID token and nothing else: no Palette
	// session (refresh) token, no access token.
	var stored map[string]any
	require.NoError(t, json.Unmarshal(id.ConnectorData, &stored))
	assert.Len(t, stored, 2)
	assert.EqualValues(t, 1, stored["v"])
	raw, _ := stored["idToken"].(string)
	assert.Equal(t, 2, strings.Count(raw, "."))

	f.tenant.ResetRequests()
	refreshed, err := c.Refresh(context.Background(), allScopes, id)
	require.NoError(t, err)
	assert.Nil(t, refreshed.ConnectorData, "a refresh leaves the stored session as it is")
	refreshed.ConnectorData = id.ConnectorData
	assert.Equal(t, id, refreshed)
	for _, ep := range []spectrotest.Endpoint{spectrotest.EndpointToken, spectrotest.EndpointJWKS, spectrotest.EndpointDiscovery, spectrotest.EndpointAuth} {
		assert.Zero(t, f.tenant.Requests(ep), "refresh made a request to %s", ep)
	}

	t.Run("groups only with the groups scope", func(t *testing.T) {
		id, err := f.login(c, connector.Scopes{})
		require.NoError(t, err)
		assert.Empty(t, id.Groups)
		refreshed, err := c.Refresh(context.Background(), connector.Scopes{}, id)
		require.NoError(t, err)
		assert.Empty(t, refreshed.Groups)
	})

	t.Run("refresh applies the current configuration", func(t *testing.T) {
		f.cfg.ClaimModifications.NewGroupFromClaims = []NewGroupFromClaims{{Claims: []string{"tenant"}, Delimiter: ":", Prefix: "spectrocloud"}}
		c2 := f.open()
		refreshed, err := c2.Refresh(context.Background(), allScopes, id)
		require.NoError(t, err)
		assert.Equal(t, []string{"admins", "devs", "spectrocloud:acme"}, refreshed.Groups)

		f.cfg.AllowedGroups = []string{"auditors"}
		c3 := f.open()
		_, err = c3.Refresh(context.Background(), allScopes, id)
		var notIn *connector.UserNotInRequiredGroupsError
		require.ErrorAs(t, err, &notIn)
	})

	t.Run("refresh fails once the Palette ID token expires", func(t *testing.T) {
		f.clock.Advance(12*time.Hour + time.Second)
		_, err := c.Refresh(context.Background(), allScopes, id)
		var expired *TokenExpiredError
		require.ErrorAs(t, err, &expired)
		assert.Contains(t, err.Error(), "sign in again")
	})
}

func TestLoginVariants(t *testing.T) {
	tests := []struct {
		name   string
		config func(*Config)
		tenant func(*spectrotest.Tenant)
	}{
		{name: "client secret in the form", config: func(c *Config) { c.BasicAuthUnsupported = boolPtr(true) }},
		{name: "client secret in HTTP basic", config: func(c *Config) { c.BasicAuthUnsupported = boolPtr(false) }},
		{name: "discovery shaped as Palette's schema, no token_type", tenant: func(t *spectrotest.Tenant) { t.SetSchemaShapedDiscovery(true) }},
		{name: "token_type Bearer", tenant: func(t *spectrotest.Tenant) { t.SetTokenType("Bearer") }},
		{name: "PKCE off", config: func(c *Config) { c.PKCEChallenge = "none" }},
		{name: "plain PKCE", config: func(c *Config) { c.PKCEChallenge = "plain" }},
		{name: "Palette without PKCE support", tenant: func(t *spectrotest.Tenant) { t.SetPKCE(false) }},
		{name: "missing nonce allowed by the escape hatch", config: func(c *Config) { c.InsecureAllowMissingNonce = true },
			tenant: func(t *spectrotest.Tenant) { t.SetEchoNonce(false) }},
		{name: "several audiences with azp", tenant: func(t *spectrotest.Tenant) {
			t.SetIDTokenHook(func(c map[string]any) { c["aud"] = []any{testClientID, "other"}; c["azp"] = testClientID })
		}},
		{name: "no discovery, explicit JWKS URL", config: func(c *Config) {
			c.ProviderDiscoveryOverrides.JWKSURL = strings.TrimSuffix(c.ConsoleURL, "/") + "/v1/oidc/tenant/" + testTenant + "/keys"
		}, tenant: func(t *spectrotest.Tenant) { t.SetDiscovery(false) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				if tt.config != nil {
					tt.config(c)
				}
			})
			if tt.tenant != nil {
				tt.tenant(f.tenant)
			}
			if f.cfg.ProviderDiscoveryOverrides.JWKSURL != "" {
				f.cfg.ProviderDiscoveryOverrides.JWKSURL = f.tenant.JWKSURL()
			}
			id, err := f.login(f.open(), allScopes)
			require.NoError(t, err)
			assert.Equal(t, "jane@example.com", id.Email)
		})
	}
}

func TestDiscoveryRetriedLazily(t *testing.T) {
	f := newFixture(t)
	f.tenant.SetDiscovery(false)
	c := f.open() // Open does not fail when Palette cannot be discovered

	_, _, err := c.LoginURL(allScopes, testRedirectURI, testState)
	require.Error(t, err)
	assert.Contains(t, err.Error(), f.tenant.Issuer()+"/.well-known/openid-configuration", "the error says what was tried")
	assert.Contains(t, err.Error(), "providerDiscoveryOverrides.jwksURL")

	f.tenant.SetDiscovery(true)
	f.clock.Advance(minRefetchInterval)
	id, err := f.login(c, allScopes)
	require.NoError(t, err, "discovery is retried at the next sign-in")
	assert.Equal(t, "user-jane", id.UserID)
}

func TestPaletteErrorAtCallback(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  string
	}{
		{name: "error and description", query: "error=access_denied&error_description=User+cancelled",
			want: "spectrocloud: Palette did not sign you in: access_denied"},
		{name: "a crafted error code is not echoed", query: "error=%3Cb%3ECall+%2B1+555%3C%2Fb%3E",
			want: "spectrocloud: Palette did not sign you in: an unrecognised error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.open()
			_, connData, err := c.LoginURL(allScopes, testRedirectURI, testState)
			require.NoError(t, err)
			req := httptest.NewRequest(http.MethodGet, testRedirectURI+"?"+tt.query+"&state="+testState, nil)
			_, err = c.HandleCallback(allScopes, connData, req)
			var authErr *AuthorizationError
			require.ErrorAs(t, err, &authErr)
			assert.Equal(t, tt.want, err.Error(), "the description, which anyone can put in a link, is not shown")
			if authErr.Description != "" {
				assert.Contains(t, f.logs.String(), "palette_error_description=\"User cancelled\"", "it is logged")
			}
		})
	}
}

func TestTokenExchange(t *testing.T) {
	f := newFixture(t)
	c := f.open()
	token := f.tenant.MintIDToken(f.tenant.Claims(jane, testClientID, ""))

	id, err := c.TokenIdentity(context.Background(), tokenTypeIDToken, token)
	require.NoError(t, err)
	assert.Equal(t, "user-jane", id.UserID)
	assert.Equal(t, []string{"admins", "devs"}, id.Groups)

	_, err = c.TokenIdentity(context.Background(), "urn:ietf:params:oauth:token-type:access_token", token)
	require.ErrorContains(t, err, "accepts only Palette ID tokens")

	other := f.tenant.MintIDToken(f.tenant.Claims(jane, "another-client", ""))
	_, err = c.TokenIdentity(context.Background(), tokenTypeIDToken, other)
	var invalid *InvalidTokenError
	require.ErrorAs(t, err, &invalid)
	assert.Equal(t, KindInvalidClaims, invalid.Kind)
}

func TestConcurrentLoginsFetchKeysOnce(t *testing.T) {
	f := newFixture(t)
	c := f.open()
	first, err := f.login(c, allScopes)
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make(chan error, 80)
	for i := 0; i < 40; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := f.login(c, allScopes)
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := c.Refresh(context.Background(), allScopes, first)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointJWKS))
	assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointDiscovery))
}

func TestConcurrentFirstUseFetchesKeysOnce(t *testing.T) {
	f := newFixture(t)
	c := f.open()
	token := f.tenant.MintIDToken(f.tenant.Claims(jane, testClientID, ""))
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.TokenIdentity(context.Background(), tokenTypeIDToken, token)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, f.tenant.Requests(spectrotest.EndpointJWKS))
}

func TestFailureRecorded(t *testing.T) {
	f := newFixture(t)
	c := f.open()
	id, err := f.login(c, allScopes)
	require.NoError(t, err)

	ctx, failure := connhook.WithRecorder(context.Background())
	_, err = c.Refresh(ctx, allScopes, id)
	require.NoError(t, err)
	assert.NoError(t, failureErr(failure))
	assert.False(t, failureFinal(failure))

	// A passing failure (Palette's keys unreachable) is not final.
	f2 := newFixture(t)
	f2.tenant.SetFault(spectrotest.EndpointJWKS, spectrotest.Fault{Status: http.StatusBadGateway})
	ctx, failure = connhook.WithRecorder(context.Background())
	_, err = f2.open().Refresh(ctx, allScopes, id)
	require.Error(t, err)
	assert.Error(t, failureErr(failure))
	assert.False(t, failureFinal(failure))

	f.clock.Advance(13 * time.Hour)
	ctx, failure = connhook.WithRecorder(context.Background())
	_, err = c.Refresh(ctx, allScopes, id)
	require.Error(t, err)
	var expired *TokenExpiredError
	require.ErrorAs(t, failureErr(failure), &expired)
	assert.True(t, failureFinal(failure))
}
