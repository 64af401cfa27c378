package spectrocloud

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/resolver"
)

func validConfig() Config {
	return Config{
		Tenant:       "5f7c0a1b2c3d4e5f6a7b8c9d",
		ClientID:     "dex",
		ClientSecret: "s3cret",
		RedirectURI:  "https://dex.example.com/dex/callback",
	}
}

func TestConfigValidation(t *testing.T) {
	badCA := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(badCA, []byte("not a certificate"), 0o600))

	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
		check   func(t *testing.T, s *settings)
	}{
		{name: "tenant with default console", check: func(t *testing.T, s *settings) {
			assert.Equal(t, "https://console.spectrocloud.com/v1/oidc/tenant/5f7c0a1b2c3d4e5f6a7b8c9d", s.issuer)
			assert.Equal(t, []string{"openid", "profile", "email"}, s.scopes)
			assert.Equal(t, pkceS256, s.pkce)
			assert.Equal(t, DefaultUpstreamTimeout, s.timeout)
		}},
		{name: "tenant with self-hosted console", mutate: func(c *Config) { c.ConsoleURL = "https://palette.example.com/" },
			check: func(t *testing.T, s *settings) {
				assert.Equal(t, "https://palette.example.com/v1/oidc/tenant/5f7c0a1b2c3d4e5f6a7b8c9d", s.issuer)
			}},
		{name: "issuer instead of tenant", mutate: func(c *Config) {
			c.Tenant = ""
			c.Issuer = "https://palette.example.com/v1/oidc/tenant/abc/"
		}, check: func(t *testing.T, s *settings) {
			assert.Equal(t, "https://palette.example.com/v1/oidc/tenant/abc", s.issuer)
		}},
		{name: "issuer agreeing with tenant", mutate: func(c *Config) {
			c.Issuer = "https://console.spectrocloud.com/v1/oidc/tenant/5f7c0a1b2c3d4e5f6a7b8c9d"
		}},
		{name: "scopes always include openid", mutate: func(c *Config) { c.Scopes = []string{"email", "profile", "email"} },
			check: func(t *testing.T, s *settings) { assert.Equal(t, []string{"openid", "email", "profile"}, s.scopes) }},
		{name: "pkce none", mutate: func(c *Config) { c.PKCEChallenge = "none" },
			check: func(t *testing.T, s *settings) { assert.Empty(t, s.pkce) }},
		{name: "pkce plain", mutate: func(c *Config) { c.PKCEChallenge = "plain" },
			check: func(t *testing.T, s *settings) { assert.Equal(t, pkcePlain, s.pkce) }},
		{name: "timeout", mutate: func(c *Config) { c.UpstreamTimeout = "2s" },
			check: func(t *testing.T, s *settings) { assert.Equal(t, 2*time.Second, s.timeout) }},

		{name: "missing clientID", mutate: func(c *Config) { c.ClientID = "" }, wantErr: "clientID is required"},
		{name: "missing clientSecret", mutate: func(c *Config) { c.ClientSecret = " " }, wantErr: "clientSecret is required"},
		{name: "missing redirectURI", mutate: func(c *Config) { c.RedirectURI = "" }, wantErr: "redirectURI is required"},
		{name: "neither tenant nor issuer", mutate: func(c *Config) { c.Tenant = "" }, wantErr: "set tenant (with consoleURL for self-hosted Palette) or issuer"},
		{name: "issuer disagreeing with tenant", mutate: func(c *Config) { c.Issuer = "https://console.spectrocloud.com/v1/oidc/tenant/other" },
			wantErr: `issuer "https://console.spectrocloud.com/v1/oidc/tenant/other" disagrees with tenant and consoleURL`},
		{name: "consoleURL with issuer", mutate: func(c *Config) {
			c.Tenant = ""
			c.Issuer = "https://a.example.com/v1/oidc/tenant/x"
			c.ConsoleURL = "https://a.example.com"
		}, wantErr: "consoleURL is only used with tenant"},
		{name: "tenant with a slash", mutate: func(c *Config) { c.Tenant = "a/../b" }, wantErr: `tenant "a/../b" is not a tenant UID`},
		{name: "malformed consoleURL", mutate: func(c *Config) { c.ConsoleURL = "console.spectrocloud.com" }, wantErr: `consoleURL "console.spectrocloud.com" must be an absolute http or https URL`},
		{name: "malformed issuer", mutate: func(c *Config) { c.Tenant = ""; c.Issuer = "::" }, wantErr: `issuer "::" is not a URL`},
		{name: "malformed redirectURI", mutate: func(c *Config) { c.RedirectURI = "/callback" }, wantErr: "redirectURI \"/callback\" must be an absolute http or https URL"},
		{name: "malformed jwksURL", mutate: func(c *Config) { c.ProviderDiscoveryOverrides.JWKSURL = "ftp://x/keys" }, wantErr: "providerDiscoveryOverrides.jwksURL"},
		{name: "malformed authURL", mutate: func(c *Config) { c.ProviderDiscoveryOverrides.AuthURL = "auth" }, wantErr: "providerDiscoveryOverrides.authURL"},
		{name: "unknown pkceChallenge", mutate: func(c *Config) { c.PKCEChallenge = "S512" }, wantErr: `pkceChallenge "S512" is not supported: use S256 (default), plain or none`},
		{name: "unknown promptType", mutate: func(c *Config) { c.PromptType = "always" }, wantErr: `promptType "always" is not supported`},
		{name: "bad timeout", mutate: func(c *Config) { c.UpstreamTimeout = "forever" }, wantErr: `upstreamTimeout "forever"`},
		{name: "bad groups filter", mutate: func(c *Config) { c.ClaimModifications.FilterGroupClaims.GroupsFilter = "([" }, wantErr: "claimModifications.filterGroupClaims.groupsFilter"},
		{name: "new group without claims", mutate: func(c *Config) {
			c.ClaimModifications.NewGroupFromClaims = []NewGroupFromClaims{{Prefix: "x"}}
		}, wantErr: "claimModifications.newGroupFromClaims[0].claims"},
		{name: "empty allowed group", mutate: func(c *Config) { c.AllowedGroups = []string{"ok", ""} }, wantErr: "allowedGroups[1] is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			if tt.mutate != nil {
				tt.mutate(&c)
			}
			s, err := c.validate()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}

	t.Run("bad sign-in expression fails Open", func(t *testing.T) {
		c := validConfig()
		c.SignIn = &resolver.Config{Resolvers: []resolver.ResolverConfig{{Resolver: "expression", Expression: `claims.email.split("@")`}}}
		_, err := c.Open("spectrocloud", nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "signIn.resolvers[0].expression")
		assert.Contains(t, err.Error(), "claims.email.split(")
		assert.Contains(t, err.Error(), "must evaluate to a string")
	})

	t.Run("unreadable rootCAs", func(t *testing.T) {
		c := validConfig()
		c.RootCAs = []string{badCA}
		_, err := c.Open("spectrocloud", nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "rootCAs.0 is not in PEM format")
	})
}

