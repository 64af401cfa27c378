package directory_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/directory"
	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

const (
	testTenant = dextest.TenantUID
	testKey    = "palette-api-key-0123456789abcdef"
)

// observed counts the requests a client reports, by endpoint and outcome.
type observed struct {
	mu     sync.Mutex
	counts map[string]int
}

func (o *observed) observe(endpoint, outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.counts == nil {
		o.counts = map[string]int{}
	}
	o.counts[endpoint+" "+outcome]++
}

func (o *observed) get(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.counts[key]
}

// palette is an emulated console with one tenant holding the test key.
func palette(t testing.TB) (*spectrotest.Server, *spectrotest.Tenant) {
	t.Helper()
	srv := spectrotest.NewServer()
	t.Cleanup(srv.Close)
	tenant := srv.AddTenant(testTenant)
	tenant.AddAPIKey(testKey)
	return srv, tenant
}

// addUsers adds n users user00000@example.com ... in team "all" and, every
// teamEvery users, a team of their own (team-<i>).
func addUsers(tenant *spectrotest.Tenant, n, teamEvery int) {
	for i := range n {
		groups := []string{"all"}
		if teamEvery > 0 && i%teamEvery == 0 {
			groups = append(groups, fmt.Sprintf("team-%05d", i))
		}
		tenant.AddUser(spectrotest.User{Sub: fmt.Sprintf("uid-%05d", i), Email: fmt.Sprintf("user%05d@example.com", i), Groups: groups})
	}
}

func newClient(t testing.TB, base string, rate float64, o *observed, timeout time.Duration) *directory.Client {
	t.Helper()
	cfg := directory.Config{
		BaseURL:           base,
		APIKey:            func() (string, error) { return testKey, nil },
		HTTPClient:        &http.Client{Timeout: timeout},
		RequestsPerSecond: rate,
	}
	if o != nil {
		cfg.Observe = o.observe
	}
	c, err := directory.New(cfg)
	require.NoError(t, err)
	return c
}

// Thousands of users are read page by page within Palette's rate limit
// (the emulator enforces 10/s with a burst of 5): no request is refused,
// and the sync costs one request per 50 users plus one per 50 teams.
func TestSyncPagesWithinTheRateLimit(t *testing.T) {
	srv, tenant := palette(t)
	addUsers(tenant, 2000, 40) // 50 teams of one, plus "all"
	o := &observed{}
	c := newClient(t, srv.URL, directory.MaxRequestsPerSecond, o, 10*time.Second)

	taken := time.Now()
	s, err := c.Sync(context.Background(), taken, nil)
	require.NoError(t, err)
	assert.Equal(t, taken, s.Taken)
	assert.Equal(t, 2000, s.Stats.Users)
	assert.Equal(t, 2000, s.Stats.Active)
	assert.Equal(t, 51, s.Stats.Teams)
	assert.Equal(t, 40+2, s.Stats.Requests, "2000/50 user pages, 51/50 team pages")
	assert.Zero(t, s.Stats.RateLimited)
	assert.Zero(t, srv.RateLimited(), "the emulator refused nothing")
	assert.Equal(t, 40, tenant.Requests(spectrotest.EndpointUsers))
	assert.Equal(t, 2, tenant.Requests(spectrotest.EndpointTeams))
	assert.Equal(t, 40, o.get("users ok"))
	assert.GreaterOrEqual(t, s.Stats.Duration, 4*time.Second, "paced at 10 requests a second")

	u, how, found, err := s.Find([]directory.Match{directory.MatchUID, directory.MatchEmail}, "uid-00040", "")
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, directory.MatchUID, how)
	assert.Equal(t, "user00040@example.com", u.Email)
	assert.Equal(t, []string{"all", "team-00040"}, s.TeamsOf("uid-00040"))
}

