package spectrocloud

import (
	"errors"
	"net/http"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/dexidp/dex/connector"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/directory"
	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
)

// newRealTimeDirectory opens a connector with a directory read every
// second, on the system clock as in production, and waits for its first
// read.
func newRealTimeDirectory(t *testing.T, configure ...func(*DirectoryConfig)) (*fixture, *spectroConnector) {
	t.Helper()
	block := append([]func(*DirectoryConfig){func(d *DirectoryConfig) { d.SyncInterval, d.MaxStaleness = "1s", "4s" }}, configure...)
	f := newFixture(t, withDirectory(block...)).systemClock()
	f.tenant.AddAPIKey(testAPIKey)
	c := f.open()
	t.Cleanup(c.dir.runner.Stop)
	waitForSync(t, c, nil)
	return f, c
}

// untilRefused refreshes Jane's session every 20 ms until the refresh
// fails, and returns the error and the time it took from start.
func untilRefused(t *testing.T, f *fixture, c *spectroConnector, start time.Time, within time.Duration) (error, time.Duration) {
	t.Helper()
	for time.Since(start) < within {
		if _, err := refreshJane(t, f, c); err != nil {
			return err, time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("refreshes still succeed %s after the change", within)
	return nil, 0
}

// In real time: a user disabled in Palette is refused at the next refresh
// once the directory has been read again, within the sync interval (plus
// the read itself).
func TestDirectoryRealTimeDisabledUser(t *testing.T) {
	f, c := newRealTimeDirectory(t)
	_, err := refreshJane(t, f, c)
	require.NoError(t, err)

	disabled := time.Now()
	require.True(t, f.tenant.DisableUser(jane.Email))
	err, took := untilRefused(t, f, c, disabled, 5*time.Second)
	var refusal *DirectoryRefusal
	require.ErrorAs(t, err, &refusal)
	assert.Equal(t, RefusedDisabled, refusal.Reason)
	assert.Less(t, took, 3*time.Second, "within the sync interval (1s) and one read, with room for a loaded machine")
	t.Logf("user disabled in Palette → refresh refused after %s (syncInterval 1s)", took.Round(time.Millisecond))
}

// In real time: a team removed in Palette leaves the groups at the next
// refresh after a read, and allowedGroups then refuses.
func TestDirectoryRealTimeRemovedTeam(t *testing.T) {
	f, c := newRealTimeDirectory(t)
	id, err := refreshJane(t, f, c)
	require.NoError(t, err)
	assert.Equal(t, []string{"admins", "devs"}, id.Groups)

	f.tenant.RemoveTeam("admins")
	require.Eventually(t, func() bool {
		id, err := refreshJane(t, f, c)
		return err == nil && assert.ObjectsAreEqual([]string{"devs"}, id.Groups)
	}, 5*time.Second, 20*time.Millisecond, "the team leaves the groups")

	c.s.claims.allowedGroups = []string{"devs"}
	removed := time.Now()
	f.tenant.RemoveTeam("devs")
	err, took := untilRefused(t, f, c, removed, 5*time.Second)
	var notIn *connector.UserNotInRequiredGroupsError
	require.ErrorAs(t, err, &notIn)
	t.Logf("team removed in Palette → allowedGroups refuses after %s", took.Round(time.Millisecond))
}

// In real time: with Palette's API down, sessions keep working on the last
// copy until maxStaleness, then are refused with a passing error; once the
// API is back, they work again.
func TestDirectoryRealTimeAPIDown(t *testing.T) {
	f, c := newRealTimeDirectory(t)
	last := c.dir.runner.Snapshot().Taken
	for _, ep := range spectrotest.APIEndpoints() {
		f.tenant.SetFault(ep, spectrotest.Fault{Status: http.StatusServiceUnavailable})
	}
	err, took := untilRefused(t, f, c, last, 10*time.Second)
	var refusal *DirectoryRefusal
	require.ErrorAs(t, err, &refusal)
	assert.Equal(t, RefusedStale, refusal.Reason)
	assert.False(t, isFinal(err))
	assert.GreaterOrEqual(t, took, 4*time.Second, "the last copy served until maxStaleness (4s)")
	assert.NotContains(t, publicError(err).Error(), "/v1/", "why the reads fail is in the log only")
	t.Logf("Palette's API down: sessions kept for %s after the last read (maxStaleness 4s)", took.Round(time.Millisecond))

	f.tenant.ClearFaults()
	require.Eventually(t, func() bool {
		_, err := refreshJane(t, f, c)
		return err == nil
	}, 15*time.Second, 50*time.Millisecond, "back once the API answers")
}

// Dex has no Close for connectors: the background sync stops once the
// connector it belongs to is garbage.
func TestDirectorySyncStopsWithTheConnector(t *testing.T) {
	f := newFixture(t, withDirectory(func(d *DirectoryConfig) { d.SyncInterval = "1s" }))
	f.tenant.AddAPIKey(testAPIKey)
	runner := func() *directory.Runner {
		c := f.open()
		waitForSync(t, c, nil)
		return c.dir.runner
	}() // nothing holds the connector from here on
	deadline := time.Now().Add(20 * time.Second)
	for {
		runtime.GC()
		select {
		case <-runner.Done():
			requests := f.tenant.Requests(spectrotest.EndpointUsers)
			time.Sleep(1500 * time.Millisecond)
			assert.Equal(t, requests, f.tenant.Requests(spectrotest.EndpointUsers), "no read after the stop")
			return
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal(errors.New("the sync still runs although its connector is garbage"))
		}
	}
}

// The refusal of a directory that cannot be read is shown to users (Dex's
// error page, invalid_grant): it does not say why the reads fail, which
// can name the API key file of Dex's host or Palette's API.
func TestDirectoryRefusalHidesTheReadError(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "palette-api-key")
	f := newFixture(t, withDirectory(func(d *DirectoryConfig) {
		d.APIKey, d.APIKeyFile = "", keyFile
		d.SyncInterval, d.MaxStaleness = "1s", "4s"
	})).systemClock()
	c := f.open()
	t.Cleanup(c.dir.runner.Stop)
	require.Eventually(t, func() bool { return c.dir.runner.LastError() != nil }, 10*time.Second, 10*time.Millisecond, "a failed read")
	last := c.dir.runner.LastError()
	require.ErrorContains(t, last, keyFile)

	_, err := refreshJane(t, f, c)
	var refusal *DirectoryRefusal
	require.ErrorAs(t, err, &refusal)
	assert.Equal(t, RefusedStale, refusal.Reason)
	shown := publicError(err).Error()
	assert.Equal(t, "spectrocloud: Palette's directory has not been read yet, so the user cannot be checked: try again in a moment", shown)
	assert.NotContains(t, shown, last.Error())
	assert.NotContains(t, shown, keyFile)
	assert.Contains(t, f.logs.String(), keyFile, "the log says why")
}
