package spectrocloud

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dexidp/dex/connector"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/resolver"
)

func validConfig() Config {
	return Config{
		Tenant:       dextest.TenantUID,
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
			assert.Equal(t, "https://console.spectrocloud.com/v1/oidc/tenant/"+dextest.TenantUID, s.issuer)
			assert.Equal(t, []string{"openid", "profile", "email"}, s.scopes)
			assert.Equal(t, pkceS256, s.pkce)
			assert.Equal(t, defaultUpstreamTimeout, s.timeout)
			assert.Equal(t, defaultJWKSMaxStale, s.jwksMaxStale)
			assert.Equal(t, authAutomatic, s.authMode)
		}},
		{name: "tenant with self-hosted console", mutate: func(c *Config) { c.ConsoleURL = "https://palette.example.com/" },
			check: func(t *testing.T, s *settings) {
				assert.Equal(t, "https://palette.example.com/v1/oidc/tenant/"+dextest.TenantUID, s.issuer)
			}},
		{name: "issuer instead of tenant", mutate: func(c *Config) {
			c.Tenant = ""
			c.Issuer = "https://palette.example.com/v1/oidc/tenant/abc/"
		}, check: func(t *testing.T, s *settings) {
			assert.Equal(t, "https://palette.example.com/v1/oidc/tenant/abc", s.issuer)
		}},
		{name: "issuer agreeing with tenant", mutate: func(c *Config) {
			c.Issuer = "https://console.spectrocloud.com/v1/oidc/tenant/" + dextest.TenantUID
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
		{name: "jwksMaxStale", mutate: func(c *Config) { c.JWKSMaxStale = "30m" },
			check: func(t *testing.T, s *settings) { assert.Equal(t, 30*time.Minute, s.jwksMaxStale) }},
		{name: "jwksMaxStale 0s: stale keys are never used", mutate: func(c *Config) { c.JWKSMaxStale = "0s" },
			check: func(t *testing.T, s *settings) { assert.Zero(t, s.jwksMaxStale) }},
		{name: "jwksMaxStale not a duration", mutate: func(c *Config) { c.JWKSMaxStale = "4 hours" }, wantErr: `jwksMaxStale "4 hours" must be a duration from 0s to 168h0m0s, such as "4h"`},
		{name: "jwksMaxStale negative", mutate: func(c *Config) { c.JWKSMaxStale = "-1h" }, wantErr: `jwksMaxStale "-1h"`},
		{name: "jwksMaxStale beyond a week", mutate: func(c *Config) { c.JWKSMaxStale = "169h" }, wantErr: `jwksMaxStale "169h"`},
		{name: "basicAuthUnsupported true", mutate: func(c *Config) { c.BasicAuthUnsupported = boolPtr(true) },
			check: func(t *testing.T, s *settings) { assert.Equal(t, authAlwaysPost, s.authMode) }},
		{name: "basicAuthUnsupported false", mutate: func(c *Config) { c.BasicAuthUnsupported = boolPtr(false) },
			check: func(t *testing.T, s *settings) { assert.Equal(t, authAlwaysBasic, s.authMode) }},
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
		want      endpoints
		wantErr   string
	}{
		{name: "from discovery", doc: &discoveryDoc{Issuer: iss, AuthURL: iss + "/authorize", TokenURL: iss + "/tok", JWKSURL: iss + "/keys", Algorithms: []string{"RS256", "HS256", "none", "ES256"}},
			want: endpoints{Issuer: iss, AuthURL: iss + "/authorize", TokenURL: iss + "/tok", JWKSURL: iss + "/keys", FromDiscovery: true, Algorithms: []string{"RS256", "ES256"}}},
		{name: "override replaces one endpoint", overrides: ProviderDiscoveryOverrides{TokenURL: "https://t.example.com/token"},
			doc:  &discoveryDoc{Issuer: iss, AuthURL: iss + "/auth", TokenURL: iss + "/token", JWKSURL: iss + "/keys"},
			want: endpoints{Issuer: iss, AuthURL: iss + "/auth", TokenURL: "https://t.example.com/token", JWKSURL: iss + "/keys", FromDiscovery: true, Algorithms: []string{"RS256"}}},
		{name: "incomplete discovery falls back to Palette's layout", doc: &discoveryDoc{Issuer: iss, JWKSURL: iss + "/keys"},
			want: endpoints{Issuer: iss, AuthURL: iss + "/auth", TokenURL: iss + "/token", JWKSURL: iss + "/keys", FromDiscovery: true, Algorithms: []string{"RS256"}}},
		{name: "no discovery: token URL derived from auth URL", overrides: ProviderDiscoveryOverrides{AuthURL: "https://a.example.com/x/auth?tenant=1", JWKSURL: "https://a.example.com/keys"},
			want: endpoints{Issuer: iss, AuthURL: "https://a.example.com/x/auth?tenant=1", TokenURL: "https://a.example.com/x/token?tenant=1", JWKSURL: "https://a.example.com/keys", Algorithms: []string{"RS256"}}},
		{name: "no discovery, no JWKS URL", wantErr: "providerDiscoveryOverrides.jwksURL is not set"},
		{name: "auth URL not ending in auth", overrides: ProviderDiscoveryOverrides{AuthURL: "https://a.example.com/authorize", JWKSURL: "https://a.example.com/keys"},
			wantErr: "set providerDiscoveryOverrides.tokenURL"},
		{name: "only the last segment is replaced", overrides: ProviderDiscoveryOverrides{AuthURL: "https://a.example.com/auth/v1/auth", JWKSURL: "https://a.example.com/keys"},
			want: endpoints{Issuer: iss, AuthURL: "https://a.example.com/auth/v1/auth", TokenURL: "https://a.example.com/auth/v1/token", JWKSURL: "https://a.example.com/keys", Algorithms: []string{"RS256"}}},
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

// Keys of Dex's oidc connector without a sound meaning here are refused, when
// set, with the key and the reason, never as unknown keys; their zero values
// ask for nothing and are accepted.
func TestOIDCOnlyKeys(t *testing.T) {
	const base = `"tenant":"t","clientID":"a","clientSecret":"b","redirectURI":"https://d/callback"`
	tests := []struct {
		name    string
		keys    string
		wantErr []string
	}{
		{name: "getUserInfo true", keys: `"getUserInfo":true`,
			wantErr: []string{"getUserInfo is not supported", "no userinfo endpoint", "claimMapping"}},
		{name: "hostedDomains", keys: `"hostedDomains":["example.com"]`,
			wantErr: []string{"hostedDomains is not supported", "signIn.resolvers[].allowedDomains"}},
		{name: "issuerAlias", keys: `"issuerAlias":"https://palette.example.com/v1/oidc/tenant/t"`,
			wantErr: []string{`issuerAlias "https://palette.example.com/v1/oidc/tenant/t" is not supported`, "providerDiscoveryOverrides"}},
		{name: "acrValues", keys: `"acrValues":["mfa"]`,
			wantErr: []string{"acrValues is not supported", "no authentication context classes", "tenant's settings"}},
		{name: "key names match without regard to case, as in Dex", keys: `"GetUserInfo":true`,
			wantErr: []string{"getUserInfo is not supported"}},

		{name: "getUserInfo false", keys: `"getUserInfo":false`},
		{name: "empty hostedDomains", keys: `"hostedDomains":[]`},
		{name: "empty issuerAlias", keys: `"issuerAlias":""`},
		{name: "empty acrValues", keys: `"acrValues":[]`},
		{name: "insecureEnableGroups", keys: `"insecureEnableGroups":true`},
		{name: "overrideClaimMapping", keys: `"overrideClaimMapping":false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			require.NoError(t, json.Unmarshal([]byte(`{`+base+`,`+tt.keys+`}`), &c), "decoding accepts every key of Dex's oidc connector")
			_, err := c.validate()
			if len(tt.wantErr) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.wantErr {
				assert.Contains(t, err.Error(), want)
			}
			assert.NotContains(t, err.Error(), "unknown key")
		})
	}

	t.Run("Open refuses them too", func(t *testing.T) {
		c := validConfig()
		c.AcrValues = []string{"mfa"}
		_, err := c.Open("spectrocloud", nil)
		require.ErrorContains(t, err, "acrValues is not supported")
	})
}

func TestOverrideClaimMapping(t *testing.T) {
	mapped := func(c *Config) {
		c.ClaimMapping = ClaimMapping{EmailKey: "mail", PreferredUsernameKey: "login", GroupsKey: "teams"}
	}
	withBoth := func(c map[string]any) {
		c["mail"] = "j.doe@example.org"
		c["login"] = "jdoe"
		c["preferred_username"] = "jane"
		c["teams"] = []any{"t1"}
	}
	tests := []struct {
		name      string
		override  *bool
		claims    func(map[string]any)
		wantEmail string
		wantPref  string
		wantGroup []string
	}{
		{name: "unset: claimMapping wins", claims: withBoth,
			wantEmail: "j.doe@example.org", wantPref: "jdoe", wantGroup: []string{"t1"}},
		{name: "true: claimMapping wins", override: ptr(true), claims: withBoth,
			wantEmail: "j.doe@example.org", wantPref: "jdoe", wantGroup: []string{"t1"}},
		{name: "false: the standard claims win when present", override: ptr(false), claims: withBoth,
			wantEmail: "jane@example.com", wantPref: "jane", wantGroup: []string{"admins", "devs"}},
		{name: "false: claimMapping when the standard claims are absent", override: ptr(false),
			claims: func(c map[string]any) {
				withBoth(c)
				delete(c, "email")
				delete(c, "preferred_username")
				c["groups"] = nil
			},
			wantEmail: "j.doe@example.org", wantPref: "jdoe", wantGroup: []string{"t1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			mapped(&cfg)
			cfg.OverrideClaimMapping = tt.override
			rules, err := cfg.claimRules()
			require.NoError(t, err)
			claims := baseClaims()
			tt.claims(claims)
			id, err := rules.identity(claims)
			require.NoError(t, err)
			assert.Equal(t, tt.wantEmail, id.Email)
			assert.Equal(t, tt.wantPref, id.PreferredUsername)
			assert.Equal(t, tt.wantGroup, id.Groups)
		})
	}

	t.Run("false: a standard email of the wrong type is refused, not skipped", func(t *testing.T) {
		cfg := validConfig()
		mapped(&cfg)
		cfg.OverrideClaimMapping = ptr(false)
		rules, err := cfg.claimRules()
		require.NoError(t, err)
		claims := baseClaims()
		withBoth(claims)
		claims["email"] = 42.0
		_, err = rules.identity(claims)
		require.ErrorContains(t, err, `claim "email" must be a string`)
	})
}

func TestInsecureEnableGroups(t *testing.T) {
	newGroup := []NewGroupFromClaims{{Claims: []string{"tenant"}, Delimiter: ":", Prefix: "spectrocloud"}}
	tests := []struct {
		name   string
		enable *bool
		want   []string
	}{
		{name: "unset: Palette's teams are read", want: []string{"admins", "devs", "spectrocloud:acme"}},
		{name: "true: Palette's teams are read", enable: ptr(true), want: []string{"admins", "devs", "spectrocloud:acme"}},
		{name: "false: only the groups claimModifications adds", enable: ptr(false), want: []string{"spectrocloud:acme"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			cfg.InsecureEnableGroups = tt.enable
			cfg.ClaimModifications.NewGroupFromClaims = newGroup
			rules, err := cfg.claimRules()
			require.NoError(t, err)
			id, err := rules.identity(baseClaims())
			require.NoError(t, err)
			assert.Equal(t, tt.want, id.Groups)
		})
	}

	t.Run("false: a Palette team no longer meets allowedGroups", func(t *testing.T) {
		cfg := validConfig()
		cfg.InsecureEnableGroups = ptr(false)
		cfg.AllowedGroups = []string{"admins"}
		rules, err := cfg.claimRules()
		require.NoError(t, err)
		id, err := rules.identity(baseClaims())
		require.NoError(t, err)
		var notAllowed *connector.UserNotInRequiredGroupsError
		require.ErrorAs(t, rules.checkAllowedGroups(id.UserID, id.Groups, nil), &notAllowed)
	})
}

func ptr[T any](v T) *T { return &v }

// Every string key of the configuration whose name ends in File names a
// file Dex reads on its host; through the gRPC API, the caller also
// chooses where its content goes, so CheckAPIConfig refuses each of them.
// The walk finds keys added later, in nested blocks too.
func TestCheckAPIConfigRefusesEveryFileKey(t *testing.T) {
	var found []string
	walkFileKeys(reflect.TypeFor[Config](), "", nil, func(key string, path []int) {
		found = append(found, key)
		var c Config
		setStringAt(reflect.ValueOf(&c).Elem(), path, "/etc/dex/secret")
		err := c.CheckAPIConfig()
		if assert.Error(t, err, "%s set, yet accepted through the gRPC API", key) {
			assert.Contains(t, err.Error(), key[strings.LastIndex(key, ".")+1:], "the refusal names the key")
		}
	})
	assert.Subset(t, found, []string{"signIn.catalog.tokenFile", "directory.apiKeyFile"}, "the walk reaches the known keys")

	c := validConfig()
	c.Directory = &DirectoryConfig{APIKey: "key"}
	c.SignIn = &resolver.Config{Catalog: &resolver.CatalogConfig{BaseURL: "https://catalog.example", Token: "token"}}
	assert.NoError(t, c.CheckAPIConfig(), "keys given as values are accepted")
}

// walkFileKeys calls found with the JSON path and field index path of every
// string field under t whose JSON name ends in "file", ignoring case. It
// goes through structs, pointers, slices and arrays.
func walkFileKeys(t reflect.Type, prefix string, path []int, found func(key string, path []int)) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		at := append(append([]int(nil), path...), i)
		if f.Anonymous && f.Tag.Get("json") == "" && f.Type.Kind() != reflect.String {
			walkFileKeys(f.Type, prefix, at, found) // its keys are the parent's, as encoding/json reads them
			continue
		}
		key := prefix + name
		if f.Type.Kind() == reflect.String && strings.HasSuffix(strings.ToLower(name), "file") {
			found(key, at)
			continue
		}
		walkFileKeys(f.Type, key+".", at, found)
	}
}

// setStringAt sets the string field at the index path under v, allocating
// the pointers and a first element of the slices on the way.
func setStringAt(v reflect.Value, path []int, s string) {
	for _, i := range path {
		v = allocElem(v).Field(i)
	}
	v.SetString(s)
}

// allocElem follows pointers, allocating nil ones, and takes the first element
// of slices and arrays, making a slice of one when empty.
func allocElem(v reflect.Value) reflect.Value {
	for {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		case reflect.Slice:
			if v.Len() == 0 {
				v.Set(reflect.MakeSlice(v.Type(), 1, 1))
			}
			v = v.Index(0)
		case reflect.Array:
			v = v.Index(0)
		default:
			return v
		}
	}
}
