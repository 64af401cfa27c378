package spectrotest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testAPIKey = "palette-api-key-0123456789"

// apiAnswer is an answer of the user and team API.
type apiAnswer struct {
	status int
	header http.Header
	body   map[string]any
}

// callAPI sends a request to the console's user and team API from source
// (a remote address), with key as ApiKey unless it is empty.
func callAPI(t *testing.T, c *Console, source, method, path, key string, body any) apiAnswer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, c.URL()+path, rd)
	req.RemoteAddr = source + ":40000"
	if key != "" {
		req.Header.Set("ApiKey", key)
	}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	a := apiAnswer{status: rec.Code, header: rec.Header()}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &a.body), rec.Body.String())
	}
	return a
}

// apiFixture is a console whose tenant has a key, Jane, and 119 more users
// in teams "all" and, for every tenth user, "tenth".
func apiFixture(t *testing.T) (*Console, *Tenant) {
	t.Helper()
	c := NewConsole("https://console.example.com")
	c.SetAPIRateLimit(0, 0)
	tenant := c.AddTenant(testTenantUID)
	tenant.AddAPIKey(testAPIKey)
	tenant.AddUser(testUser)
	for i := 1; i < 120; i++ {
		groups := []string{"all"}
		if i%10 == 0 {
			groups = append(groups, "tenth")
		}
		tenant.AddUser(User{Email: fmt.Sprintf("user%03d@example.com", i), GivenName: "User", FamilyName: fmt.Sprint(i), Groups: groups})
	}
	return c, tenant
}

func items(t *testing.T, a apiAnswer) []map[string]any {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, a.body)
	raw, ok := a.body["items"].([]any)
	require.True(t, ok, "items is a list: %v", a.body)
	out := make([]map[string]any, len(raw))
	for i, item := range raw {
		out[i] = item.(map[string]any)
	}
	return out
}

func field(m map[string]any, path string) any {
	var v any = m
	for _, name := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[name]
	}
	return v
}

// Users come in pages of at most 50, linked by listmeta.continue, with
// Palette's fields; the last page has an empty continue token.
func TestAPIUsersPaging(t *testing.T) {
	c, _ := apiFixture(t)
	var uids []string
	path, pages := "/v1/users?limit=100", 0
	for {
		a := callAPI(t, c, "10.0.0.1", http.MethodGet, path, testAPIKey, nil)
		page := items(t, a)
		pages++
		assert.LessOrEqual(t, len(page), 50, "limit is capped at 50")
		for _, u := range page {
			uids = append(uids, field(u, "metadata.uid").(string))
			assert.Equal(t, true, field(u, "status.isActive"))
			assert.NotEmpty(t, field(u, "spec.emailId"))
			assert.Nil(t, field(u, "metadata.deletionTimestamp"))
		}
		meta := a.body["listmeta"].(map[string]any)
		assert.EqualValues(t, 120, meta["count"])
		next, _ := meta["continue"].(string)
		if next == "" {
			break
		}
		path = "/v1/users?continue=" + next
	}
	assert.Equal(t, 3, pages)
	assert.Len(t, uids, 120)
	assert.Equal(t, testUser.Sub, uids[0], "metadata.uid is the ID token's sub by default")

	bad := callAPI(t, c, "10.0.0.1", http.MethodGet, "/v1/users?continue=garbage!", testAPIKey, nil)
	assert.Equal(t, http.StatusBadRequest, bad.status)
	assert.Equal(t, http.StatusMethodNotAllowed, callAPI(t, c, "10.0.0.1", http.MethodDelete, "/v1/users", testAPIKey, nil).status)
}

// The key decides: none or an unknown one is 401, a key without the
// permission 403; a key picks its own tenant.
func TestAPIAuthentication(t *testing.T) {
	c, tenant := apiFixture(t)
	other := c.AddTenant("other-tenant")
	other.AddAPIKey("other-key", APIPermissionUsers)
	other.AddUser(User{Email: "olga@other.example"})

	tests := []struct {
		name, path, key string
		want            int
	}{
		{"no key", "/v1/users", "", http.StatusUnauthorized},
		{"unknown key", "/v1/users", "nope", http.StatusUnauthorized},
		{"users", "/v1/users", testAPIKey, http.StatusOK},
		{"teams", "/v1/teams", testAPIKey, http.StatusOK},
		{"users-only key reads users", "/v1/users", "other-key", http.StatusOK},
		{"users-only key cannot read teams", "/v1/teams", "other-key", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := callAPI(t, c, "10.0.0.2", http.MethodGet, tt.path, tt.key, nil)
			assert.Equal(t, tt.want, a.status)
			if tt.want != http.StatusOK {
				assert.NotEmpty(t, a.body["code"], "a v1Error body")
			}
		})
	}
	olga := items(t, callAPI(t, c, "10.0.0.2", http.MethodGet, "/v1/users", "other-key", nil))
	require.Len(t, olga, 1, "the key's tenant only")
	assert.Equal(t, "olga@other.example", field(olga[0], "spec.emailId"))

	tenant.RemoveAPIKey(testAPIKey)
	assert.Equal(t, http.StatusUnauthorized, callAPI(t, c, "10.0.0.2", http.MethodGet, "/v1/users", testAPIKey, nil).status)
}

