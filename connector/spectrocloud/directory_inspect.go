package spectrocloud

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/directory"
)

// errNoDirectory is returned by the directory's tools for a connector
// without a directory block.
var errNoDirectory = errors.New("spectrocloud: the connector has no directory block")

// DirectoryReport is what one read of a connector's directory found.
type DirectoryReport struct {
	// APIURL is the API address read.
	APIURL string
	// Stats are the counts and the cost of the read.
	Stats directory.Stats
}

// HasDirectory reports whether the configuration has a directory block.
func (c *Config) HasDirectory() bool { return c.Directory != nil }

// InspectDirectory validates the configuration and reads Palette's
// directory once, as the background sync does: it verifies the API key and
// its permissions, and counts users and teams. ctx bounds the read, as does
// directory.maxStaleness.
func (c *Config) InspectDirectory(ctx context.Context) (*DirectoryReport, error) {
	conn, err := c.open("inspect", nil)
	if err != nil {
		return nil, err
	}
	if conn.dir == nil {
		return nil, errNoDirectory
	}
	s, err := conn.dir.readOnce(ctx)
	if err != nil {
		return nil, err
	}
	return &DirectoryReport{APIURL: conn.dir.client.BaseURL(), Stats: s.Stats}, nil
}

// readOnce reads the directory now and makes the result the copy in force
// of a gate without a runner.
func (g *directoryGate) readOnce(ctx context.Context) (*directory.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, g.s.maxStaleness)
	defer cancel()
	s, err := g.client.Sync(ctx, g.now(), nil)
	if err != nil {
		return nil, fmt.Errorf("spectrocloud: directory: reading %s: %w", g.client.BaseURL(), err)
	}
	g.installed.Store(s)
	return s, nil
}

// SyncDirectory reads the connector's directory once, so that the trial's
// sign-in is decided as serve decides it; it returns nil and no error
// without a directory block. Call it before Finish: without a read, a
// connector with a directory refuses, as serve does before its first read.
func (t *Trial) SyncDirectory(ctx context.Context) (*DirectoryReport, error) {
	g := t.conn.dir
	if g == nil {
		return nil, nil
	}
	g.record = true
	s, err := g.readOnce(ctx)
	if err != nil {
		return nil, err
	}
	return &DirectoryReport{APIURL: g.client.BaseURL(), Stats: s.Stats}, nil
}

// DirectoryMatch returns how the directory decided about the user of the
// trial's sign-in, and nil without a directory block or before a decision.
func (t *Trial) DirectoryMatch() *DirectoryMatch {
	if t.conn.dir == nil {
		return nil
	}
	return t.conn.dir.lastMatch.Load()
}

// DirectorySettings describes the directory block for reports.
type DirectorySettings struct {
	APIURL, SyncInterval, MaxStaleness, WhenStale, UIDClaim, Groups string
	Match                                                           []string
}

// DirectorySettings returns the connector's directory settings, with
// defaults, and false without a directory block.
func (t *Trial) DirectorySettings() (DirectorySettings, bool) {
	g := t.conn.dir
	if g == nil {
		return DirectorySettings{}, false
	}
	s := g.s
	d := DirectorySettings{APIURL: s.apiURL, SyncInterval: s.interval.String(), MaxStaleness: s.maxStaleness.String(),
		WhenStale: s.whenStale, UIDClaim: s.uidClaim, Groups: s.groups}
	for _, m := range s.match {
		d.Match = append(d.Match, string(m))
	}
	return d, true
}

// UserIDCandidate is a Dex user ID that a user of this connector may have,
// and where it comes from.
type UserIDCandidate struct {
	UserID string
	Source string
}

// UserIDsForEmail returns the user IDs that Dex can know the user with this
// email by, through this connector: the email itself when userIDKey is the
// email claim; otherwise, with a directory block whose uidClaim is
// userIDKey, the UIDs of the Palette users with this email (one request to
// Palette's API), which are the user IDs when Palette's ID tokens carry the
// user's UID in that claim. Any other configuration has no way from an
// email to a user ID, and gets an error that says so.
func (c *Config) UserIDsForEmail(ctx context.Context, email string) ([]UserIDCandidate, error) {
	conn, err := c.open("sessions", nil)
	if err != nil {
		return nil, err
	}
	rules := conn.s.claims
	if rules.userIDKey == rules.emailKey {
		ids := []UserIDCandidate{{UserID: email, Source: "userIDKey is the email claim " + rules.emailKey}}
		if lower := strings.ToLower(email); lower != email {
			ids = append(ids, UserIDCandidate{UserID: lower, Source: "the email in lower case"})
		}
		return ids, nil
	}
	if conn.dir == nil {
		return nil, fmt.Errorf("spectrocloud: userIDKey is %q, not the email claim, and the connector has no directory block to find the user's Palette UID by email: give the user ID instead", rules.userIDKey)
	}
	if conn.dir.s.uidClaim != rules.userIDKey {
		return nil, fmt.Errorf("spectrocloud: userIDKey (%q) is not directory.uidClaim (%q), so a Palette UID is not a user ID: give the user ID instead", rules.userIDKey, conn.dir.s.uidClaim)
	}
	ctx, cancel := context.WithTimeout(ctx, conn.s.timeout)
	defer cancel()
	found, err := conn.dir.client.UsersByEmail(ctx, email)
	if err != nil {
		return nil, fmt.Errorf("spectrocloud: directory: finding %s at %s: %w", email, conn.dir.client.BaseURL(), err)
	}
	ids := make([]UserIDCandidate, 0, len(found))
	for _, u := range found {
		ids = append(ids, UserIDCandidate{UserID: u.UID, Source: fmt.Sprintf("the Palette UID of %s in the directory (a user ID when Palette's %s claim is the user's UID)", u.Email, rules.userIDKey)})
	}
	return ids, nil
}
