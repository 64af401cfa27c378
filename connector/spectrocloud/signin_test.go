package spectrocloud

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/dexidp/dex/connector"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/resolver"
)

// catalog is a small Backstage catalog: by-query over User entities, with
// the filter syntax kind=user,<key>=<value>.
type catalog struct {
	mu       sync.Mutex
	users    map[string]map[string]any // by metadata.name
	requests int
	srv      *httptest.Server
}

func newCatalog(t testing.TB) *catalog {
	c := &catalog{users: map[string]map[string]any{}}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *catalog) addUser(name, email string, groups ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var relations []any
	for _, g := range groups {
		relations = append(relations, map[string]any{"type": "memberOf", "targetRef": "group:default/" + g})
	}
	c.users[name] = map[string]any{
		"apiVersion": "backstage.io/v1alpha1", "kind": "User",
		"metadata":  map[string]any{"name": name, "namespace": "default"},
		"spec":      map[string]any{"profile": map[string]any{"email": email}},
		"relations": relations,
	}
}

func (c *catalog) removeUser(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.users, name)
}

func (c *catalog) serve(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	if r.URL.Path != "/api/catalog/entities/by-query" || r.Header.Get("Authorization") != "Bearer catalog-token" {
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	items := []any{}
	for _, u := range c.users {
		if matchesFilter(u, r.URL.Query().Get("filter")) {
			items = append(items, u)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"items": items, "totalItems": len(items)})
}

func matchesFilter(u map[string]any, filter string) bool {
	for _, cond := range strings.Split(filter, ",") {
		key, value, _ := strings.Cut(cond, "=")
		var got string
		switch key {
		case "kind":
			got = u["kind"].(string)
		case "metadata.name":
			got = u["metadata"].(map[string]any)["name"].(string)
		case "spec.profile.email":
			got = u["spec"].(map[string]any)["profile"].(map[string]any)["email"].(string)
		default:
			return false
		}
		if !strings.EqualFold(got, value) {
			return false
		}
	}
	return true
}

func TestSignInResolvers(t *testing.T) {
	cat := newCatalog(t)
	cat.addUser("jdoe", "jane@example.com", "platform")

	tests := []struct {
		name       string
		signIn     resolver.Config
		wantName   string
		wantGroups []string
		wantErr    string
	}{
		{name: "expression", signIn: resolver.Config{Resolvers: []resolver.ResolverConfig{
			{Resolver: "expression", Expression: `"org/" + claims.tenant + "/" + claims.email.split("@")[0]`}}},
			wantName: "org/acme/jane", wantGroups: []string{"admins", "devs"}},
		{name: "claim", signIn: resolver.Config{Resolvers: []resolver.ResolverConfig{{Resolver: "claim", Claim: "sub"}}},
			wantName: "user-jane", wantGroups: []string{"admins", "devs"}},
		{name: "email local part without catalog", signIn: resolver.Config{Resolvers: []resolver.ResolverConfig{{Resolver: "emailLocalPartMatchingUserEntityName"}}},
			wantName: "jane", wantGroups: []string{"admins", "devs"}},
		{name: "catalog entity by email, with membership groups", signIn: resolver.Config{
			Resolvers: []resolver.ResolverConfig{{Resolver: "emailMatchingUserEntityProfileEmail"}},
			Catalog:   &resolver.CatalogConfig{BaseURL: cat.srv.URL, Token: "catalog-token", GroupsFromMembership: true}},
			wantName: "jdoe", wantGroups: []string{"admins", "devs", "group:default/platform"}},
		{name: "domain not allowed", signIn: resolver.Config{Resolvers: []resolver.ResolverConfig{
			{Resolver: "emailMatchingUserEntityProfileEmail", AllowedDomains: []string{"corp.example.com"}}}},
			wantErr: "sign-in denied"},
		{name: "nobody matches", signIn: resolver.Config{Resolvers: []resolver.ResolverConfig{{Resolver: "claim", Claim: "employee_id"}}},
			wantErr: "claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.cfg.SignIn = &tt.signIn
			id, err := f.login(f.open(), allScopes)
			if tt.wantErr != "" {
				var denied *resolver.DeniedError
				require.ErrorAs(t, err, &denied)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Equal(t, outcomeDenied, outcomeOf(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantName, id.PreferredUsername)
			assert.Equal(t, tt.wantGroups, id.Groups)
		})
	}
}

func TestSignInAllowedGroupsSeeCatalogGroups(t *testing.T) {
	cat := newCatalog(t)
	cat.addUser("jdoe", "jane@example.com", "platform")
	f := newFixture(t)
	f.cfg.AllowedGroups = []string{"group:default/platform"}
	f.cfg.SignIn = &resolver.Config{
		Resolvers: []resolver.ResolverConfig{{Resolver: "emailMatchingUserEntityProfileEmail"}},
		Catalog:   &resolver.CatalogConfig{BaseURL: cat.srv.URL, Token: "catalog-token", GroupsFromMembership: true},
	}
	_, err := f.login(f.open(), allScopes)
	require.NoError(t, err)
}

// A Palette team named like a catalog group neither satisfies allowedGroups
// for it nor reaches Dex's groups claim, where it would pass for it.
func TestPaletteTeamNamedLikeACatalogGroup(t *testing.T) {
	cat := newCatalog(t)
	cat.addUser("jdoe", "jane@example.com", "devs")
	mallory := spectrotest.User{Sub: "user-mallory", Email: "mallory@example.com", GivenName: "Mallory",
		Groups: []string{"group:default/platform", "devs"}}
	for _, tt := range []struct {
		name          string
		allowedGroups []string
		wantErr       bool
	}{
		{name: "allowedGroups names the catalog group", allowedGroups: []string{"group:default/platform"}, wantErr: true},
		{name: "no allowedGroups", allowedGroups: nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cat.addUser("mallory", mallory.Email, "devs")
			f := newFixture(t)
			f.tenant.AddUser(mallory)
			f.tenant.SetAutoLogin(mallory.Email)
			f.cfg.AllowedGroups = tt.allowedGroups
			f.cfg.SignIn = &resolver.Config{
				Resolvers: []resolver.ResolverConfig{{Resolver: "emailMatchingUserEntityProfileEmail"}},
				Catalog:   &resolver.CatalogConfig{BaseURL: cat.srv.URL, Token: "catalog-token", GroupsFromMembership: true},
			}
			id, err := f.login(f.open(), allScopes)
			if tt.wantErr {
				var notIn *connector.UserNotInRequiredGroupsError
				require.ErrorAs(t, err, &notIn)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []string{"devs", "group:default/devs"}, id.Groups, "the look-alike Palette team is dropped")
			assert.Contains(t, f.logs.String(), "dropping a Palette group named like a Backstage catalog group")
		})
	}
}

func TestRefreshAfterCatalogRemoval(t *testing.T) {
	cat := newCatalog(t)
	cat.addUser("jdoe", "jane@example.com")
	f := newFixture(t)
	f.cfg.SignIn = &resolver.Config{
		Resolvers: []resolver.ResolverConfig{{Resolver: "emailMatchingUserEntityProfileEmail"}},
		Catalog:   &resolver.CatalogConfig{BaseURL: cat.srv.URL, Token: "catalog-token", CacheTTL: resolver.Duration(60e9)},
	}
	c := f.open()
	id, err := f.login(c, allScopes)
	require.NoError(t, err)
	assert.Equal(t, "jdoe", id.PreferredUsername)

	_, err = c.Refresh(context.Background(), allScopes, id)
	require.NoError(t, err)
	assert.Equal(t, 1, cat.requests, "the refresh within cacheTTL used the cached answer")

	cat.removeUser("jdoe")
	f.clock.Advance(61e9)
	_, err = c.Refresh(context.Background(), allScopes, id)
	var denied *resolver.DeniedError
	require.ErrorAs(t, err, &denied, "a user removed from the catalog loses access at the next refresh")
}

func TestSignInCatalogDownFailsClosed(t *testing.T) {
	cat := newCatalog(t)
	url := cat.srv.URL
	cat.srv.Close()
	f := newFixture(t)
	f.cfg.SignIn = &resolver.Config{
		Resolvers: []resolver.ResolverConfig{{Resolver: "emailMatchingUserEntityProfileEmail"}, {Resolver: "claim", Claim: "sub"}},
		Catalog:   &resolver.CatalogConfig{BaseURL: url, Token: "catalog-token"},
	}
	_, err := f.login(f.open(), allScopes)
	var catErr *resolver.CatalogError
	require.ErrorAs(t, err, &catErr)
	assert.NotContains(t, err.Error(), "catalog-token")
}