// A client faster than the server's limit meets 429s, waits as Retry-After
// says (or backs off when it says nothing), and completes the sync.
func TestSyncHonoursRateLimiting(t *testing.T) {
	for _, retryAfter := range []bool{true, false} {
		t.Run(fmt.Sprintf("Retry-After %v", retryAfter), func(t *testing.T) {
			srv, tenant := palette(t)
			addUsers(tenant, 400, 0)
			srv.SetAPIRateLimit(4, 1)
			srv.SetAPIRetryAfter(retryAfter)
			o := &observed{}
			c := newClient(t, srv.URL, directory.MaxRequestsPerSecond, o, 10*time.Second)
			s, err := c.Sync(context.Background(), time.Now(), nil)
			require.NoError(t, err)
			assert.Equal(t, 400, s.Stats.Users)
			assert.Positive(t, s.Stats.RateLimited)
			assert.Equal(t, srv.RateLimited(), s.Stats.RateLimited)
			assert.Equal(t, s.Stats.RateLimited, o.get("users rate_limited")+o.get("teams rate_limited"))
			assert.Equal(t, 8+1+s.Stats.RateLimited, s.Stats.Requests, "every refused request was sent again")
		})
	}
}

// What Palette answers decides the users' state: status.isActive false is
// disabled, a set deletionTimestamp deleted (listed or gone), absent is
// absent; emails match whatever their case.
func TestSyncUserStates(t *testing.T) {
	srv, tenant := palette(t)
	for _, name := range []string{"active", "disabled", "deleted", "gone"} {
		tenant.AddUser(spectrotest.User{Sub: "uid-" + name, Email: name + "@Example.com", Groups: []string{"team-" + name}})
	}
	tenant.DisableUser("disabled@Example.com")
	tenant.DeleteUser("gone@Example.com")
	c := newClient(t, srv.URL, directory.MaxRequestsPerSecond, nil, 10*time.Second)

	s, err := c.Sync(context.Background(), time.Now(), nil)
	require.NoError(t, err)
	assert.Equal(t, directory.Stats{Users: 3, Active: 2, Disabled: 1, Teams: 3, Memberships: 3, Requests: 2}, withoutDuration(s.Stats))

	tenant.SetListDeletedUsers(true)
	tenant.DeleteUser("deleted@Example.com")
	s, err = c.Sync(context.Background(), time.Now(), nil)
	require.NoError(t, err)
	order := []directory.Match{directory.MatchUID, directory.MatchEmail}
	tests := []struct {
		uid, email      string
		found           bool
		how             directory.Match
		active, deleted bool
	}{
		{"uid-active", "", true, directory.MatchUID, true, false},
		{"someone-else", "ACTIVE@example.COM", true, directory.MatchEmail, true, false},
		{"uid-disabled", "", true, directory.MatchUID, false, false},
		{"", "deleted@example.com", true, directory.MatchEmail, true, true},
		{"uid-gone", "gone@example.com", true, directory.MatchUID, true, true},
		{"uid-nobody", "nobody@example.com", false, "", false, false},
	}
	for _, tt := range tests {
		u, how, found, err := s.Find(order, tt.uid, tt.email)
		require.NoError(t, err)
		assert.Equal(t, tt.found, found, "%s %s", tt.uid, tt.email)
		assert.Equal(t, tt.how, how, "%s %s", tt.uid, tt.email)
		assert.Equal(t, tt.active, u.Active, "%s %s", tt.uid, tt.email)
		assert.Equal(t, tt.deleted, u.Deleted, "%s %s", tt.uid, tt.email)
	}
	_, _, found, _ := s.Find([]directory.Match{directory.MatchEmail}, "uid-active", "")
	assert.False(t, found, "with email only, a UID finds nothing")
}

func withoutDuration(s directory.Stats) directory.Stats {
	s.Duration = 0
	return s
}

