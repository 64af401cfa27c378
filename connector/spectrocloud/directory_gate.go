package spectrocloud

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/dexidp/dex/connector"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/directory"
	"github.com/dex-spectro/dex-spectro/internal/probe"
)

// Reasons of a DirectoryRefusal, as metrics and logs name them.
const (
	RefusedDisabled  = "disabled"
	RefusedDeleted   = "deleted"
	RefusedAbsent    = "absent"
	RefusedAmbiguous = "ambiguous"
	RefusedStale     = "stale"
)

// DirectoryRefusal is a sign-in, refresh or token exchange that Palette's
// directory refuses: the user is disabled, deleted, absent, or cannot be
// told apart from another; or the directory has not been read for longer
// than maxStaleness (Stale), with whenStale: refuse. All but the stale one
// are final: the user cannot sign in again until Palette changes. Its
// message is shown to users, so it names neither Palette's API nor a file
// of Dex's host: why the reads fail is in the log (reading Palette's
// directory failed).
type DirectoryRefusal struct {
	// Reason is one of the Refused* constants.
	Reason string
	// Age is how old the directory's copy is (Stale only); zero when it has
	// never been read.
	Age time.Duration
	// MaxStaleness is directory.maxStaleness (Stale only).
	MaxStaleness time.Duration
}

func (e *DirectoryRefusal) Error() string {
	switch e.Reason {
	case RefusedDisabled:
		return "spectrocloud: the user is disabled in Palette: sign in again is not possible"
	case RefusedDeleted:
		return "spectrocloud: the user is deleted in Palette: sign in again is not possible"
	case RefusedAbsent:
		return "spectrocloud: the user is not in Palette's directory: sign in again is not possible"
	case RefusedAmbiguous:
		return "spectrocloud: several users in Palette's directory have the user's email and none has the user's UID: sign in again is not possible"
	}
	msg := "spectrocloud: Palette's directory has not been read yet, so the user cannot be checked: try again in a moment"
	if e.Age > 0 {
		msg = fmt.Sprintf("spectrocloud: Palette's directory was last read %s ago, longer than directory.maxStaleness (%s), so the user cannot be checked: try again later",
			e.Age.Round(time.Second), e.MaxStaleness)
	}
	return msg
}

// Final reports whether no retry can succeed.
func (e *DirectoryRefusal) Final() bool { return e.Reason != RefusedStale }

// directoryMatch is how the directory decided about one user: what
// check --sign-in reports (probe.DirectoryMatch), and the refusal, nil when
// it admits the user.
type directoryMatch struct {
	probe.DirectoryMatch
	Refusal *DirectoryRefusal
}

// directoryGate makes the connector's decisions from Palette's directory.
// A nil gate (no directory block) admits everyone and changes nothing.
type directoryGate struct {
	s       *directorySettings
	client  *directory.Client
	now     func() time.Time
	metrics *connectorMetrics
	logger  *slog.Logger

	runner    *directory.Runner                  // the background sync, after start
	installed atomic.Pointer[directory.Snapshot] // a snapshot read once, without a runner (a command's)
}

// newDirectoryGate builds the gate of a directory block, without any
// request; nil without a block.
func newDirectoryGate(s *directorySettings, base *http.Client, now func() time.Time, metrics *connectorMetrics, logger *slog.Logger) (*directoryGate, error) {
	if s == nil {
		return nil, nil
	}
	client, err := directory.New(directory.Config{
		BaseURL:           s.apiURL,
		APIKey:            s.readAPIKey,
		HTTPClient:        directoryHTTPClient(base),
		RequestsPerSecond: s.rate,
		Observe:           metrics.directoryRequest,
	})
	if err != nil {
		return nil, fmt.Errorf("spectrocloud: directory: %w", err)
	}
	return &directoryGate{s: s, client: client, now: now, metrics: metrics, logger: logger}, nil
}

// directoryHTTPClient is the connector's client (trust, timeout, no
// redirects) without its 1 MiB cap on answers: the directory client caps
// them itself, higher, since a page of teams lists their members.
func directoryHTTPClient(base *http.Client) *http.Client {
	c := *base
	if lt, ok := c.Transport.(limitTransport); ok {
		c.Transport = lt.next
	}
	return &c
}

// startDirectory starts the background sync of an opened connector, and
// stops it once the connector is garbage: Dex has no Close for connectors,
// and replaces a connector whose configuration changed by opening a new one.
// The sync's goroutine does not reference the connector, so it does not
// keep it alive.
func (c *spectroConnector) startDirectory() {
	g := c.dir
	if g == nil {
		return
	}
	metrics, logger, api := g.metrics, g.logger, g.client.BaseURL()
	g.runner = directory.Start(g.client, directory.RunnerConfig{
		Interval: g.s.interval,
		Timeout:  g.s.maxStaleness,
		Now:      g.now,
		OnSync:   func(s *directory.Snapshot, err error) { reportSync(metrics, logger, api, s, err) },
	})
	runtime.AddCleanup(c, func(r *directory.Runner) { r.Stop() }, g.runner)
}

