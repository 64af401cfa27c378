package spectrocloud

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/probe"
	"github.com/dex-spectro/dex-spectro/resolver"
)

func TestWarnings(t *testing.T) {
	emailResolver := &resolver.Config{Resolvers: []resolver.ResolverConfig{{Resolver: resolver.EmailMatchingUserEntityProfileEmail}}}
	tests := []struct {
		name     string
		config   func(*Config)
		wantKeys []string
	}{
		{name: "secure defaults", config: func(*Config) {}},
		{name: "insecureSkipVerify", config: func(c *Config) { c.InsecureSkipVerify = true }, wantKeys: []string{"insecureSkipVerify"}},
		{name: "http issuer", config: func(c *Config) { c.Tenant, c.Issuer = "", "http://palette.example.com/v1/oidc/tenant/x" }, wantKeys: []string{"issuer"}},
		{name: "http issuer on loopback", config: func(c *Config) { c.Tenant, c.Issuer = "", "http://127.0.0.1:8080/v1/oidc/tenant/x" }},
		{name: "http endpoints", config: func(c *Config) {
			c.ProviderDiscoveryOverrides = ProviderDiscoveryOverrides{AuthURL: "http://p.example.com/auth", TokenURL: "http://p.example.com/token", JWKSURL: "https://p.example.com/keys"}
		}, wantKeys: []string{"providerDiscoveryOverrides.authURL", "providerDiscoveryOverrides.tokenURL"}},
		{name: "http catalog", config: func(c *Config) {
			c.SignIn = &resolver.Config{Resolvers: emailResolver.Resolvers, Catalog: &resolver.CatalogConfig{BaseURL: "http://backstage.example.com", Token: "t"}}
		}, wantKeys: []string{"signIn.catalog.baseURL"}},
		{name: "pkce plain", config: func(c *Config) { c.PKCEChallenge = "plain" }, wantKeys: []string{"pkceChallenge"}},
		{name: "pkce none", config: func(c *Config) { c.PKCEChallenge = "none" }, wantKeys: []string{"pkceChallenge"}},
		{name: "missing nonce allowed", config: func(c *Config) { c.InsecureAllowMissingNonce = true }, wantKeys: []string{"insecureAllowMissingNonce"}},
		{name: "unverified email alone", config: func(c *Config) { c.InsecureSkipEmailVerified = true }},
		{name: "unverified email deciding the user", config: func(c *Config) {
			c.InsecureSkipEmailVerified, c.SignIn = true, emailResolver
		}, wantKeys: []string{"insecureSkipEmailVerified"}},
		{name: "local part without allowedDomains", config: func(c *Config) {
			c.SignIn = &resolver.Config{Resolvers: []resolver.ResolverConfig{
				{Resolver: resolver.EmailMatchingUserEntityProfileEmail},
				{Resolver: resolver.EmailLocalPartMatchingUserEntityName},
			}}
		}, wantKeys: []string{"signIn.resolvers[1].allowedDomains"}},
		{name: "local part with allowedDomains", config: func(c *Config) {
			c.SignIn = &resolver.Config{Resolvers: []resolver.ResolverConfig{
				{Resolver: resolver.EmailLocalPartMatchingUserEntityName, AllowedDomains: []string{"example.com"}},
			}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			tt.config(&cfg)
			ws, err := warningsOf(&cfg)
			require.NoError(t, err)
			var keys []string
			for _, w := range ws {
				keys = append(keys, w.Key)
				assert.NotEmpty(t, w.Risk)
			}
			assert.Equal(t, tt.wantKeys, keys)
		})
	}
}

// emailLocalPartMatchingUserEntityName without allowedDomains maps
// alice@any-domain to the catalog user alice: Open warns about it.
func TestOpenWarnsOfLocalPartWithoutDomains(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.SignIn = &resolver.Config{Resolvers: []resolver.ResolverConfig{{Resolver: resolver.EmailLocalPartMatchingUserEntityName}}}
	})
	f.open()
	assert.Contains(t, f.logs.String(), `key=signIn.resolvers[0].allowedDomains`)
	assert.Contains(t, f.logs.String(), "alice@any-domain signs in as the catalog user alice")
}

func TestOpenLogsInsecureSettings(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.InsecureSkipVerify = true })
	f.open()
	assert.Contains(t, f.logs.String(), `msg="insecure setting"`)
	assert.Contains(t, f.logs.String(), "key=insecureSkipVerify")
}

// warningsOf validates c and lists its warnings, as check prints them.
func warningsOf(c *Config) ([]probe.Warning, error) {
	p, err := c.Probe("warnings", nil)
	if err != nil {
		return nil, err
	}
	return p.Warnings(), nil
}
