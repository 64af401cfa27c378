package resolver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCatalogRequest(t *testing.T) {
	tests := []struct {
		resolver   string
		email      string
		wantFilter string
	}{
		{EmailMatchingUserEntityProfileEmail, "jane.doe@example.com", "kind=user,spec.profile.email=jane.doe@example.com"},
		{EmailLocalPartMatchingUserEntityName, "jane.doe@example.com", "kind=user,metadata.name=jane.doe"},
	}
	for _, tt := range tests {
		t.Run(tt.resolver, func(t *testing.T) {
			cat := newFakeCatalog(t, userEntity("", "jane.doe", "jane.doe@example.com", nil))
			c := mustChain(t, Config{
				Resolvers: []ResolverConfig{{Resolver: tt.resolver}},
				Catalog:   &CatalogConfig{BaseURL: cat.URL() + "/", Token: testToken},
			}, Options{})
			res, err := resolveIn(t, c, Input{Email: tt.email})
			require.NoError(t, err)
			assert.Equal(t, Result{UserName: "jane.doe", EntityRef: "user:default/jane.doe", Resolver: tt.resolver}, res)

			got := cat.last()
			assert.Equal(t, "/api/catalog/entities/by-query", got.Path)
			assert.Equal(t, []string{tt.wantFilter}, got.Filters)
			assert.Equal(t, "Bearer "+testToken, got.Authorization)
			assert.Equal(t, []string{"2"}, got.Query["limit"])
			assert.Equal(t, []string{"kind,metadata.name,metadata.namespace,spec.memberOf,relations"}, got.Query["fields"])
		})
	}
}

func TestCatalogDecisions(t *testing.T) {
	entities := []map[string]any{
		userEntity("", "jane", "jane@example.com", nil),
		userEntity("EMEA", "Max.Muster", "max@example.com", nil),
		userEntity("", "twin-a", "twin@example.com", nil),
		userEntity("", "twin-b", "twin@example.com", nil),
		userEntity("", "sam", "sam@example.com", nil),
		userEntity("apac", "sam", "sam@example.org", nil),
	}
	tests := []struct {
		name     string
		resolver ResolverConfig
		email    string
		want     decision
	}{
		{name: "found by profile email",
			resolver: ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail},
			email:    "jane@example.com", want: decision{user: "jane", ref: "user:default/jane"}},
		{name: "catalog matches values case-insensitively",
			resolver: ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail},
			email:    "JANE@example.com", want: decision{user: "jane", ref: "user:default/jane"}},
		{name: "namespace and name in the canonical ref; name kept for the user name",
			resolver: ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail},
			email:    "max@example.com", want: decision{user: "Max.Muster", ref: "user:emea/max.muster"}},
		{name: "not found does not resolve",
			resolver: ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail},
			email:    "nobody@example.com", want: decision{detail: `emailMatchingUserEntityProfileEmail: no User entity in the catalog has spec.profile.email "nobody@example.com"`}},
		{name: "not found by local part does not resolve",
			resolver: ResolverConfig{Resolver: EmailLocalPartMatchingUserEntityName},
			email:    "nobody@example.com", want: decision{detail: `no User entity in the catalog has metadata.name "nobody"`}},
		{name: "not found signs in anyway when dangerously allowed",
			resolver: ResolverConfig{Resolver: EmailLocalPartMatchingUserEntityName, DangerouslyAllowSignInWithoutUserInCatalog: true},
			email:    "New.Hire@example.com", want: decision{user: "New.Hire", ref: "user:default/new.hire"}},
		{name: "not found by email signs in with the email when dangerously allowed",
			resolver: ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail, DangerouslyAllowSignInWithoutUserInCatalog: true},
			email:    "new@example.com", want: decision{user: "new@example.com", ref: "user:default/new@example.com"}},
		{name: "two matches are ambiguous and denied",
			resolver: ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail},
			email:    "twin@example.com", want: decision{denied: true, detail: `more than one User entity in the catalog has spec.profile.email "twin@example.com", and the match must be unique`}},
		{name: "ambiguous is denied even when dangerously allowed",
			resolver: ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail, DangerouslyAllowSignInWithoutUserInCatalog: true},
			email:    "twin@example.com", want: decision{denied: true, detail: "more than one User entity"}},
		{name: "same name in two namespaces is ambiguous",
			resolver: ResolverConfig{Resolver: EmailLocalPartMatchingUserEntityName},
			email:    "sam@example.com", want: decision{denied: true, detail: `more than one User entity in the catalog has metadata.name "sam"`}},
		{name: "allowedDomains is checked before the catalog",
			resolver: ResolverConfig{Resolver: EmailMatchingUserEntityProfileEmail, AllowedDomains: []string{"example.org"}},
			email:    "jane@example.com", want: decision{denied: true, detail: `email domain "example.com" is not in allowedDomains`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := newFakeCatalog(t, entities...)
			c := mustChain(t, Config{Resolvers: []ResolverConfig{tt.resolver}, Catalog: catalogConfig(cat.URL())}, Options{})
			res, err := resolveIn(t, c, Input{Email: tt.email})
			checkDecision(t, res, err, tt.want, tt.resolver.Resolver)
			if strings.Contains(tt.name, "allowedDomains") {
				assert.Zero(t, cat.requests.Load(), "a denied domain must not reach the catalog")
			}
		})
	}
}

