package spectrocloud

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/directory"
	"github.com/dex-spectro/dex-spectro/internal/probe"
)

// Defaults of the directory block.
const (
	// defaultDirectorySyncInterval is how often Palette's directory is read
	// when syncInterval is not set.
	defaultDirectorySyncInterval = 2 * time.Minute
	// defaultDirectoryMaxStaleness is how long the last copy of the directory
	// serves when Palette's API cannot be read, when maxStaleness is not set.
	defaultDirectoryMaxStaleness = 15 * time.Minute
	// saasAPIURL is the documented API address of SaaS Palette, whose
	// console is defaultConsoleURL.
	saasAPIURL = "https://api.spectrocloud.com"
	// maxAPIKeyFileBytes bounds the API key file read.
	maxAPIKeyFileBytes = 4 << 10
)

// What the connector does when its copy of the directory is older than
// maxStaleness (directory.whenStale).
const (
	// whenStaleRefuse refuses sign-ins, refreshes and token exchanges until
	// the directory can be read again.
	whenStaleRefuse = "refuse"
	// whenStaleTokenOnly decides from the ID token alone, as without a
	// directory.
	whenStaleTokenOnly = "tokenOnly"
)

// Where the groups come from with a directory (directory.groups).
const (
	// groupsFromToken keeps the ID token's groups claim.
	groupsFromToken = "token"
	// groupsFromDirectory takes the user's current teams instead.
	groupsFromDirectory = "directory"
	// groupsFromBoth takes the token's groups and the current teams.
	groupsFromBoth = "both"
)

// DirectoryConfig is the directory block of a spectrocloud connector: it
// makes the connector check every sign-in, refresh and token exchange
// against Palette's current users and teams, which it reads through
// Palette's API in the background.
type DirectoryConfig struct {
	// APIKey is a Palette API key; use $VAR to read it from the
	// environment. The key's user needs a read-only tenant role such as
	// Tenant Viewer. Exclusive with APIKeyFile.
	APIKey string `json:"apiKey"`
	// APIKeyFile is a file holding the API key, read at every sync (so the
	// key can be rotated in place); surrounding whitespace is ignored.
	APIKeyFile string `json:"apiKeyFile"`
	// APIURL is Palette's API address. Defaults to
	// https://api.spectrocloud.com for SaaS Palette, and to the console URL
	// otherwise.
	APIURL string `json:"apiURL"`
	// SyncInterval is the time between two reads of the directory, a Go
	// duration; 2m when empty.
	SyncInterval string `json:"syncInterval"`
	// MaxStaleness is how long the last copy read serves when Palette's API
	// cannot be read; 15m when empty. It also
	// bounds one read.
	MaxStaleness string `json:"maxStaleness"`
	// WhenStale is what happens past MaxStaleness: refuse (the default) or
	// tokenOnly.
	WhenStale string `json:"whenStale"`
	// Match lists how a token's user is found, in order: uid (metadata.uid
	// equals the claim UIDClaim names), email (spec.emailId equals the
	// token's email, ignoring case). Defaults to [uid, email].
	Match []string `json:"match"`
	// UIDClaim is the claim compared with the user's metadata.uid. Defaults
	// to sub.
	UIDClaim string `json:"uidClaim"`
	// Groups is where the groups come from: directory (the default), token
	// or both.
	Groups string `json:"groups"`
	// RequestsPerSecond paces the reads; defaults to
	// directory.DefaultRequestsPerSecond, at most
	// directory.MaxRequestsPerSecond.
	RequestsPerSecond float64 `json:"requestsPerSecond"`
}

// directorySettings is a validated directory block with its defaults.
type directorySettings struct {
	apiURL       string
	apiKey       string // literal key, or "" with apiKeyFile
	apiKeyFile   string
	interval     time.Duration
	maxStaleness time.Duration
	whenStale    string
	match        []directory.Match
	uidClaim     string
	groups       string
	rate         float64
}

