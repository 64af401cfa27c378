package serve_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
	"github.com/dex-spectro/dex-spectro/internal/dextest/harness"
	"github.com/dex-spectro/dex-spectro/internal/serve"
)

// signIn resolves users against the Backstage catalog at catalogURL.
func signIn(catalogURL string) string {
	return `signIn:
  resolvers:
  - resolver: emailMatchingUserEntityProfileEmail
  catalog:
    baseURL: ` + catalogURL + `
    token: catalog-token
    cacheTTL: 1m
    groupsFromMembership: true
`
}

// backstageCatalog answers by-query for one User entity until it is removed.
type backstageCatalog struct {
	mu      sync.Mutex
	present bool
}

func (c *backstageCatalog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.URL.Path != "/api/catalog/entities/by-query" || r.Header.Get("Authorization") != "Bearer catalog-token" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	items := []any{}
	if c.present && r.URL.Query().Get("filter") == "kind=user,spec.profile.email=jane@example.com" {
		items = append(items, map[string]any{
			"apiVersion": "backstage.io/v1alpha1", "kind": "User",
			"metadata":  map[string]any{"name": "jane.doe", "namespace": "default"},
			"spec":      map[string]any{"profile": map[string]any{"email": "jane@example.com"}, "memberOf": []any{"platform-team"}},
			"relations": []any{map[string]any{"type": "memberOf", "targetRef": "group:default/platform-team"}},
		})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"items": items, "totalItems": len(items)})
}

// Dex's ID token carries the Backstage catalog entity's name as
// preferred_username and its groups; once the user leaves the catalog, the
// next refresh after the cache lifetime is refused with invalid_grant.
func TestSignInResolvedAgainstTheCatalog(t *testing.T) {
	ctx := context.Background()
	cat := &backstageCatalog{present: true}
	catalogSrv := httptest.NewServer(cat)
	t.Cleanup(catalogSrv.Close)

	l := listen(t)
	palette, _ := paletteFor(t, "http://"+l.Addr().String()+"/dex",
		spectrotest.User{Email: "jane@example.com", GivenName: "Jane", FamilyName: "Doe", Groups: []string{"admins"}})

	var clock dextest.Clock // the connector's
	dex := harness.Start(t, spectroConfig(palette.URL, signIn(catalogSrv.URL)), l, serve.WithConnectorClock(clock.Now))

	rp, err := dextest.NewRelyingParty(ctx, dex.Issuer, "backstage", "backstage-secret", rpRedirect)
	require.NoError(t, err)
	tokens, err := rp.SignIn(ctx, dextest.NewBrowser())
	require.NoError(t, err)
	assert.Equal(t, "jane.doe", tokens.Claims.PreferredUsername, "the catalog entity's name")
	assert.Equal(t, []string{"admins", "group:default/platform-team"}, tokens.Claims.Groups)

	cat.mu.Lock()
	cat.present = false
	cat.mu.Unlock()
	refreshed, err := rp.Refresh(ctx, tokens.OAuth2.RefreshToken)
	require.NoError(t, err, "within cacheTTL the cached answer still counts")

	clock.Advance(2 * time.Minute)
	_, err = rp.Refresh(ctx, refreshed.OAuth2.RefreshToken)
	var re *oauth2.RetrieveError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "invalid_grant", re.ErrorCode)
	assert.Contains(t, re.ErrorDescription, "sign-in denied")
}
