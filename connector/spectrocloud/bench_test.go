package spectrocloud

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dexidp/dex/connector"
	dexoidc "github.com/dexidp/dex/connector/oidc"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/resolver"
)

// The benchmarks compare this connector with Dex's own oidc connector, both
// configured for the same emulated tenant on loopback in the same run. The
// emulator runs in standard-refresh mode so that the oidc connector's
// refresh grant works at all (against Palette it cannot). Besides ns/op and
// allocs/op, each reports the requests made to the emulator per operation.

// benchUser carries name and email_verified, which Dex's oidc connector
// requires; both connectors see the same claims.
var benchUser = spectrotest.User{Sub: "user-bench", Email: "bench@example.com", GivenName: "Bench", FamilyName: "User",
	Groups: []string{"admins"}, Claims: map[string]any{"name": "Bench User", "email_verified": true}}

type benchConnector interface {
	connector.CallbackConnector
	connector.RefreshConnector
}

func benchFixture(b *testing.B) *fixture {
	f := newFixture(b)
	f.systemClock() // the oidc connector has no clock to inject
	f.tenant.AddUser(benchUser)
	f.tenant.SetAutoLogin(benchUser.Email)
	f.tenant.EnableStandardRefreshGrant(true)
	return f
}

func (f *fixture) connectors(b *testing.B) map[string]benchConnector {
	ours, err := f.cfg.Open("spectrocloud", slog.New(slog.DiscardHandler))
	require.NoError(b, err)
	theirsCfg := dexoidc.Config{
		Issuer:        f.tenant.Issuer(),
		ClientID:      testClientID,
		ClientSecret:  testClientSecret,
		RedirectURI:   testRedirectURI,
		Scopes:        []string{"profile", "email"},
		PKCEChallenge: "S256",
	}
	theirs, err := theirsCfg.Open("oidc", slog.New(slog.DiscardHandler))
	require.NoError(b, err)
	return map[string]benchConnector{
		"spectrocloud": ours.(benchConnector),
		"dex-oidc":     theirs.(benchConnector),
	}
}

func (f *fixture) upstreamRequests() int {
	n := 0
	for _, ep := range []spectrotest.Endpoint{spectrotest.EndpointToken, spectrotest.EndpointJWKS, spectrotest.EndpointDiscovery} {
		n += f.tenant.Requests(ep)
	}
	return n
}

func BenchmarkRefresh(b *testing.B) {
	for _, name := range []string{"dex-oidc", "spectrocloud"} {
		b.Run(name, func(b *testing.B) {
			f := benchFixture(b) // a fresh tenant each, so that no state carries over
			c := f.connectors(b)[name]
			id, err := signInOnce(f, c)
			require.NoError(b, err)
			f.tenant.ResetRequests()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				next, err := c.Refresh(context.Background(), allScopes, id)
				if err != nil {
					b.Fatal(err)
				}
				if len(next.ConnectorData) > 0 {
					id.ConnectorData = next.ConnectorData
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(f.upstreamRequests())/float64(b.N), "upstream-req/op")
		})
	}
}

func BenchmarkHandleCallback(b *testing.B) {
	for _, name := range []string{"dex-oidc", "spectrocloud"} {
		b.Run(name, func(b *testing.B) {
			f := benchFixture(b) // a fresh tenant each, so that no state carries over
			c := f.connectors(b)[name]
			timeCallbacks(b, f, c)
		})
	}
}

// BenchmarkSignInChain measures what sign-in resolvers add to a sign-in:
// the identity step alone with and without a chain (catalog cache warm),
// next to a whole HandleCallback without one, in the same run.
func BenchmarkSignInChain(b *testing.B) {
	cat := newCatalog(b)
	cat.addUser("bench", benchUser.Email, "platform")
	chains := []struct {
		name   string
		signIn *resolver.Config
	}{
		{"none", nil},
		{"claim", &resolver.Config{Resolvers: []resolver.ResolverConfig{{Resolver: "claim", Claim: "sub"}}}},
		{"expression", &resolver.Config{Resolvers: []resolver.ResolverConfig{{Resolver: "expression", Expression: `claims.email.split("@")[0]`}}}},
		{"catalog-warm", &resolver.Config{
			Resolvers: []resolver.ResolverConfig{{Resolver: "emailMatchingUserEntityProfileEmail"}},
			Catalog:   &resolver.CatalogConfig{BaseURL: cat.srv.URL, Token: "catalog-token", GroupsFromMembership: true}}},
	}
	f := benchFixture(b)
	raw := f.tenant.MintIDToken(f.tenant.Claims(benchUser, testClientID, ""))
	for _, ch := range chains {
		f.cfg.SignIn = ch.signIn
		c := f.open()
		tok, err := c.providers.get(context.Background())
		require.NoError(b, err)
		verified, err := tok.verifier.verify(context.Background(), raw, fromPalette)
		require.NoError(b, err)
		_, err = c.identityFrom(context.Background(), allScopes, verified) // warms the catalog cache
		require.NoError(b, err)
		b.Run("identity/"+ch.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := c.identityFrom(context.Background(), allScopes, verified); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	f.cfg.SignIn = nil
	c := f.open()
	b.Run("handleCallback/none", func(b *testing.B) {
		timeCallbacks(b, f, c)
	})
}

// timeCallbacks times HandleCallback alone: the authorization at the
// emulator that precedes each one is not counted. It reports the requests
// made to the emulator per operation.
func timeCallbacks(b *testing.B, f *fixture, c benchConnector) {
	_, err := signInOnce(f, c) // warm discovery and keys
	require.NoError(b, err)
	f.tenant.ResetRequests()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		authURL, connData, err := c.LoginURL(allScopes, testRedirectURI, testState)
		if err != nil {
			b.Fatal(err)
		}
		cb, err := f.tenant.Authorize(context.Background(), authURL)
		if err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, cb.String(), nil)
		b.StartTimer()
		if _, err := c.HandleCallback(allScopes, connData, req); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(f.upstreamRequests())/float64(b.N), "upstream-req/op")
}