func TestCatalogFailures(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantKind   CatalogErrorKind
		wantStatus int
		wantMsg    string
	}{
		{name: "401", status: http.StatusUnauthorized, body: `{"error":"bad token"}`, wantKind: CatalogTokenRejected, wantStatus: 401,
			wantMsg: "rejected the token (HTTP 401 Unauthorized), so the sign-in was refused: check signIn.catalog.token or tokenFile"},
		{name: "403", status: http.StatusForbidden, wantKind: CatalogTokenRejected, wantStatus: 403, wantMsg: "rejected the token (HTTP 403 Forbidden)"},
		{name: "500", status: http.StatusInternalServerError, wantKind: CatalogUnavailable, wantStatus: 500,
			wantMsg: "could not be reached (HTTP 500 Internal Server Error), so the sign-in was refused: try again later"},
		{name: "503", status: http.StatusServiceUnavailable, wantKind: CatalogUnavailable, wantStatus: 503, wantMsg: "could not be reached (HTTP 503"},
		{name: "404", status: http.StatusNotFound, wantKind: CatalogBadResponse, wantStatus: 404, wantMsg: "gave an unusable answer (HTTP 404 Not Found)"},
		{name: "not JSON", body: `<html>`, wantKind: CatalogBadResponse, wantMsg: "gave an unusable answer (not a by-query response"},
		{name: "no items", body: `{"totalItems":0}`, wantKind: CatalogBadResponse, wantMsg: "no items"},
		{name: "entity without a name", body: `{"items":[{"kind":"User","metadata":{}}],"totalItems":1}`, wantKind: CatalogBadResponse, wantMsg: "entity without metadata.name"},
		{name: "not a user", body: `{"items":[{"kind":"Group","metadata":{"name":"g"}}],"totalItems":1}`, wantKind: CatalogBadResponse, wantMsg: `got kind "Group"`},
		{name: "too large", body: `{"items":[],"pad":"` + strings.Repeat("x", CatalogMaxResponseBytes) + `"}`, wantKind: CatalogBadResponse,
			wantMsg: "response larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := newFakeCatalog(t)
			cat.status, cat.body = tt.status, tt.body
			c := mustChain(t, Config{
				Resolvers: []ResolverConfig{
					{Resolver: EmailMatchingUserEntityProfileEmail, DangerouslyAllowSignInWithoutUserInCatalog: true},
					{Resolver: ClaimResolver, Claim: "sub"},
				},
				Catalog: catalogConfig(cat.URL()),
			}, Options{})
			in := Input{Email: "jane@example.com", Claims: map[string]any{"sub": "would-match"}}
			_, err := resolveIn(t, c, in)
			var ce *CatalogError
			require.ErrorAs(t, err, &ce, "a catalog failure ends the sign-in, the next resolver is not tried")
			assert.Equal(t, tt.wantKind, ce.Kind)
			assert.Equal(t, tt.wantStatus, ce.StatusCode)
			assert.Equal(t, cat.URL(), ce.BaseURL)
			assert.Contains(t, err.Error(), "the Backstage catalog at "+cat.URL())
			assert.Contains(t, err.Error(), tt.wantMsg)
			assert.NotContains(t, err.Error(), testToken)
			var de *DeniedError
			assert.False(t, errors.As(err, &de), "a catalog failure is not a denial")

			// Failures are not cached: the next sign-in asks again.
			_, err = resolveIn(t, c, in)
			require.ErrorAs(t, err, &ce)
			assert.EqualValues(t, 2, cat.requests.Load())
		})
	}
}

