package spectrocloud

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dexidp/dex/connector"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/directory"
	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
	"github.com/dex-spectro/dex-spectro/internal/probe"
)

const testAPIKey = "palette-api-key-for-dex-0123456789"

// withDirectory configures a directory block for the fixture's console,
// read as fast as Palette allows.
func withDirectory(configure ...func(*DirectoryConfig)) func(*Config) {
	return func(c *Config) {
		d := &DirectoryConfig{APIKey: testAPIKey, RequestsPerSecond: directory.MaxRequestsPerSecond}
		for _, f := range configure {
			f(d)
		}
		c.Directory = d
	}
}

// newDirectoryFixture is a fixture whose tenant issued testAPIKey and whose
// connector reads the directory only when the test says so (readDirectory):
// decisions are taken on the fixture's fake clock.
func newDirectoryFixture(t *testing.T, configure ...func(*Config)) (*fixture, *spectroConnector) {
	t.Helper()
	f := newFixture(t, configure...)
	f.tenant.AddAPIKey(testAPIKey)
	c, err := f.cfg.open("spectrocloud", f.logger(nil))
	require.NoError(t, err)
	require.NotNil(t, c.dir)
	return f, c
}

// readDirectory reads Palette's directory now, as the background sync does.
func readDirectory(t *testing.T, c *spectroConnector) {
	t.Helper()
	_, err := c.dir.readOnce(context.Background())
	require.NoError(t, err)
}

// refreshJane refreshes a session of Jane's with a token minted now.
func refreshJane(t *testing.T, f *fixture, c *spectroConnector) (connector.Identity, error) {
	t.Helper()
	return present(t, f, c, viaRefresh, nil)
}

// A user whom the directory knows to be disabled, deleted or absent is
// refused at sign-in, refresh and token exchange, with a final error that
// says so; Dex answers such a refresh invalid_grant.
func TestDirectoryRefusesUsers(t *testing.T) {
	tests := []struct {
		name    string
		tenant  func(f *fixture)
		hook    func(claims map[string]any) // changes the token refused
		config  func(*DirectoryConfig)
		entries []ruleEntry // a disabled or deleted user cannot sign in to Palette at all
		reason  string
		message string
	}{
		{name: "disabled", tenant: func(f *fixture) { f.tenant.DisableUser(jane.Email) }, entries: []ruleEntry{viaRefresh, viaExchange},
			reason: RefusedDisabled, message: "spectrocloud: the user is disabled in Palette: sign in again is not possible"},
		{name: "deleted, listed with a deletionTimestamp", tenant: func(f *fixture) {
			f.tenant.SetListDeletedUsers(true)
			f.tenant.DeleteUser(jane.Email)
		}, entries: []ruleEntry{viaRefresh, viaExchange}, reason: RefusedDeleted, message: "spectrocloud: the user is deleted in Palette: sign in again is not possible"},
		{name: "deleted, gone from the list", tenant: func(f *fixture) { f.tenant.DeleteUser(jane.Email) }, entries: []ruleEntry{viaRefresh, viaExchange},
			reason: RefusedAbsent, message: "spectrocloud: the user is not in Palette's directory: sign in again is not possible"},
		{name: "absent: sub is not the UID, and only the UID is matched", tenant: func(f *fixture) { f.tenant.SetSubjectIsUID(false) },
			config: func(d *DirectoryConfig) { d.Match = []string{"uid"} }, entries: allEntries, reason: RefusedAbsent,
			message: "spectrocloud: the user is not in Palette's directory: sign in again is not possible"},
		{name: "absent: only the email is matched, and the token's is no user's", tenant: func(*fixture) {},
			hook:   func(claims map[string]any) { claims["email"] = "stranger@example.com" },
			config: func(d *DirectoryConfig) { d.Match = []string{"email"} }, entries: []ruleEntry{viaExchange, viaRefresh}, reason: RefusedAbsent,
			message: "not in Palette's directory"},
	}
	for _, tt := range tests {
		for _, entry := range tt.entries {
			t.Run(tt.name+" at "+string(entry), func(t *testing.T) {
				var configure []func(*DirectoryConfig)
				if tt.config != nil {
					configure = append(configure, tt.config)
				}
				f, c := newDirectoryFixture(t, withDirectory(configure...))
				readDirectory(t, c)
				_, err := present(t, f, c, entry, nil)
				require.NoError(t, err, "admitted while Palette's directory has the user active")

				tt.tenant(f)
				readDirectory(t, c)
				_, err = present(t, f, c, entry, tt.hook)
				var refusal *DirectoryRefusal
				require.ErrorAs(t, err, &refusal)
				assert.Equal(t, tt.reason, refusal.Reason)
				assert.Contains(t, err.Error(), tt.message)
				assert.True(t, isFinal(err), "no retry can succeed: invalid_grant, a 403 page")
				assert.Equal(t, outcomeDenied, outcomeOf(err))
			})
		}
	}
}