// validate checks the block; issuer is the connector's, for the default API
// address. A nil block is no directory.
func (d *DirectoryConfig) validate(issuer string) (*directorySettings, error) {
	if d == nil {
		return nil, nil
	}
	s := &directorySettings{apiKey: strings.TrimSpace(d.APIKey), apiKeyFile: d.APIKeyFile, uidClaim: orDefault(d.UIDClaim, "sub")}
	switch {
	case s.apiKey != "" && s.apiKeyFile != "":
		return nil, errors.New("spectrocloud: directory.apiKey and directory.apiKeyFile are exclusive: set one of them")
	case s.apiKey == "" && s.apiKeyFile == "":
		return nil, errors.New("spectrocloud: directory.apiKey or directory.apiKeyFile is required: a Palette API key of a user with a read-only tenant role such as Tenant Viewer")
	}
	s.apiURL = defaultAPIURL(issuer)
	if d.APIURL != "" {
		if err := checkURL("directory.apiURL", d.APIURL); err != nil {
			return nil, err
		}
		s.apiURL = strings.TrimRight(d.APIURL, "/")
	}
	var err error
	if s.interval, err = durationKey("directory.syncInterval", d.SyncInterval, defaultDirectorySyncInterval, time.Second, 24*time.Hour); err != nil {
		return nil, err
	}
	if s.maxStaleness, err = durationKey("directory.maxStaleness", d.MaxStaleness, max(defaultDirectoryMaxStaleness, 2*s.interval), time.Second, 7*24*time.Hour); err != nil {
		return nil, err
	}
	if s.maxStaleness <= s.interval {
		return nil, fmt.Errorf("spectrocloud: directory.maxStaleness (%s) must be longer than directory.syncInterval (%s), or every copy would be stale before the next read", s.maxStaleness, s.interval)
	}
	switch d.WhenStale {
	case "", whenStaleRefuse:
		s.whenStale = whenStaleRefuse
	case whenStaleTokenOnly:
		s.whenStale = whenStaleTokenOnly
	default:
		return nil, fmt.Errorf("spectrocloud: directory.whenStale %q is not supported: use %s (the default) or %s", d.WhenStale, whenStaleRefuse, whenStaleTokenOnly)
	}
	switch d.Groups {
	case "", groupsFromDirectory:
		s.groups = groupsFromDirectory
	case groupsFromToken, groupsFromBoth:
		s.groups = d.Groups
	default:
		return nil, fmt.Errorf("spectrocloud: directory.groups %q is not supported: use %s (the default), %s or %s", d.Groups, groupsFromDirectory, groupsFromToken, groupsFromBoth)
	}
	if s.match, err = matchOrder(d.Match); err != nil {
		return nil, err
	}
	s.rate = d.RequestsPerSecond
	if s.rate == 0 {
		s.rate = directory.DefaultRequestsPerSecond
	}
	if s.rate < 0.1 || s.rate > directory.MaxRequestsPerSecond {
		return nil, fmt.Errorf("spectrocloud: directory.requestsPerSecond %v must be between 0.1 and %d (Palette's documented limit per source address)", d.RequestsPerSecond, directory.MaxRequestsPerSecond)
	}
	return s, nil
}

func matchOrder(entries []string) ([]directory.Match, error) {
	if len(entries) == 0 {
		return []directory.Match{directory.MatchUID, directory.MatchEmail}, nil
	}
	var order []directory.Match
	for i, e := range entries {
		m := directory.Match(e)
		if m != directory.MatchUID && m != directory.MatchEmail {
			return nil, fmt.Errorf("spectrocloud: directory.match[%d] %q is not supported: use uid or email", i, e)
		}
		for _, seen := range order {
			if seen == m {
				return nil, fmt.Errorf("spectrocloud: directory.match[%d] %q is listed twice", i, e)
			}
		}
		order = append(order, m)
	}
	return order, nil
}

// durationKey parses a duration key between lo and hi; empty means def.
func durationKey(key, v string, def, lo, hi time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		return 0, fmt.Errorf("spectrocloud: %s %q must be a duration between %s and %s, such as \"2m\"", key, v, lo, hi)
	}
	return d, nil
}

// defaultAPIURL derives Palette's API address from the issuer: the console
// the issuer is under, or SaaS Palette's documented API address for its
// console.
func defaultAPIURL(issuer string) string {
	console, _, found := strings.Cut(issuer, "/v1/oidc/tenant/")
	if !found {
		console = issuer
	}
	if console == defaultConsoleURL {
		return saasAPIURL
	}
	return console
}

// readAPIKey returns the API key: the literal one, or the file's content.
// Errors name the key and the file, never the key's value.
func (s *directorySettings) readAPIKey() (string, error) {
	if s.apiKeyFile == "" {
		return s.apiKey, nil
	}
	f, err := os.Open(s.apiKeyFile)
	if err != nil {
		return "", fmt.Errorf("spectrocloud: directory.apiKeyFile: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAPIKeyFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("spectrocloud: directory.apiKeyFile: read %s: %w", s.apiKeyFile, err)
	}
	if len(data) > maxAPIKeyFileBytes {
		return "", fmt.Errorf("spectrocloud: directory.apiKeyFile %s is longer than %d bytes: it is not an API key", s.apiKeyFile, maxAPIKeyFileBytes)
	}
	key := strings.TrimSpace(string(data))
	if key == "" {
		return "", fmt.Errorf("spectrocloud: directory.apiKeyFile %s is empty", s.apiKeyFile)
	}
	return key, nil
}

// warnings lists what the directory block's settings expose; none without
// a block.
func (s *directorySettings) warnings() []probe.Warning {
	if s == nil {
		return nil
	}
	var ws []probe.Warning
	if cleartext(s.apiURL) {
		ws = append(ws, probe.Warning{Key: "directory.apiURL", Risk: "plain http to another host: the Palette API key crosses the network unencrypted, and the directory's answers can be changed on the way"})
	}
	if s.whenStale == whenStaleTokenOnly {
		ws = append(ws, probe.Warning{Key: "directory.whenStale", Risk: "tokenOnly: while Palette's directory cannot be read for longer than directory.maxStaleness, users are checked against their ID token alone, so a user disabled or removed from a team in Palette keeps access"})
	}
	return ws
}
