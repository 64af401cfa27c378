package resolver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigValidate(t *testing.T) {
	email := ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail}
	tests := []struct {
		name string
		cfg  Config
		// wantErr lists substrings the error must contain; nil: valid.
		wantErr []string
	}{
		{
			name: "every resolver",
			cfg: Config{Resolvers: []ResolverConfig{
				{Resolver: EmailMatchingUserEntityProfileEmail, AllowedDomains: []string{"Example.com"}},
				{Resolver: EmailLocalPartMatchingUserEntityName, DangerouslyAllowSignInWithoutUserInCatalog: true},
				{Resolver: ClaimResolver, Claim: "preferred_username"},
				{Resolver: ExpressionResolver, Expression: `claims.email.split("@")[0]`},
			}, Catalog: &CatalogConfig{BaseURL: "https://backstage.example.com/", Token: "t", Timeout: Duration(time.Second)}},
		},
		{
			name:    "no resolvers",
			cfg:     Config{},
			wantErr: []string{"signIn.resolvers: at least one resolver is required", "emailMatchingUserEntityProfileEmail"},
		},
		{
			name:    "unknown resolver lists the valid ones",
			cfg:     Config{Resolvers: []ResolverConfig{email, {Resolver: "usernameMatchingUserEntityName"}}},
			wantErr: []string{`signIn.resolvers[1].resolver: unknown resolver "usernameMatchingUserEntityName"`, "claim, emailLocalPartMatchingUserEntityName, emailMatchingUserEntityProfileEmail, expression"},
		},
		{
			name:    "missing resolver name",
			cfg:     Config{Resolvers: []ResolverConfig{{Claim: "sub"}}},
			wantErr: []string{"signIn.resolvers[0].resolver: required"},
		},
		{
			name:    "claim on an email resolver",
			cfg:     Config{Resolvers: []ResolverConfig{{Resolver: EmailMatchingUserEntityProfileEmail, Claim: "sub"}}},
			wantErr: []string{"signIn.resolvers[0].claim: not an option of resolver emailMatchingUserEntityProfileEmail"},
		},
		{
			name:    "expression on an email resolver",
			cfg:     Config{Resolvers: []ResolverConfig{{Resolver: EmailLocalPartMatchingUserEntityName, Expression: "claims.sub"}}},
			wantErr: []string{"signIn.resolvers[0].expression: not an option of resolver emailLocalPartMatchingUserEntityName"},
		},
		{
			name:    "claim missing",
			cfg:     Config{Resolvers: []ResolverConfig{{Resolver: ClaimResolver}}},
			wantErr: []string{"signIn.resolvers[0].claim: required for resolver claim"},
		},
		{
			name:    "email options on the claim resolver",
			cfg:     Config{Resolvers: []ResolverConfig{{Resolver: ClaimResolver, Claim: "sub", AllowedDomains: []string{"x.com"}, DangerouslyAllowSignInWithoutUserInCatalog: true}}},
			wantErr: []string{"signIn.resolvers[0].allowedDomains: not an option of resolver claim", "signIn.resolvers[0].dangerouslyAllowSignInWithoutUserInCatalog: not an option"},
		},
		{
			name:    "expression missing",
			cfg:     Config{Resolvers: []ResolverConfig{email, {Resolver: ExpressionResolver}}},
			wantErr: []string{"signIn.resolvers[1].expression: required for resolver expression"},
		},
		{
			name:    "claim on the expression resolver",
			cfg:     Config{Resolvers: []ResolverConfig{{Resolver: ExpressionResolver, Expression: "claims.sub", Claim: "sub"}}},
			wantErr: []string{"signIn.resolvers[0].claim: not an option of resolver expression"},
		},
		{
			name:    "expression that does not compile",
			cfg:     Config{Resolvers: []ResolverConfig{{Resolver: ExpressionResolver, Expression: `claims.email.split("@"`}}},
			wantErr: []string{"signIn.resolvers[0].expression: invalid expression", `claims.email.split(\"@\"`, "Syntax error"},
		},
		{
			name:    "empty allowedDomains",
			cfg:     Config{Resolvers: []ResolverConfig{{Resolver: EmailMatchingUserEntityProfileEmail, AllowedDomains: []string{}}}},
			wantErr: []string{"signIn.resolvers[0].allowedDomains: empty list"},
		},
		{
			name:    "allowedDomains entry with @",
			cfg:     Config{Resolvers: []ResolverConfig{{Resolver: EmailMatchingUserEntityProfileEmail, AllowedDomains: []string{"x.com", "@y.com"}}}},
			wantErr: []string{`signIn.resolvers[0].allowedDomains[1]: "@y.com" is not a domain`},
		},
		{
			name:    "catalog without baseURL or token",
			cfg:     Config{Resolvers: []ResolverConfig{email}, Catalog: &CatalogConfig{}},
			wantErr: []string{"signIn.catalog.baseURL: required", "signIn.catalog.token: required (or tokenFile)"},
		},
		{
			name:    "catalog baseURL not absolute",
			cfg:     Config{Resolvers: []ResolverConfig{email}, Catalog: &CatalogConfig{BaseURL: "backstage.example.com", Token: "t"}},
			wantErr: []string{"signIn.catalog.baseURL:", "absolute http or https URL"},
		},
		{
			name:    "catalog baseURL with another scheme",
			cfg:     Config{Resolvers: []ResolverConfig{email}, Catalog: &CatalogConfig{BaseURL: "ftp://backstage.example.com", Token: "t"}},
			wantErr: []string{"signIn.catalog.baseURL:", "absolute http or https URL"},
		},
		{
			name:    "catalog baseURL with a query",
			cfg:     Config{Resolvers: []ResolverConfig{email}, Catalog: &CatalogConfig{BaseURL: "https://b.example.com/?x=1", Token: "t"}},
			wantErr: []string{"signIn.catalog.baseURL:", "must not carry"},
		},
		{
			name:    "token and tokenFile",
			cfg:     Config{Resolvers: []ResolverConfig{email}, Catalog: &CatalogConfig{BaseURL: "https://b.example.com", Token: "t", TokenFile: "/f"}},
			wantErr: []string{"signIn.catalog: token and tokenFile are mutually exclusive"},
		},
		{
			name:    "token with a space",
			cfg:     Config{Resolvers: []ResolverConfig{email}, Catalog: &CatalogConfig{BaseURL: "https://b.example.com", Token: "Bearer secretvalue"}},
			wantErr: []string{"signIn.catalog.token: the token must be a single word"},
		},
		{
			name:    "negative durations",
			cfg:     Config{Resolvers: []ResolverConfig{email}, Catalog: &CatalogConfig{BaseURL: "https://b.example.com", Token: "t", Timeout: Duration(-time.Second), CacheTTL: Duration(-time.Second)}},
			wantErr: []string{"signIn.catalog.timeout: must not be negative", "signIn.catalog.cacheTTL: must not be negative"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == nil {
				require.NoError(t, err)
				_, err := New(tt.cfg, Options{})
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.wantErr {
				assert.Contains(t, err.Error(), want)
			}
			assert.NotContains(t, err.Error(), "secretvalue")
			_, newErr := New(tt.cfg, Options{})
			require.Error(t, newErr, "New must refuse what Validate refuses")
		})
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    Duration
		wantErr string
	}{
		{in: `"5s"`, want: Duration(5 * time.Second)},
		{in: `"1m30s"`, want: Duration(90 * time.Second)},
		{in: `""`, want: 0},
		{in: `null`, want: 0},
		{in: `5`, wantErr: `duration 5: want a string such as "5s"`},
		{in: `"five"`, wantErr: `duration "five": want a string`},
		{in: `{"s":1}`, wantErr: "want a string"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var cc CatalogConfig
			err := json.Unmarshal([]byte(`{"baseURL":"https://x","timeout":`+tt.in+`}`), &cc)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cc.Timeout)
		})
	}
	b, err := json.Marshal(Duration(1500 * time.Millisecond))
	require.NoError(t, err)
	assert.JSONEq(t, `"1.5s"`, string(b))
}