// Jane is found by email when Palette's sub is not her UID (the default
// match is uid, then email), whatever the case of either email.
func TestDirectoryMatchesByEmailWhenSubIsNotTheUID(t *testing.T) {
	f, c := newDirectoryFixture(t, withDirectory())
	f.tenant.SetSubjectIsUID(false)
	readDirectory(t, c)
	id, err := present(t, f, c, viaExchange, func(claims map[string]any) { claims["email"] = "JANE@Example.COM" })
	require.NoError(t, err)
	assert.Equal(t, "JANE@Example.COM", id.Email)
	ctx, rec := probe.WithSignIn(context.Background())
	data, err := json.Marshal(session{Version: sessionVersion, IDToken: f.tenant.MintIDToken(ruleClaims(f))})
	require.NoError(t, err)
	_, err = c.Refresh(ctx, allScopes, connector.Identity{UserID: jane.Sub, ConnectorData: data})
	require.NoError(t, err)
	require.NotNil(t, rec.Directory)
	uid, _ := f.tenant.UserUID(jane.Email)
	assert.Equal(t, probe.DirectoryMatch{Found: true, Match: "email", UID: uid, Email: jane.Email, Active: true, Teams: []string{"admins", "devs"}}, *rec.Directory)
}

// Groups follow the directory's current teams, passed through
// claimModifications like the token's; allowedGroups applies to them.
func TestDirectoryGroups(t *testing.T) {
	prefix := func(c *Config) { c.ClaimModifications.ModifyGroupNames.Prefix = "palette:" }
	tests := []struct {
		name   string
		groups string
		want   []string
	}{
		{"directory (the default): the token's teams are replaced", "", []string{"palette:admins", "palette:oncall", "spectrocloud:acme"}},
		{"both: the token's and the directory's", groupsFromBoth, []string{"palette:admins", "palette:devs", "palette:oncall", "spectrocloud:acme"}},
		{"token: the directory only admits", groupsFromToken, []string{"palette:admins", "palette:devs", "spectrocloud:acme"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newGroup := func(c *Config) {
				c.ClaimModifications.NewGroupFromClaims = []NewGroupFromClaims{{Claims: []string{"tenant"}, Delimiter: ":", Prefix: "spectrocloud"}}
			}
			f, c := newDirectoryFixture(t, prefix, newGroup, withDirectory(func(d *DirectoryConfig) { d.Groups = tt.groups }))
			f.tenant.RemoveFromTeam(jane.Email, "devs")
			f.tenant.AddToTeam(jane.Email, "oncall")
			readDirectory(t, c)
			for _, entry := range allEntries {
				id, err := present(t, f, c, entry, func(claims map[string]any) { claims["groups"] = []any{"admins", "devs"} })
				require.NoError(t, err, entry)
				assert.ElementsMatch(t, tt.want, id.Groups, "%s", entry)
			}
		})
	}

	t.Run("a removed team fails allowedGroups at the next refresh", func(t *testing.T) {
		f, c := newDirectoryFixture(t, prefix, withDirectory(), func(c *Config) { c.AllowedGroups = []string{"palette:devs"} })
		readDirectory(t, c)
		_, err := refreshJane(t, f, c)
		require.NoError(t, err)
		f.tenant.RemoveTeam("devs")
		readDirectory(t, c)
		_, err = refreshJane(t, f, c)
		var notIn *connector.UserNotInRequiredGroupsError
		require.ErrorAs(t, err, &notIn, "the stored token still says devs")
		assert.True(t, isFinal(err))
	})
}