func TestCatalogTimeout(t *testing.T) {
	cat := newFakeCatalog(t)
	cat.block = make(chan struct{})
	t.Cleanup(func() { close(cat.block) })
	cfg := Config{
		Resolvers: []ResolverConfig{{Resolver: EmailLocalPartMatchingUserEntityName}},
		Catalog:   &CatalogConfig{BaseURL: cat.URL(), Token: testToken, Timeout: Duration(100 * time.Millisecond)},
	}
	for _, client := range []struct {
		name string
		opts Options
	}{
		{"own client", Options{}},
		{"caller's client without a timeout", Options{HTTPClient: &http.Client{}}},
	} {
		t.Run(client.name, func(t *testing.T) {
			c := mustChain(t, cfg, client.opts)
			start := time.Now()
			_, err := c.Resolve(context.Background(), Input{Email: "jane@example.com"})
			var ce *CatalogError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, CatalogUnavailable, ce.Kind)
			assert.Contains(t, err.Error(), "could not be reached")
			assert.NotContains(t, err.Error(), "filter=", "the request URL is not repeated")
			assert.Less(t, time.Since(start), 5*time.Second)
		})
	}
}

func TestCatalogUnreachable(t *testing.T) {
	cat := newFakeCatalog(t)
	base := cat.URL()
	cat.server.Close()
	c := mustChain(t, Config{
		Resolvers: []ResolverConfig{{Resolver: EmailMatchingUserEntityProfileEmail}},
		Catalog:   catalogConfig(base),
	}, Options{})
	_, err := resolveIn(t, c, Input{Email: "jane@example.com"})
	var ce *CatalogError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, CatalogUnavailable, ce.Kind)
	assert.Zero(t, ce.StatusCode)
	assert.Contains(t, err.Error(), "resolver: the Backstage catalog at "+base+" could not be reached (")
	assert.Contains(t, err.Error(), "so the sign-in was refused")
	assert.NotContains(t, err.Error(), testToken)
}

func TestCatalogCache(t *testing.T) {
	cat := newFakeCatalog(t, userEntity("", "jane", "jane@example.com", nil))
	clock := newFakeClock()
	c := mustChain(t, Config{
		Resolvers: []ResolverConfig{{Resolver: EmailMatchingUserEntityProfileEmail}},
		Catalog:   &CatalogConfig{BaseURL: cat.URL(), Token: testToken, CacheTTL: Duration(30 * time.Second)},
	}, Options{Now: clock.Now})
	jane := Input{Email: "jane@example.com"}
	nobody := Input{Email: "nobody@example.com"}

	steps := []struct {
		advance      time.Duration
		in           Input
		wantRequests int64
	}{
		{in: jane, wantRequests: 1},
		{advance: 29 * time.Second, in: jane, wantRequests: 1},   // within the TTL: cached
		{in: nobody, wantRequests: 2},                            // another filter
		{advance: time.Second, in: jane, wantRequests: 3},        // 30s later: expired
		{advance: 10 * time.Second, in: nobody, wantRequests: 3}, // not found is cached too
		{advance: 20 * time.Second, in: nobody, wantRequests: 4},
		{in: Input{Email: "JANE@example.com"}, wantRequests: 5}, // keyed by the exact filter
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		_, _ = resolveIn(t, c, s.in)
		assert.Equal(t, s.wantRequests, cat.requests.Load(), "step %d", i)
	}
}