// A disabled user is listed inactive and cannot sign in; a deleted one is
// gone from the API, or listed with a deletionTimestamp when the tenant
// keeps deleted users.
func TestAPIDisabledAndDeletedUsers(t *testing.T) {
	f := newFixture(t)
	f.tenant.AddAPIKey(testAPIKey)
	f.tenant.SetAutoLogin(testUser.Email)
	require.True(t, f.tenant.DisableUser(testUser.Email))
	first := items(t, callAPI(t, f.srv.Console, "10.0.0.3", http.MethodGet, "/v1/users", testAPIKey, nil))[0]
	assert.Equal(t, false, field(first, "status.isActive"))
	_, err := f.tenant.Authorize(context.Background(), authURL(f.tenant, nil))
	require.Error(t, err, "a disabled user cannot sign in")

	require.True(t, f.tenant.EnableUser(testUser.Email))
	_, err = f.tenant.Authorize(context.Background(), authURL(f.tenant, nil))
	require.NoError(t, err)

	require.True(t, f.tenant.DeleteUser(testUser.Email))
	assert.Empty(t, items(t, callAPI(t, f.srv.Console, "10.0.0.3", http.MethodGet, "/v1/users", testAPIKey, nil)))
	assert.Equal(t, http.StatusNotFound, callAPI(t, f.srv.Console, "10.0.0.3", http.MethodGet, "/v1/users/"+testUser.Sub, testAPIKey, nil).status)
	_, err = f.tenant.Authorize(context.Background(), authURL(f.tenant, nil))
	require.Error(t, err, "a deleted user cannot sign in")

	f.tenant.SetListDeletedUsers(true)
	listed := items(t, callAPI(t, f.srv.Console, "10.0.0.3", http.MethodGet, "/v1/users", testAPIKey, nil))
	require.Len(t, listed, 1)
	assert.NotEmpty(t, field(listed[0], "metadata.deletionTimestamp"))
	one := callAPI(t, f.srv.Console, "10.0.0.3", http.MethodGet, "/v1/users/"+testUser.Sub, testAPIKey, nil)
	assert.Equal(t, http.StatusOK, one.status)
	assert.Equal(t, testUser.Email, field(one.body, "spec.emailId"))

	assert.False(t, f.tenant.DisableUser("nobody@example.com"))
}

// The methods that change a user find the user as the sign-in page does:
// by email, or by subject for a user without email; an empty login is no
// one, not the first user without email.
func TestUserLookupByLogin(t *testing.T) {
	c := NewConsole("https://console.example.com")
	tenant := c.AddTenant(testTenantUID)
	tenant.AddUser(User{Sub: "uid-noemail"})
	tenant.AddUser(User{Sub: "uid-jane", Email: "jane@example.com"})

	assert.False(t, tenant.DisableUser(""))
	assert.False(t, tenant.AddToTeam("", "devs"))
	_, ok := tenant.UserUID("")
	assert.False(t, ok)
	_, ok = tenant.lookupUser("")
	assert.False(t, ok)

	uid, ok := tenant.UserUID("uid-noemail")
	require.True(t, ok)
	assert.Equal(t, "uid-noemail", uid)
	uid, ok = tenant.UserUID("jane@example.com")
	require.True(t, ok)
	assert.Equal(t, "uid-jane", uid)
	_, ok = tenant.UserUID("uid-jane")
	assert.False(t, ok, "a user with email is found by it, not by subject")

	require.True(t, tenant.AddToTeam("uid-noemail", "devs"))
	require.True(t, tenant.DisableUser("uid-noemail"))
	_, ok = tenant.lookupUser("uid-noemail")
	assert.False(t, ok, "disabled")
	u, ok := tenant.lookupUser("jane@example.com")
	require.True(t, ok)
	assert.Empty(t, u.Groups)
	assert.Equal(t, []string{"devs"}, tenant.Users()[0].Groups)
}

// Teams list their members' UIDs; membership changes and team removal show
// at once in the API and in the groups of ID tokens issued afterwards.
func TestAPITeams(t *testing.T) {
	c, tenant := apiFixture(t)
	teams := items(t, callAPI(t, c, "10.0.0.4", http.MethodGet, "/v1/teams", testAPIKey, nil))
	byName := map[string]map[string]any{}
	for _, team := range teams {
		byName[field(team, "metadata.name").(string)] = team
	}
	require.Contains(t, byName, "all")
	assert.Len(t, field(byName["all"], "spec.users"), 119)
	assert.Len(t, field(byName["tenth"], "spec.users"), 11)
	assert.Equal(t, []any{testUser.Sub}, field(byName["admins"], "spec.users"))

	uid := field(byName["tenth"], "metadata.uid").(string)
	one := callAPI(t, c, "10.0.0.4", http.MethodGet, "/v1/teams/"+uid, testAPIKey, nil)
	require.Equal(t, http.StatusOK, one.status)
	assert.Equal(t, "tenth", field(one.body, "metadata.name"))
	assert.Equal(t, http.StatusNotFound, callAPI(t, c, "10.0.0.4", http.MethodGet, "/v1/teams/nope", testAPIKey, nil).status)

	tenant.RemoveTeam("admins")
	require.True(t, tenant.AddToTeam(testUser.Email, "oncall"))
	require.True(t, tenant.RemoveFromTeam("user010@example.com", "tenth"))
	tenant.AddTeam("empty")
	names := map[string]int{}
	for _, team := range items(t, callAPI(t, c, "10.0.0.4", http.MethodGet, "/v1/teams", testAPIKey, nil)) {
		names[field(team, "metadata.name").(string)] = len(field(team, "spec.users").([]any))
	}
	assert.Equal(t, map[string]int{"all": 119, "tenth": 10, "platform": 1, "oncall": 1, "empty": 0}, names)
	claims := tenant.Claims(tenant.Users()[0], testClientID, "")
	assert.Equal(t, []string{"platform", "oncall"}, claims["groups"], "ID tokens carry the teams of now")
}