// When Palette's API cannot be read, the last copy serves until
// maxStaleness; then the configured choice applies: refuse with a passing
// error (server_error: sessions are not ended), or the token alone.
func TestDirectoryStaleness(t *testing.T) {
	down := func(f *fixture) {
		for _, ep := range spectrotest.APIEndpoints() {
			f.tenant.SetFault(ep, spectrotest.Fault{Status: http.StatusBadGateway})
		}
	}
	t.Run("refuse", func(t *testing.T) {
		f, c := newDirectoryFixture(t, withDirectory(func(d *DirectoryConfig) { d.SyncInterval, d.MaxStaleness = "1m", "10m" }))
		_, err := refreshJane(t, f, c)
		var refusal *DirectoryRefusal
		require.ErrorAs(t, err, &refusal, "before the first read")
		assert.Equal(t, RefusedStale, refusal.Reason)
		assert.Contains(t, err.Error(), "Palette's directory has not been read yet")
		assert.False(t, isFinal(err), "a passing fault")
		assert.Equal(t, outcomeUpstreamError, outcomeOf(err))

		readDirectory(t, c)
		down(f)
		_, err = c.dir.readOnce(context.Background())
		require.Error(t, err)
		f.clock.Advance(9 * time.Minute)
		_, err = refreshJane(t, f, c)
		require.NoError(t, err, "the last copy serves until maxStaleness")

		f.tenant.DisableUser(jane.Email)
		f.clock.Advance(2 * time.Minute)
		_, err = refreshJane(t, f, c)
		require.ErrorAs(t, err, &refusal)
		assert.Equal(t, RefusedStale, refusal.Reason)
		assert.Equal(t, "spectrocloud: Palette's directory was last read 11m0s ago, longer than directory.maxStaleness (10m0s), so the user cannot be checked: try again later", err.Error())
		assert.False(t, isFinal(err))

		f.tenant.ClearFaults()
		readDirectory(t, c)
		_, err = refreshJane(t, f, c)
		require.ErrorAs(t, err, &refusal)
		assert.Equal(t, RefusedDisabled, refusal.Reason, "back with Palette, the news is applied")
	})

	t.Run("tokenOnly", func(t *testing.T) {
		f, c := newDirectoryFixture(t, withDirectory(func(d *DirectoryConfig) {
			d.SyncInterval, d.MaxStaleness, d.WhenStale = "1m", "10m", whenStaleTokenOnly
		}))
		readDirectory(t, c)
		f.tenant.RemoveFromTeam(jane.Email, "devs")
		down(f)
		f.clock.Advance(11 * time.Minute)
		id, err := refreshJane(t, f, c)
		require.NoError(t, err)
		assert.Equal(t, []string{"admins", "devs"}, id.Groups, "the token's groups, as without a directory")
	})
}

