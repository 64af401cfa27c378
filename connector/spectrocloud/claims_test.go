package spectrocloud

import (
	"testing"

	"github.com/dexidp/dex/connector"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func baseClaims() map[string]any {
	return map[string]any{
		"sub":         "user-1",
		"email":       "jane@example.com",
		"given_name":  "Jane",
		"family_name": "Doe",
		"groups":      []any{"admins", "devs"},
		"tenant":      "acme",
	}
}

func TestClaimsToIdentity(t *testing.T) {
	tests := []struct {
		name    string
		config  func(*Config)
		claims  func(map[string]any)
		want    connector.Identity
		wantErr string
	}{
		{name: "palette defaults: name from given and family name, absent email_verified counts as verified",
			want: connector.Identity{UserID: "user-1", Username: "Jane Doe", Email: "jane@example.com", EmailVerified: true, Groups: []string{"admins", "devs"}}},
		{name: "name claim wins", claims: func(c map[string]any) { c["name"] = "Jane Q. Doe" },
			want: connector.Identity{UserID: "user-1", Username: "Jane Q. Doe", Email: "jane@example.com", EmailVerified: true, Groups: []string{"admins", "devs"}}},
		{name: "only given name", claims: func(c map[string]any) { delete(c, "family_name") },
			want: connector.Identity{UserID: "user-1", Username: "Jane", Email: "jane@example.com", EmailVerified: true, Groups: []string{"admins", "devs"}}},
		{name: "email when no names", claims: func(c map[string]any) { delete(c, "given_name"); delete(c, "family_name") },
			want: connector.Identity{UserID: "user-1", Username: "jane@example.com", Email: "jane@example.com", EmailVerified: true, Groups: []string{"admins", "devs"}}},
		{name: "mapped email claim names a user without names", config: func(c *Config) { c.ClaimMapping.EmailKey = "mail" },
			claims: func(c map[string]any) {
				delete(c, "given_name")
				delete(c, "family_name")
				delete(c, "email")
				c["mail"] = "j@example.com"
			},
			want: connector.Identity{UserID: "user-1", Username: "j@example.com", Email: "j@example.com", EmailVerified: true, Groups: []string{"admins", "devs"}}},
		{name: "userNameKey", config: func(c *Config) { c.UserNameKey = "nick" }, claims: func(c map[string]any) { c["nick"] = "jd" },
			want: connector.Identity{UserID: "user-1", Username: "jd", Email: "jane@example.com", EmailVerified: true, Groups: []string{"admins", "devs"}}},
		{name: "userNameKey missing", config: func(c *Config) { c.UserNameKey = "nick" }, wantErr: `claim "nick" is missing`},
		{name: "userIDKey", config: func(c *Config) { c.UserIDKey = "email" },
			want: connector.Identity{UserID: "jane@example.com", Username: "Jane Doe", Email: "jane@example.com", EmailVerified: true, Groups: []string{"admins", "devs"}}},
		{name: "missing sub", claims: func(c map[string]any) { delete(c, "sub") }, wantErr: `claim "sub" is missing`},
		{name: "preferred_username mapped", config: func(c *Config) { c.ClaimMapping.PreferredUsernameKey = "login" }, claims: func(c map[string]any) { c["login"] = "jdoe" },
			want: connector.Identity{UserID: "user-1", Username: "Jane Doe", PreferredUsername: "jdoe", Email: "jane@example.com", EmailVerified: true, Groups: []string{"admins", "devs"}}},
		{name: "preferred_username default key", claims: func(c map[string]any) { c["preferred_username"] = "jane" },
			want: connector.Identity{UserID: "user-1", Username: "Jane Doe", PreferredUsername: "jane", Email: "jane@example.com", EmailVerified: true, Groups: []string{"admins", "devs"}}},
		{name: "missing email", claims: func(c map[string]any) { delete(c, "email") }, wantErr: `claim "email" is missing`},
		{name: "email not a string", claims: func(c map[string]any) { c["email"] = 42.0 }, wantErr: `claim "email" must be a string`},
		{name: "email_verified true", claims: func(c map[string]any) { c["email_verified"] = true },
			want: connector.Identity{UserID: "user-1", Username: "Jane Doe", Email: "jane@example.com", EmailVerified: true, Groups: []string{"admins", "devs"}}},
		{name: "email_verified false refused", claims: func(c map[string]any) { c["email_verified"] = false }, wantErr: "insecureSkipEmailVerified"},
		{name: "email_verified string false refused", claims: func(c map[string]any) { c["email_verified"] = "false" }, wantErr: "is not verified"},
		{name: "email_verified false accepted when skipped", config: func(c *Config) { c.InsecureSkipEmailVerified = true }, claims: func(c map[string]any) { c["email_verified"] = false },
			want: connector.Identity{UserID: "user-1", Username: "Jane Doe", Email: "jane@example.com", EmailVerified: true, Groups: []string{"admins", "devs"}}},
		{name: "email_verified of a wrong type", claims: func(c map[string]any) { c["email_verified"] = 1.0 }, wantErr: `"email_verified" must be a boolean`},
		{name: "groups as a single string", claims: func(c map[string]any) { c["groups"] = "admins" },
			want: connector.Identity{UserID: "user-1", Username: "Jane Doe", Email: "jane@example.com", EmailVerified: true, Groups: []string{"admins"}}},
		{name: "groups as objects", claims: func(c map[string]any) { c["groups"] = []any{map[string]any{"name": "ops"}} },
			want: connector.Identity{UserID: "user-1", Username: "Jane Doe", Email: "jane@example.com", EmailVerified: true, Groups: []string{"ops"}}},
		{name: "groups malformed", claims: func(c map[string]any) { c["groups"] = []any{1.0} }, wantErr: `claim "groups" must be a list of strings`},
		{name: "groups claim mapped", config: func(c *Config) { c.ClaimMapping.GroupsKey = "teams" }, claims: func(c map[string]any) { c["teams"] = []any{"t1"} },
			want: connector.Identity{UserID: "user-1", Username: "Jane Doe", Email: "jane@example.com", EmailVerified: true, Groups: []string{"t1"}}},
		{name: "no groups", claims: func(c map[string]any) { delete(c, "groups") },
			want: connector.Identity{UserID: "user-1", Username: "Jane Doe", Email: "jane@example.com", EmailVerified: true}},
		{name: "filter, rename and new group from claims", config: func(c *Config) {
			c.ClaimModifications.FilterGroupClaims.GroupsFilter = "^adm"
			c.ClaimModifications.ModifyGroupNames = ModifyGroupNames{Prefix: "palette:", Suffix: ":team"}
			c.ClaimModifications.NewGroupFromClaims = []NewGroupFromClaims{
				{Claims: []string{"tenant", "sub"}, Delimiter: ":", Prefix: "spectrocloud"},
				{Claims: []string{"missing"}, Delimiter: "/", Prefix: "never"},
			}
		}, want: connector.Identity{UserID: "user-1", Username: "Jane Doe", Email: "jane@example.com", EmailVerified: true,
			Groups: []string{"palette:admins:team", "spectrocloud:acme:user-1"}}},
		{name: "new group clears the delimiter from values", config: func(c *Config) {
			c.ClaimModifications.NewGroupFromClaims = []NewGroupFromClaims{{Claims: []string{"tenant"}, Delimiter: ":", ClearDelimiter: true, Prefix: "t"}}
		}, claims: func(c map[string]any) { c["tenant"] = "ac:me"; delete(c, "groups") },
			want: connector.Identity{UserID: "user-1", Username: "Jane Doe", Email: "jane@example.com", EmailVerified: true, Groups: []string{"t:acme"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			if tt.config != nil {
				tt.config(&cfg)
			}
			rules, err := cfg.claimRules()
			require.NoError(t, err)
			claims := baseClaims()
			if tt.claims != nil {
				tt.claims(claims)
			}
			got, err := rules.identity(claims)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// An ID token without the user ID claim is refused with a message that
// says what to set: a claim the token carries, email when it has one, as
// the Backstage module falls back to it.
func TestMissingUserIDSaysWhatToSet(t *testing.T) {
	tests := []struct {
		name      string
		userIDKey string
		drop      []string
		want      []string
	}{
		{name: "sub missing", drop: []string{"sub"},
			want: []string{`ID token claim "sub" is missing`, "userIDKey names it", "set userIDKey to a claim the ID token carries", "userIDKey: email", "Backstage module"}},
		{name: "another userIDKey missing", userIDKey: "uid",
			want: []string{`ID token claim "uid" is missing`, "userIDKey: email"}},
		{name: "sub and email missing", drop: []string{"sub", "email"},
			want: []string{`ID token claim "sub" is missing`, "set userIDKey to a claim the ID token carries that names the user for good"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.UserIDKey = tt.userIDKey })
			u := jane
			u.Claims = map[string]any{}
			for _, claim := range tt.drop {
				u.Claims[claim] = nil
			}
			f.tenant.AddUser(u)
			_, err := f.login(f.open(), allScopes)
			var claimErr *ClaimError
			require.ErrorAs(t, err, &claimErr)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestAllowedGroups(t *testing.T) {
	cfg := validConfig()
	cfg.AllowedGroups = []string{"admins", "spectrocloud:acme", "group:default/platform"}
	rules, err := cfg.claimRules()
	require.NoError(t, err)

	tests := []struct {
		name            string
		palette, catalg []string
		allowed         bool
	}{
		{name: "a Palette team", palette: []string{"devs", "admins"}, allowed: true},
		{name: "a group built by claimModifications", palette: []string{"spectrocloud:acme"}, allowed: true},
		{name: "a catalog group", palette: []string{"devs"}, catalg: []string{"group:default/platform"}, allowed: true},
		{name: "none of them", palette: []string{"devs"}},
		{name: "no groups", palette: nil},
		{name: "a Palette team named like the catalog group", palette: []string{"group:default/platform"}},
		{name: "a catalog group named like a Palette team", catalg: []string{"admins"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := rules.checkAllowedGroups("u", tt.palette, tt.catalg)
			if tt.allowed {
				require.NoError(t, err)
				return
			}
			var notIn *connector.UserNotInRequiredGroupsError
			require.ErrorAs(t, err, &notIn)
			assert.Equal(t, "u", notIn.UserID)
		})
	}
}

func TestIsCatalogGroupRef(t *testing.T) {
	for g, want := range map[string]bool{
		"group:default/admins": true, "group:ns/x": true,
		"group:/admins": false, "group:default/": false, "group:admins": false, "admins": false, "user:default/jane": false,
	} {
		assert.Equal(t, want, isCatalogGroupRef(g), g)
	}
}