// POST /v1/users/summary filters by email, ignoring case unless told not to,
// and gives the user's teams.
func TestAPIUsersSummary(t *testing.T) {
	c, _ := apiFixture(t)
	filter := func(eq string, ignoreCase *bool) map[string]any {
		f := map[string]any{"eq": eq}
		if ignoreCase != nil {
			f["ignoreCase"] = *ignoreCase
		}
		return map[string]any{"filter": map[string]any{"emailId": f}}
	}
	found := items(t, callAPI(t, c, "10.0.0.5", http.MethodPost, "/v1/users/summary", testAPIKey, filter("JANE@example.com", nil)))
	require.Len(t, found, 1)
	assert.Equal(t, testUser.Sub, field(found[0], "metadata.uid"))
	var teams []string
	for _, team := range field(found[0], "spec.teams").([]any) {
		teams = append(teams, team.(map[string]any)["name"].(string))
	}
	assert.ElementsMatch(t, []string{"platform", "admins"}, teams)

	exact := false
	assert.Empty(t, items(t, callAPI(t, c, "10.0.0.5", http.MethodPost, "/v1/users/summary", testAPIKey, filter("JANE@example.com", &exact))))
	assert.Equal(t, http.StatusMethodNotAllowed, callAPI(t, c, "10.0.0.5", http.MethodGet, "/v1/users/summary", testAPIKey, nil).status)
}

// Past ten requests a second, with a burst of five, a source gets 429 with
// Retry-After (or without it, when switched off); other sources and the
// other resource have their own buckets.
func TestAPIRateLimit(t *testing.T) {
	c, _ := apiFixture(t)
	c.SetAPIRateLimit(DefaultAPIRate, DefaultAPIBurst)
	statuses := func(source, path string, n int) (ok, limited int, retryAfter string) {
		for range n {
			a := callAPI(t, c, source, http.MethodGet, path, testAPIKey, nil)
			switch a.status {
			case http.StatusOK:
				ok++
			case http.StatusTooManyRequests:
				limited++
				retryAfter = a.header.Get("Retry-After")
				assert.Equal(t, "TooManyRequests", a.body["code"])
			}
		}
		return ok, limited, retryAfter
	}
	ok, limited, retryAfter := statuses("10.0.1.1", "/v1/users?limit=1", 8)
	assert.GreaterOrEqual(t, ok, 5, "the burst")
	assert.Less(t, ok, 8)
	assert.Positive(t, limited)
	assert.Equal(t, "1", retryAfter)
	assert.Equal(t, limited, c.RateLimited())

	ok, _, _ = statuses("10.0.1.2", "/v1/users?limit=1", 5)
	assert.Equal(t, 5, ok, "another source has its own bucket")
	ok, _, _ = statuses("10.0.1.1", "/v1/teams?limit=1", 5)
	assert.Equal(t, 5, ok, "teams are counted apart from users")

	c.SetAPIRetryAfter(false)
	_, limited, retryAfter = statuses("10.0.1.2", "/v1/users/summary", 6)
	assert.Positive(t, limited, "the summary counts with users")
	assert.Empty(t, retryAfter)
}

// With SetSubjectIsUID(false) a user's metadata.uid is not the sub of its
// ID tokens; Faults take the API down like any endpoint.
func TestAPIQuirksAndFaults(t *testing.T) {
	c, tenant := apiFixture(t)
	tenant.SetSubjectIsUID(false)
	uid, ok := tenant.UserUID(testUser.Email)
	require.True(t, ok)
	assert.NotEqual(t, testUser.Sub, uid)
	assert.Len(t, uid, 24)
	first := items(t, callAPI(t, c, "10.0.2.1", http.MethodGet, "/v1/users", testAPIKey, nil))[0]
	assert.Equal(t, uid, field(first, "metadata.uid"))

	for _, ep := range APIEndpoints() {
		tenant.SetFault(ep, Fault{Status: http.StatusServiceUnavailable, Body: []byte("down")})
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, c.URL()+"/v1/teams", nil)
	req.Header.Set("ApiKey", testAPIKey)
	c.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, 1, tenant.Requests(EndpointTeams))
}