// Palette's failures are errors that say what to do, and never contain the
// API key: 401 for a bad key, 403 for a key without the permission.
func TestSyncErrors(t *testing.T) {
	srv, tenant := palette(t)
	addUsers(tenant, 3, 0)
	tenant.AddAPIKey("users-only", spectrotest.APIPermissionUsers)
	tests := []struct {
		name   string
		key    string
		fault  *spectrotest.Fault
		want   string
		status string
		// requests, when set, is the number of user requests the sync
		// sends.
		requests int
	}{
		{name: "bad key", key: "wrong-key-value", want: "/v1/users answered HTTP 401: the API key was refused", status: "users unauthorized"},
		{name: "no permission for teams", key: "users-only", want: "/v1/teams answered HTTP 403: the API key's user may not read it: give that user a read-only tenant role such as Tenant Viewer", status: "teams forbidden"},
		{name: "down", key: testKey, fault: &spectrotest.Fault{Status: http.StatusServiceUnavailable, Body: []byte(`{"code":"Down","message":"maintenance for key wrong-key-value"}`)},
			want: "/v1/users answered HTTP 503 (Down maintenance for key wrong-key-value)", status: "users error", requests: 3},
		{name: "oversized", key: testKey, fault: &spectrotest.Fault{OversizeBytes: 3 << 20}, want: "/v1/users: the answer is too large (more than 2097152 bytes)", status: "users error"},
		{name: "slow", key: testKey, fault: &spectrotest.Fault{Delay: 5 * time.Second}, want: "/v1/users: Palette did not answer in time", status: "users error"},
		{name: "not JSON", key: testKey, fault: &spectrotest.Fault{Body: []byte("<html>login</html>")}, want: "/v1/users: the answer is not the JSON the specification describes", status: "users error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant.ClearFaults()
			tenant.ResetRequests()
			if tt.fault != nil {
				tenant.SetFault(spectrotest.EndpointUsers, *tt.fault)
			}
			o := &observed{}
			c, err := directory.New(directory.Config{
				BaseURL: srv.URL, APIKey: func() (string, error) { return tt.key, nil },
				HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}, RequestsPerSecond: 10, MaxResponseBytes: 2 << 20, Observe: o.observe,
			})
			require.NoError(t, err)
			_, err = c.Sync(context.Background(), time.Now(), nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			if tt.key != "wrong-key-value" {
				assert.NotContains(t, err.Error(), tt.key, "the key never appears in an error")
			}
			assert.Positive(t, o.get(tt.status))
			if tt.requests > 0 {
				assert.Equal(t, tt.requests, tenant.Requests(spectrotest.EndpointUsers), "a 5xx is tried three times in all")
				assert.Equal(t, tt.requests, o.get(tt.status))
			}
		})
	}
}

// The API key is read again at every sync: a key rotated between two
// syncs is used by the second, with the old one withdrawn.
func TestSyncReadsTheKeyEverySync(t *testing.T) {
	srv, tenant := palette(t)
	addUsers(tenant, 3, 0)
	var mu sync.Mutex
	key := testKey
	c, err := directory.New(directory.Config{
		BaseURL: srv.URL,
		APIKey: func() (string, error) {
			mu.Lock()
			defer mu.Unlock()
			return key, nil
		},
		HTTPClient:        &http.Client{Timeout: 5 * time.Second},
		RequestsPerSecond: 10,
	})
	require.NoError(t, err)
	_, err = c.Sync(context.Background(), time.Now(), nil)
	require.NoError(t, err)

	const rotated = "palette-api-key-rotated-fedcba9876"
	tenant.AddAPIKey(rotated)
	tenant.RemoveAPIKey(testKey)
	mu.Lock()
	key = rotated
	mu.Unlock()
	s, err := c.Sync(context.Background(), time.Now(), nil)
	require.NoError(t, err, "the second sync sends the rotated key, the only one Palette accepts")
	assert.Equal(t, 3, s.Stats.Users)
}

// A key read from Palette's answer is never repeated, even when Palette
// echoes it.
func TestSyncNeverRepeatsTheKey(t *testing.T) {
	srv, tenant := palette(t)
	tenant.SetFault(spectrotest.EndpointUsers, spectrotest.Fault{Status: http.StatusBadRequest,
		Body: []byte(`{"code":"Bad` + testKey + `","message":"key ` + testKey + ` is odd"}`)})
	c := newClient(t, srv.URL, 10, nil, 5*time.Second)
	_, err := c.Sync(context.Background(), time.Now(), nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testKey)
	assert.Contains(t, err.Error(), "<API key>")
}