// The background sync's reads, the directory's contents and its refusals
// are counted per connector.
func TestDirectoryMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics, err := newMetricSet(reg)
	require.NoError(t, err)
	f := newFixture(t, withDirectory(), func(c *Config) { c.metrics = metrics })
	f.tenant.AddAPIKey(testAPIKey)
	f.tenant.AddUser(spectrotest.User{Email: "bob@example.com", Groups: []string{"devs"}})
	f.tenant.DisableUser("bob@example.com")
	c := f.open()
	first := waitForSync(t, c, nil)
	f.tenant.DisableUser(jane.Email)
	c.dir.runner.SyncNow()
	waitForSync(t, c, first)
	_, err = refreshJane(t, f, c)
	require.Error(t, err)

	gathered := gather(t, reg)
	id := map[string]string{"connector": "spectrocloud"}
	with := func(k, v string) map[string]string { return map[string]string{"connector": "spectrocloud", k: v} }
	assert.Equal(t, 1.0, gathered("dex_spectrocloud_directory_refusals_total", with("reason", "disabled")))
	assert.Equal(t, 1.0, gathered("dex_spectrocloud_refreshes_total", with("outcome", "denied")))
	assert.Equal(t, 2.0, gathered("dex_spectrocloud_directory_requests_total", map[string]string{"connector": "spectrocloud", "endpoint": "users", "outcome": "ok"}))
	assert.Equal(t, 2.0, gathered("dex_spectrocloud_directory_syncs_total", with("outcome", "ok")))
	assert.Equal(t, 2.0, gathered("dex_spectrocloud_directory_sync_duration_seconds", id))
	assert.Equal(t, 2.0, gathered("dex_spectrocloud_directory_users", with("status", "disabled")))
	assert.Equal(t, 0.0, gathered("dex_spectrocloud_directory_users", with("status", "active")))
	assert.Equal(t, 2.0, gathered("dex_spectrocloud_directory_teams", id))
	assert.Equal(t, float64(f.clock.Now().Unix()), gathered("dex_spectrocloud_directory_last_sync_timestamp_seconds", id))
}

// waitForSync waits until the connector's background sync holds a snapshot
// other than prev, and returns it.
func waitForSync(t *testing.T, c *spectroConnector, prev *directory.Snapshot) *directory.Snapshot {
	t.Helper()
	var s *directory.Snapshot
	require.Eventually(t, func() bool {
		s = c.dir.runner.Snapshot()
		return s != nil && s != prev
	}, 20*time.Second, 10*time.Millisecond, "a sync of Palette's directory (last error: %v)", c.dir.runner.LastError())
	return s
}