// reportSync logs a sync and records its metrics. It is called on the
// runner's goroutine and must not reference the connector.
func reportSync(metrics *connectorMetrics, logger *slog.Logger, api string, s *directory.Snapshot, err error) {
	metrics.directorySync(s, err)
	if err != nil {
		logger.Warn("reading Palette's directory failed; the last copy serves until directory.maxStaleness", "api_url", api, "err", err)
		return
	}
	st := s.Stats
	logger.Info("read Palette's directory", "users", st.Users, "active", st.Active, "disabled", st.Disabled, "deleted", st.Deleted,
		"teams", st.Teams, "requests", st.Requests, "rate_limited", st.RateLimited, "duration", st.Duration.Round(time.Millisecond))
	if st.CarriedOver > 0 {
		logger.Info("users were added or removed while the directory was read; users missed by the listing keep their previous state until the next read", "carried_over", st.CarriedOver)
	}
}

// snapshot returns the copy in force.
func (g *directoryGate) snapshot() *directory.Snapshot {
	if g.runner == nil {
		return g.installed.Load()
	}
	return g.runner.Snapshot()
}

// decide checks the user of id (from claims, the verified token's) against
// the directory: it refuses a user who is disabled, deleted or absent, and
// sets the groups from the user's current teams as directory.groups says,
// passed through claimModifications like the token's. It makes no I/O.
func (g *directoryGate) decide(ctx context.Context, claims map[string]any, id *connector.Identity, rules *claimRules) error {
	if g == nil {
		return nil
	}
	m, err := g.match(claims, id, rules)
	if rec := probe.SignInFrom(ctx); rec != nil {
		rec.Directory = &m.DirectoryMatch
	}
	if m.Refusal != nil {
		g.metrics.directoryRefusal(m.Refusal.Reason)
		g.logger.InfoContext(ctx, "Palette's directory refuses the user", "reason", m.Refusal.Reason, "user_id", id.UserID, "match", m.Match)
		return m.Refusal
	}
	return err
}

func (g *directoryGate) match(claims map[string]any, id *connector.Identity, rules *claimRules) (*directoryMatch, error) {
	snap := g.snapshot()
	now := g.now()
	if snap == nil || now.Sub(snap.Taken) > g.s.maxStaleness {
		if g.s.whenStale == whenStaleTokenOnly {
			return &directoryMatch{DirectoryMatch: probe.DirectoryMatch{TokenOnly: true}}, nil
		}
		r := &DirectoryRefusal{Reason: RefusedStale, MaxStaleness: g.s.maxStaleness}
		if snap != nil {
			r.Age = now.Sub(snap.Taken)
		}
		return &directoryMatch{Refusal: r}, nil
	}
	uid, _ := claims[g.s.uidClaim].(string)
	u, how, found, err := snap.Find(g.s.match, uid, id.Email)
	m := &directoryMatch{DirectoryMatch: probe.DirectoryMatch{Found: found, Match: string(how), UID: u.UID, Email: u.Email, Active: u.Active, Deleted: u.Deleted}}
	switch {
	case err != nil:
		m.Refusal = &DirectoryRefusal{Reason: RefusedAmbiguous}
	case !found:
		m.Refusal = &DirectoryRefusal{Reason: RefusedAbsent}
	case u.Deleted:
		m.Refusal = &DirectoryRefusal{Reason: RefusedDeleted}
	case !u.Active:
		m.Refusal = &DirectoryRefusal{Reason: RefusedDisabled}
	}
	if m.Refusal != nil {
		return m, nil
	}
	m.Teams = snap.TeamsOf(u.UID)
	if g.s.groups == groupsFromToken {
		return m, nil
	}
	groups, err := rules.groups(g.withTeams(claims, rules, m.Teams))
	if err != nil {
		return m, err
	}
	id.Groups = groups
	return m, nil
}

// withTeams returns a copy of claims whose groups claim (the one the claim
// rules read) holds the directory's teams, or, with groups: both, the
// token's groups and the teams.
func (g *directoryGate) withTeams(claims map[string]any, rules *claimRules, teams []string) map[string]any {
	key := rules.claimKey(claims, "groups", rules.groupsKey)
	var groups []string
	if g.s.groups == groupsFromBoth {
		// The claim was read successfully already, so it has a valid shape.
		groups, _ = groupClaim(claims, key)
	}
	for _, t := range teams {
		if !slices.Contains(groups, t) {
			groups = append(groups, t)
		}
	}
	values := make([]any, len(groups))
	for i, g := range groups {
		values[i] = g
	}
	out := maps.Clone(claims)
	out[key] = values
	return out
}

// isFinalDirectoryRefusal reports whether err is a refusal of the directory
// that no retry can fix.
func isFinalDirectoryRefusal(err error) bool {
	var r *DirectoryRefusal
	return errors.As(err, &r) && r.Final()
}

// isStaleDirectory reports whether err is a refusal because the directory
// could not be read for too long: a passing fault.
func isStaleDirectory(err error) bool {
	var r *DirectoryRefusal
	return errors.As(err, &r) && !r.Final()
}