func TestCatalogCacheTTLDefault(t *testing.T) {
	cat := newFakeCatalog(t, userEntity("", "jane", "jane@example.com", nil))
	clock := newFakeClock()
	c := mustChain(t, Config{
		Resolvers: []ResolverConfig{{Resolver: EmailMatchingUserEntityProfileEmail}},
		Catalog:   catalogConfig(cat.URL()),
	}, Options{Now: clock.Now})
	in := Input{Email: "jane@example.com"}
	_, err := resolveIn(t, c, in)
	require.NoError(t, err)
	clock.Advance(DefaultCatalogCacheTTL - time.Nanosecond)
	_, err = resolveIn(t, c, in)
	require.NoError(t, err)
	assert.EqualValues(t, 1, cat.requests.Load())
	clock.Advance(time.Nanosecond)
	_, err = resolveIn(t, c, in)
	require.NoError(t, err)
	assert.EqualValues(t, 2, cat.requests.Load())
}

func TestCatalogGroupsFromMembership(t *testing.T) {
	entities := []map[string]any{
		userEntity("", "jane", "jane@example.com",
			[]string{"team-a", "Group:Platform/SRE", "default/team-b", "group:team-c", "user:default/not-a-group", "team-a"},
			"group:default/team-a", "group:platform/sre", "group:ops/on-call", "user:default/buddy"),
		userEntity("emea", "max", "max@example.com", []string{"team-x"}),
		userEntity("", "solo", "solo@example.com", nil),
	}
	tests := []struct {
		email      string
		groups     bool
		wantGroups []string
	}{
		{email: "jane@example.com", groups: true, wantGroups: []string{
			"group:default/team-a", "group:default/team-b", "group:default/team-c", "group:ops/on-call", "group:platform/sre",
		}},
		{email: "max@example.com", groups: true, wantGroups: []string{"group:emea/team-x"}},
		{email: "solo@example.com", groups: true, wantGroups: nil},
		{email: "jane@example.com", groups: false, wantGroups: nil},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			cat := newFakeCatalog(t, entities...)
			c := mustChain(t, Config{
				Resolvers: []ResolverConfig{{Resolver: EmailMatchingUserEntityProfileEmail}},
				Catalog:   &CatalogConfig{BaseURL: cat.URL(), Token: testToken, GroupsFromMembership: tt.groups},
			}, Options{})
			res, err := resolveIn(t, c, Input{Email: tt.email})
			require.NoError(t, err)
			assert.Equal(t, tt.wantGroups, res.Groups)
		})
	}
}