// gather returns a function summing the values of a metric's series that
// carry labels.
func gather(t *testing.T, reg *prometheus.Registry) func(name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	return func(name string, labels map[string]string) float64 {
		var sum float64
		for _, fam := range families {
			if fam.GetName() != name {
				continue
			}
			for _, m := range fam.GetMetric() {
				if matches(m, labels) {
					sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
		return sum
	}
}

// check reads the directory once and reports its counts; a key without the
// permission fails with what to do; the key is never in a message or a log.
func TestReadDirectory(t *testing.T) {
	f := newFixture(t, withDirectory())
	f.tenant.AddAPIKey(testAPIKey)
	f.tenant.AddUser(spectrotest.User{Email: "bob@example.com", Groups: []string{"ops"}})
	f.tenant.DisableUser("bob@example.com")
	rep, err := readDirectoryOnce(t, &f.cfg)
	require.NoError(t, err)
	assert.Equal(t, f.srv.URL, rep.APIURL)
	assert.Equal(t, 2, rep.Stats.Users)
	assert.Equal(t, 1, rep.Stats.Disabled)
	assert.Equal(t, 3, rep.Stats.Teams)
	assert.Equal(t, 2, rep.Stats.Requests)

	f.tenant.AddAPIKey(testAPIKey, spectrotest.APIPermissionTeams)
	_, err = readDirectoryOnce(t, &f.cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "spectrocloud: directory: reading "+f.srv.URL+": /v1/users answered HTTP 403: the API key's user may not read it")
	f.tenant.RemoveAPIKey(testAPIKey)
	_, err = readDirectoryOnce(t, &f.cfg)
	require.ErrorContains(t, err, "HTTP 401: the API key was refused")
	assert.NotContains(t, err.Error(), testAPIKey)

	_, err = readDirectoryOnce(t, &newFixture(t).cfg)
	require.ErrorIs(t, err, errNoDirectory)
}

// The user IDs an email may stand for: the email itself when it is the user
// ID, the Palette UID through the directory when the UID is.
func TestUserIDsForEmail(t *testing.T) {
	f := newFixture(t, withDirectory())
	f.tenant.AddAPIKey(testAPIKey)
	ids, err := userIDsForEmail(t, &f.cfg, "Jane@example.com")
	require.NoError(t, err)
	require.Len(t, ids, 1)
	assert.Equal(t, jane.Sub, ids[0].UserID)
	assert.Contains(t, ids[0].Source, "the Palette UID of jane@example.com in the directory")

	f.cfg.UserIDKey = "email"
	ids, err = userIDsForEmail(t, &f.cfg, "Jane@example.com")
	require.NoError(t, err)
	assert.Equal(t, []string{"Jane@example.com", "jane@example.com"}, []string{ids[0].UserID, ids[1].UserID})

	f.cfg.UserIDKey, f.cfg.Directory = "oid", nil
	_, err = userIDsForEmail(t, &f.cfg, "jane@example.com")
	require.ErrorContains(t, err, "no directory block to find the user's Palette UID by email: give the user ID instead")
}

// Without a directory block nothing is read and nothing changes.
func TestNoDirectoryNoRequests(t *testing.T) {
	f := newFixture(t)
	c := f.open()
	assert.Nil(t, c.dir)
	_, err := f.login(c, allScopes)
	require.NoError(t, err)
	for _, ep := range spectrotest.APIEndpoints() {
		assert.Zero(t, f.tenant.Requests(ep))
	}
	assert.NoError(t, c.dir.decide(context.Background(), nil, &connector.Identity{}, nil), "a nil gate admits")
	assert.False(t, errors.Is(nil, errNoDirectory))
}

// The directory's requests follow no redirect: the API key would go along
// to wherever Palette's answer points.
func TestDirectoryFollowsNoRedirects(t *testing.T) {
	var leaked atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("ApiKey") != "")
	}))
	t.Cleanup(elsewhere.Close)
	redirecting := httptest.NewServer(http.RedirectHandler(elsewhere.URL+"/v1/users", http.StatusFound))
	t.Cleanup(redirecting.Close)
	f := newFixture(t, withDirectory(func(d *DirectoryConfig) { d.APIURL = redirecting.URL }))
	_, err := readDirectoryOnce(t, &f.cfg)
	require.ErrorContains(t, err, "/v1/users answered HTTP 302")
	assert.False(t, leaked.Load(), "the key did not follow the redirect")
}

// Decisions read the copy in memory: refreshes, sign-ins and token
// exchanges make no request to Palette's API.
func TestDirectoryDecisionsMakeNoRequests(t *testing.T) {
	f, c := newDirectoryFixture(t, withDirectory())
	readDirectory(t, c)
	f.tenant.ResetRequests()
	for _, entry := range allEntries {
		_, err := present(t, f, c, entry, nil)
		require.NoError(t, err)
	}
	for _, ep := range spectrotest.APIEndpoints() {
		assert.Zero(t, f.tenant.Requests(ep), "%s", ep)
	}
}

// readDirectoryOnce reads the directory of a connector opened by Probe, as
// check does.
func readDirectoryOnce(t *testing.T, c *Config) (*probe.DirectoryRead, error) {
	t.Helper()
	p, err := c.Probe("palette", nil)
	require.NoError(t, err)
	return p.ReadDirectory(context.Background())
}

// userIDsForEmail asks a connector opened by Probe, as sessions does.
func userIDsForEmail(t *testing.T, c *Config, email string) ([]probe.UserID, error) {
	t.Helper()
	p, err := c.Probe("palette", nil)
	require.NoError(t, err)
	return p.UserIDsForEmail(context.Background(), email)
}