// A key that Palette echoes across the point where its code (64
// characters) or message (200) is cut short leaves none of its characters
// in the error.
func TestSyncNeverRepeatsTheKeyCutShort(t *testing.T) {
	tests := []struct {
		name, code, message string
	}{
		{"message", "Bad", strings.Repeat("m", 190) + testKey + " is odd"},
		{"code", strings.Repeat("c", 56) + testKey, "odd key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, tenant := palette(t)
			body, err := json.Marshal(map[string]string{"code": tt.code, "message": tt.message})
			require.NoError(t, err)
			tenant.SetFault(spectrotest.EndpointUsers, spectrotest.Fault{Status: http.StatusBadRequest, Body: body})
			c := newClient(t, srv.URL, 10, nil, 5*time.Second)
			_, err = c.Sync(context.Background(), time.Now(), nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "answered HTTP 400")
			assert.NotContains(t, err.Error(), testKey[:8], "no part of the key")
		})
	}
}

// A redirect is not followed, whatever client the caller gives: its
// target would receive the ApiKey header. The 3xx is an error that names
// it.
func TestSyncFollowsNoRedirect(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("ApiKey"))
		mu.Unlock()
		_, _ = w.Write([]byte(`{"items":[],"listmeta":{"continue":""}}`))
	}))
	t.Cleanup(elsewhere.Close)
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(redirecting.Close)
	c, err := directory.New(directory.Config{
		BaseURL:    redirecting.URL,
		APIKey:     func() (string, error) { return testKey, nil },
		HTTPClient: &http.Client{},
	})
	require.NoError(t, err)
	_, err = c.Sync(context.Background(), time.Now(), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/v1/users answered HTTP 302")
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, keys, "the redirect's target received no request, let alone the key")
}

// Answers that would page forever, or outgrow the bounds, end the sync.
func TestSyncPagingGuards(t *testing.T) {
	tests := []struct {
		name, page, want string
	}{
		{"continue token repeats", `{"items":[{"metadata":{"uid":"a"},"status":{"isActive":true}}],"listmeta":{"continue":"same","count":9}}`,
			"the continue token did not change"},
		{"empty page asks for more", `{"items":[],"listmeta":{"continue":"X","count":9}}`, "an empty page with a continue token"},
		{"user without uid", `{"items":[{"metadata":{"uid":""}}],"listmeta":{"continue":""}}`, "a user without metadata.uid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("continue") == "same" && tt.name == "continue token repeats" {
					_, _ = w.Write([]byte(tt.page))
					return
				}
				if r.URL.Query().Get("continue") != "" {
					_, _ = w.Write([]byte(strings.Replace(tt.page, `"continue":"X"`, `"continue":"Y"`, 1)))
					return
				}
				_, _ = w.Write([]byte(tt.page))
			}))
			t.Cleanup(srv.Close)
			c := newClient(t, srv.URL, 10, nil, 5*time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := c.Sync(ctx, time.Now(), nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// When users are added or removed while the listing pages, entries shift
// and one can be missed: a user missing from such a listing keeps its state
// from the previous snapshot rather than being taken for absent.
func TestSyncCarriesOverUsersMissedByAShiftingListing(t *testing.T) {
	var mu sync.Mutex
	shifted := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/teams"):
			_, _ = w.Write([]byte(`{"items":[{"metadata":{"uid":"t1","name":"devs"},"spec":{"users":["a","b"]}}],"listmeta":{"continue":""}}`))
		case !shifted:
			_, _ = w.Write([]byte(`{"items":[{"metadata":{"uid":"a"},"spec":{"emailId":"a@x"},"status":{"isActive":true}},{"metadata":{"uid":"b"},"spec":{"emailId":"b@x"},"status":{"isActive":true}}],"listmeta":{"continue":"","count":2}}`))
		case r.URL.Query().Get("continue") == "":
			// "a" was removed and "c" added before the second page: "b"
			// shifts into the first page, which was already read.
			_, _ = w.Write([]byte(`{"items":[{"metadata":{"uid":"a"},"spec":{"emailId":"a@x"},"status":{"isActive":true}}],"listmeta":{"continue":"p2","count":2}}`))
		default:
			_, _ = w.Write([]byte(`{"items":[{"metadata":{"uid":"c"},"spec":{"emailId":"c@x"},"status":{"isActive":true}}],"listmeta":{"continue":"","count":3}}`))
		}
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, 10, nil, 5*time.Second)
	first, err := c.Sync(context.Background(), time.Now(), nil)
	require.NoError(t, err)
	mu.Lock()
	shifted = true
	mu.Unlock()
	second, err := c.Sync(context.Background(), time.Now(), first)
	require.NoError(t, err)
	assert.Equal(t, 1, second.Stats.CarriedOver)
	b, ok := second.User("b")
	require.True(t, ok, "b was missed by the listing, not removed")
	assert.True(t, b.Active)
	assert.Equal(t, []string{"devs"}, second.TeamsOf("b"))
	_, ok = second.User("c")
	assert.True(t, ok)
}