func TestConfigUnmarshalStrict(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		wantErr string
	}{
		{name: "valid", json: `{"tenant":"t","clientID":"a","clientSecret":"b","redirectURI":"https://d/callback","claimMapping":{"email":"mail"}}`},
		{name: "misspelled key", json: `{"tenant":"t","clientSecert":"a"}`, wantErr: `unknown key "clientSecert"`},
		{name: "misspelled nested key", json: `{"claimMapping":{"mail":"x"}}`, wantErr: `unknown key "mail"`},
		{name: "wrong type", json: `{"scopes":"openid"}`, wantErr: `key "scopes": expected []string, got a JSON string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			err := json.Unmarshal([]byte(tt.json), &c)
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, "mail", c.ClaimMapping.EmailKey)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestBuildEndpoints(t *testing.T) {
	const iss = "https://p.example.com/v1/oidc/tenant/t"
	tests := []struct {
		name      string
		overrides ProviderDiscoveryOverrides
		doc       *discoveryDoc
		want      Endpoints
		wantErr   string
	}{
		{name: "from discovery", doc: &discoveryDoc{Issuer: iss, AuthURL: iss + "/authorize", TokenURL: iss + "/tok", JWKSURL: iss + "/keys", Algorithms: []string{"RS256", "HS256", "none", "ES256"}},
			want: Endpoints{Issuer: iss, AuthURL: iss + "/authorize", TokenURL: iss + "/tok", JWKSURL: iss + "/keys", FromDiscovery: true, Algorithms: []string{"RS256", "ES256"}}},
		{name: "override replaces one endpoint", overrides: ProviderDiscoveryOverrides{TokenURL: "https://t.example.com/token"},
			doc:  &discoveryDoc{Issuer: iss, AuthURL: iss + "/auth", TokenURL: iss + "/token", JWKSURL: iss + "/keys"},
			want: Endpoints{Issuer: iss, AuthURL: iss + "/auth", TokenURL: "https://t.example.com/token", JWKSURL: iss + "/keys", FromDiscovery: true, Algorithms: []string{"RS256"}}},
		{name: "incomplete discovery falls back to Palette's layout", doc: &discoveryDoc{Issuer: iss, JWKSURL: iss + "/keys"},
			want: Endpoints{Issuer: iss, AuthURL: iss + "/auth", TokenURL: iss + "/token", JWKSURL: iss + "/keys", FromDiscovery: true, Algorithms: []string{"RS256"}}},
		{name: "no discovery: token URL derived from auth URL", overrides: ProviderDiscoveryOverrides{AuthURL: "https://a.example.com/x/auth?tenant=1", JWKSURL: "https://a.example.com/keys"},
			want: Endpoints{Issuer: iss, AuthURL: "https://a.example.com/x/auth?tenant=1", TokenURL: "https://a.example.com/x/token?tenant=1", JWKSURL: "https://a.example.com/keys", Algorithms: []string{"RS256"}}},
		{name: "no discovery, no JWKS URL", wantErr: "providerDiscoveryOverrides.jwksURL is not set"},
		{name: "auth URL not ending in auth", overrides: ProviderDiscoveryOverrides{AuthURL: "https://a.example.com/authorize", JWKSURL: "https://a.example.com/keys"},
			wantErr: "set providerDiscoveryOverrides.tokenURL"},
		{name: "only the last segment is replaced", overrides: ProviderDiscoveryOverrides{AuthURL: "https://a.example.com/auth/v1/auth", JWKSURL: "https://a.example.com/keys"},
			want: Endpoints{Issuer: iss, AuthURL: "https://a.example.com/auth/v1/auth", TokenURL: "https://a.example.com/auth/v1/token", JWKSURL: "https://a.example.com/keys", Algorithms: []string{"RS256"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := buildEndpoints(iss, tt.overrides, tt.doc)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, *e)
		})
	}
}

func TestCacheTTL(t *testing.T) {
	for header, want := range map[string]time.Duration{
		"":                          defaultKeysTTL,
		"public":                    defaultKeysTTL,
		"no-cache":                  minKeysTTL,
		"No-Store":                  minKeysTTL,
		"max-age=600, no-cache":     minKeysTTL,
		"public, max-age=600":       10 * time.Minute,
		"max-age=1":                 time.Second,
		"max-age=2":                 2 * time.Second,
		"max-age=0":                 minKeysTTL,
		"max-age=-5":                minKeysTTL,
		"max-age=99999999999":       maxKeysTTL,
		"max-age=junk":              minKeysTTL,
		`max-age="120", must-reval`: 2 * time.Minute,
	} {
		assert.Equal(t, want, cacheTTL(header), header)
	}
	assert.LessOrEqual(t, minKeysTTL, 10*time.Second, "the floor for uncacheable keys is a few seconds")
}