// TestCatalogFilterInjection checks that no email can change the filter the
// catalog applies: the catalog receives one filter parameter, and parsing it
// as Backstage does yields exactly the two intended conditions.
func TestCatalogFilterInjection(t *testing.T) {
	tests := []struct {
		email string
		// want*Value is the value the catalog must see; "" means the value
		// must not be sent at all, for the reason wantMiss.
		wantEmailValue string
		wantLocalValue string
		wantMiss       string
	}{
		{email: "a,kind=group@x.com", wantMiss: "contains a comma"},
		{email: "a@x.com,kind=group", wantLocalValue: "a", wantMiss: "contains a comma"},
		{email: "a=b@x.com", wantEmailValue: "a=b@x.com", wantLocalValue: "a=b"},
		{email: "a&filter=kind=group@x.com", wantEmailValue: "a&filter=kind=group@x.com", wantLocalValue: "a&filter=kind=group"},
		{email: `"a"@x.com`, wantEmailValue: `"a"@x.com`, wantLocalValue: `"a"`},
		{email: "a+b@x.com", wantEmailValue: "a+b@x.com", wantLocalValue: "a+b"},
		{email: "a#frag@x.com", wantEmailValue: "a#frag@x.com", wantLocalValue: "a#frag"},
		{email: `"a b"@x.com`, wantEmailValue: `"a b"@x.com`, wantLocalValue: `"a b"`},
		{email: "a%2Ckind%3Dgroup@x.com", wantEmailValue: "a%2Ckind%3Dgroup@x.com", wantLocalValue: "a%2Ckind%3Dgroup"},
		{email: "a;b'c@x.com", wantEmailValue: "a;b'c@x.com", wantLocalValue: "a;b'c"},
		{email: " a@x.com", wantMiss: "has surrounding whitespace"},
	}
	for _, tt := range tests {
		for _, r := range []struct {
			name, field, want string
		}{
			{EmailMatchingUserEntityProfileEmail, "spec.profile.email", tt.wantEmailValue},
			{EmailLocalPartMatchingUserEntityName, "metadata.name", tt.wantLocalValue},
		} {
			t.Run(r.name+"/"+tt.email, func(t *testing.T) {
				cat := newFakeCatalog(t, userEntity("", "victim", "victim@x.com", nil))
				c := mustChain(t, Config{
					Resolvers: []ResolverConfig{{Resolver: r.name, DangerouslyAllowSignInWithoutUserInCatalog: true}},
					Catalog:   catalogConfig(cat.URL()),
				}, Options{})
				res, err := resolveIn(t, c, Input{Email: tt.email})
				if r.want == "" {
					var de *DeniedError
					require.ErrorAs(t, err, &de, "an unsafe value is not resolved, even with the fallback")
					assert.Contains(t, err.Error(), tt.wantMiss)
					assert.Contains(t, err.Error(), "so it cannot be looked up in the catalog")
					assert.Zero(t, cat.requests.Load(), "an unsafe value is never sent")
					return
				}
				require.NoError(t, err)
				assert.NotEqual(t, "victim", res.UserName)
				got := cat.last()
				require.Len(t, got.Filters, 1)
				assert.Equal(t, "kind=user,"+r.field+"="+r.want, got.Filters[0])
				assert.Equal(t, map[string][]string{"kind": {"user"}, r.field: {r.want}}, parseBackstageFilter(got.Filters[0]))
				for key := range got.Query {
					assert.Contains(t, []string{"filter", "limit", "fields"}, key, "no parameter was added")
				}
			})
		}
	}
}

// The catalog token goes to the configured catalog only: a redirect to
// another server is not followed, with the chain's own client or the
// caller's.
func TestCatalogFollowsNoRedirects(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"items":[{"kind":"User","metadata":{"name":"jane","namespace":"default"}}],"totalItems":1}`))
	}))
	t.Cleanup(other.Close)
	catalog := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(catalog.Close)

	for name, opts := range map[string]Options{"own client": {}, "caller's client": {HTTPClient: &http.Client{}}} {
		t.Run(name, func(t *testing.T) {
			c := mustChain(t, Config{
				Resolvers: []ResolverConfig{{Resolver: EmailMatchingUserEntityProfileEmail}},
				Catalog:   catalogConfig(catalog.URL),
			}, opts)
			_, err := resolveIn(t, c, Input{Email: "jane@example.com"})
			var ce *CatalogError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, http.StatusTemporaryRedirect, ce.StatusCode)
			assert.Zero(t, elsewhere.Load(), "the token never reached another server")
		})
	}
}