// Several users with one email and no UID match are ambiguous; a deleted
// duplicate does not count.
func TestFindAmbiguousEmail(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/teams") {
			_, _ = w.Write([]byte(`{"items":[]}`))
			return
		}
		_, _ = w.Write([]byte(`{"items":[
			{"metadata":{"uid":"a"},"spec":{"emailId":"Dup@x"},"status":{"isActive":true}},
			{"metadata":{"uid":"b"},"spec":{"emailId":"dup@X"},"status":{"isActive":true}},
			{"metadata":{"uid":"c","deletionTimestamp":"0001-01-01T00:00:00.000Z"},"spec":{"emailId":"zero@x"},"status":{"isActive":true}},
			{"metadata":{"uid":"d","deletionTimestamp":"2026-01-01T00:00:00Z"},"spec":{"emailId":"zero@x"},"status":{"isActive":true}},
			{"metadata":{"uid":"e"},"spec":{"emailId":"noflag@x"},"status":{}}
		],"listmeta":{"continue":""}}`))
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, 10, nil, 5*time.Second)
	s, err := c.Sync(context.Background(), time.Now(), nil)
	require.NoError(t, err)
	order := []directory.Match{directory.MatchUID, directory.MatchEmail}

	_, _, _, err = s.Find(order, "", "dup@x")
	require.ErrorIs(t, err, directory.ErrAmbiguous)
	u, how, found, err := s.Find(order, "b", "dup@x")
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, directory.MatchUID, how)
	assert.Equal(t, "b", u.UID)

	u, _, found, err = s.Find(order, "", "zero@x")
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, "c", u.UID, "Go's zero time is no deletion; the deleted duplicate does not count")
	assert.False(t, u.Deleted)

	u, _, _, _ = s.Find(order, "e", "")
	assert.False(t, u.Active, "a user without status.isActive counts as inactive")
}

// A runner syncs at once and at its interval, keeps the last good snapshot
// when a sync fails, tells OnSync of every outcome, and ends with Stop.
func TestRunner(t *testing.T) {
	srv, tenant := palette(t)
	addUsers(tenant, 3, 0)
	c := newClient(t, srv.URL, 10, nil, 2*time.Second)
	type outcome struct {
		users int
		err   error
	}
	outcomes := make(chan outcome, 16)
	r := directory.Start(c, directory.RunnerConfig{Interval: time.Hour, Timeout: 10 * time.Second, OnSync: func(s *directory.Snapshot, err error) {
		o := outcome{err: err}
		if s != nil {
			o.users = s.Stats.Users
		}
		outcomes <- o
	}})
	t.Cleanup(r.Stop)

	first := <-outcomes
	require.NoError(t, first.err)
	assert.Equal(t, 3, first.users)
	good := r.Snapshot()
	require.NotNil(t, good)

	tenant.SetFault(spectrotest.EndpointUsers, spectrotest.Fault{Status: http.StatusUnauthorized})
	r.SyncNow()
	failed := <-outcomes
	require.Error(t, failed.err)
	assert.Same(t, good, r.Snapshot(), "the last good snapshot stays in force")
	assert.Equal(t, failed.err, r.LastError())

	tenant.ClearFaults()
	tenant.AddUser(spectrotest.User{Email: "new@example.com"})
	r.SyncNow()
	again := <-outcomes
	require.NoError(t, again.err)
	assert.Equal(t, 4, again.users)
	assert.NoError(t, r.LastError())

	r.Stop()
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the runner did not stop")
	}
}