func TestConfigJSONShape(t *testing.T) {
	const doc = `{
		"resolvers": [
			{"resolver": "emailMatchingUserEntityProfileEmail", "allowedDomains": ["example.com"], "dangerouslyAllowSignInWithoutUserInCatalog": true},
			{"resolver": "claim", "claim": "sub"},
			{"resolver": "expression", "expression": "claims.sub"}
		],
		"catalog": {"baseURL": "https://b.example.com", "tokenFile": "/run/token", "timeout": "2s", "cacheTTL": "30s", "groupsFromMembership": true}
	}`
	var cfg Config
	require.NoError(t, json.Unmarshal([]byte(doc), &cfg))
	assert.Equal(t, Config{
		Resolvers: []ResolverConfig{
			{Resolver: EmailMatchingUserEntityProfileEmail, AllowedDomains: []string{"example.com"}, DangerouslyAllowSignInWithoutUserInCatalog: true},
			{Resolver: ClaimResolver, Claim: "sub"},
			{Resolver: ExpressionResolver, Expression: "claims.sub"},
		},
		Catalog: &CatalogConfig{BaseURL: "https://b.example.com", TokenFile: "/run/token",
			Timeout: Duration(2 * time.Second), CacheTTL: Duration(30 * time.Second), GroupsFromMembership: true},
	}, cfg)
}

func TestNewTokenFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	good := write("good", "  \n"+testToken+"\n")
	tests := []struct {
		name    string
		file    string
		wantErr string
	}{
		{name: "token read and trimmed", file: good},
		{name: "unreadable", file: filepath.Join(dir, "missing"), wantErr: "signIn.catalog.tokenFile: cannot read the token"},
		{name: "empty", file: write("empty", " \n\t"), wantErr: "signIn.catalog.tokenFile: " + filepath.Join(dir, "empty") + " holds no token"},
		{name: "two words", file: write("two", "a secretword"), wantErr: "signIn.catalog.tokenFile: the token must be a single word"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := newFakeCatalog(t, userEntity("", "jane", "jane@example.com", nil))
			cfg := Config{
				Resolvers: []ResolverConfig{{Resolver: EmailMatchingUserEntityProfileEmail}},
				Catalog:   &CatalogConfig{BaseURL: cat.URL(), TokenFile: tt.file},
			}
			c, err := New(cfg, Options{})
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.NotContains(t, err.Error(), "secretword")
				return
			}
			require.NoError(t, err)
			res, err := resolveIn(t, c, Input{Email: "jane@example.com"})
			require.NoError(t, err)
			assert.Equal(t, "jane", res.UserName)
			assert.Equal(t, "Bearer "+testToken, cat.last().Authorization)
		})
	}
}
