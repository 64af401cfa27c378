package resolver

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// noopResolver resolves every input to a fixed user: the baseline that
// measures the chain itself.
type noopResolver struct{}

func (noopResolver) name() string { return "noop" }

func (noopResolver) timeout() time.Duration { return 0 }

func (noopResolver) resolve(context.Context, Input) (outcome, error) {
	return hit(Result{UserName: "jane"}), nil
}

// BenchmarkResolve measures one Resolve per resolver, against a no-op
// resolver in the same run. Catalog lookups are served from a warm cache: the
// fake catalog sees one request per benchmark, to prime it.
func BenchmarkResolve(b *testing.B) {
	cat := newFakeCatalog(b,
		userEntity("", "jane.doe", "jane.doe@example.com", []string{"team-a", "platform/sre"}, "group:default/team-a"))
	clock := newFakeClock()
	opts := Options{Now: clock.Now}
	catalog := func(groups bool) *CatalogConfig {
		return &CatalogConfig{BaseURL: cat.URL(), Token: testToken, GroupsFromMembership: groups}
	}
	in := Input{
		Email: "jane.doe@example.com",
		Claims: map[string]any{
			"sub": "5f7c0a1b2c3d", "email": "jane.doe@example.com", "tenant": "acme",
			"email_verified": true, "iss": "https://console.spectrocloud.com/v1/oidc/tenant/acme",
		},
	}
	one := func(rc ResolverConfig, cc *CatalogConfig) Config {
		return Config{Resolvers: []ResolverConfig{rc}, Catalog: cc}
	}
	cases := []struct {
		name  string
		chain *Chain
	}{
		{"baseline-noop", &Chain{resolvers: []resolver{noopResolver{}}, logger: slog.New(slog.DiscardHandler)}},
		{"claim", mustChain(b, one(ResolverConfig{Resolver: ClaimResolver, Claim: "sub"}, nil), opts)},
		{"expression-split", mustChain(b, one(ResolverConfig{Resolver: ExpressionResolver, Expression: `claims.email.split("@")[0]`}, nil), opts)},
		{"expression-concat", mustChain(b, one(ResolverConfig{Resolver: ExpressionResolver, Expression: `"org/" + claims.tenant + "/" + claims.sub`}, nil), opts)},
		{"emailMatchingUserEntityProfileEmail-no-catalog", mustChain(b, one(ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail, AllowedDomains: []string{"example.com"}}, nil), opts)},
		{"emailLocalPartMatchingUserEntityName-no-catalog", mustChain(b, one(ResolverConfig{Resolver: EmailLocalPartMatchingUserEntityName, AllowedDomains: []string{"example.com"}}, nil), opts)},
		{"emailMatchingUserEntityProfileEmail-catalog-warm", mustChain(b, one(ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail}, catalog(false)), opts)},
		{"emailLocalPartMatchingUserEntityName-catalog-warm", mustChain(b, one(ResolverConfig{Resolver: EmailLocalPartMatchingUserEntityName}, catalog(false)), opts)},
		{"emailMatchingUserEntityProfileEmail-catalog-warm-groups", mustChain(b, one(ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail}, catalog(true)), opts)},
		{"fallthrough-two-misses-then-claim", mustChain(b, Config{Resolvers: []ResolverConfig{
			{Resolver: ClaimResolver, Claim: "preferred_username"},
			{Resolver: ExpressionResolver, Expression: `claims.?nickname.orValue("")`},
			{Resolver: ClaimResolver, Claim: "sub"},
		}}, opts)},
	}
	ctx := context.Background()
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			before := cat.requests.Load()
			_, err := bc.chain.Resolve(ctx, in) // prime the cache
			require.NoError(b, err)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.chain.Resolve(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			require.LessOrEqual(b, cat.requests.Load()-before, int64(1), "the cache must stay warm")
		})
	}
}
