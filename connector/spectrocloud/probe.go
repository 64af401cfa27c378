package spectrocloud

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/directory"
	"github.com/dex-spectro/dex-spectro/internal/probe"
)

// Probe implements probe.Prober, for dex-spectro's commands (check, check
// --sign-in, sessions): it validates the configuration and opens the
// connector as Open does, but contacts nothing, starts no background sync
// of the directory, and answers what those commands ask beyond Dex's
// interfaces. Dex's server never calls it.
func (c *Config) Probe(id string, logger *slog.Logger) (probe.Connector, error) {
	conn, err := c.open(id, logger)
	if err != nil {
		return nil, err
	}
	return &probed{spectroConnector: conn, tenant: c.Tenant, consoleURL: c.ConsoleURL}, nil
}

// probed is a connector opened by Probe.
type probed struct {
	*spectroConnector
	// tenant and consoleURL are the configuration's, to say where the
	// issuer came from.
	tenant, consoleURL string
}

var _ probe.Connector = (*probed)(nil)

// errNoDirectory is returned by the directory's probes for a connector
// without a directory block.
var errNoDirectory = errors.New("spectrocloud: the connector has no directory block")

func (p *probed) SignInSettings() probe.SignInSettings {
	return probe.SignInSettings{RedirectURI: p.s.redirectURI, PKCE: p.s.pkce, AllowMissingNonce: p.s.insecureAllowMissingNonce}
}

func (p *probed) Warnings() []probe.Warning { return p.s.warnings() }

func (p *probed) Endpoints(ctx context.Context) (*probe.Endpoints, error) {
	prov, err := p.providers.get(ctx)
	if err != nil {
		return nil, err
	}
	e := prov.endpoints
	return &probe.Endpoints{
		Issuer: e.Issuer, AuthURL: e.AuthURL, TokenURL: e.TokenURL, JWKSURL: e.JWKSURL,
		FromDiscovery: e.FromDiscovery, Algorithms: e.Algorithms, Sources: p.sources(prov.doc),
	}, nil
}

// sources says where the issuer and each endpoint came from: the
// configuration's keys, the discovery document doc (nil without one), or
// Palette's layout.
func (p *probed) sources(doc *discoveryDoc) probe.Sources {
	s := probe.Sources{Issuer: "issuer"}
	switch {
	case p.tenant != "" && p.consoleURL == "":
		s.Issuer = "tenant, with the default consoleURL " + defaultConsoleURL
	case p.tenant != "":
		s.Issuer = "tenant and consoleURL"
	}
	o := p.s.overrides
	pick := func(override, key, fromDoc, fallback string) string {
		switch {
		case override != "":
			return "providerDiscoveryOverrides." + key
		case fromDoc != "":
			return "discovery"
		}
		return fallback
	}
	var docAuth, docToken, docJWKS string
	if doc != nil {
		docAuth, docToken, docJWKS = doc.AuthURL, doc.TokenURL, doc.JWKSURL
	}
	s.AuthURL = pick(o.AuthURL, "authURL", docAuth, "Palette's layout, <issuer>/auth")
	s.TokenURL = pick(o.TokenURL, "tokenURL", docToken, "derived from the authorization endpoint, …/auth → …/token")
	s.JWKSURL = pick(o.JWKSURL, "jwksURL", docJWKS, "discovery")
	return s
}

func (p *probed) KeyIDs(ctx context.Context) ([]string, error) {
	prov, err := p.providers.get(ctx)
	if err != nil {
		return nil, err
	}
	keys, _, err := prov.keys.fetch(ctx)
	if err != nil {
		return nil, &UpstreamError{Endpoint: "jwks", Err: fmt.Errorf("%s: %w", prov.endpoints.JWKSURL, err)}
	}
	ids := make([]string, 0, len(keys))
	for _, k := range keys {
		ids = append(ids, k.KeyID)
	}
	return ids, nil
}

func (p *probed) Directory() *probe.DirectorySettings {
	if p.dir == nil {
		return nil
	}
	s := p.dir.s
	d := &probe.DirectorySettings{APIURL: s.apiURL, SyncInterval: s.interval.String(), MaxStaleness: s.maxStaleness.String(),
		WhenStale: s.whenStale, UIDClaim: s.uidClaim, Groups: s.groups}
	for _, m := range s.match {
		d.Match = append(d.Match, string(m))
	}
	return d
}

func (p *probed) ReadDirectory(ctx context.Context) (*probe.DirectoryRead, error) {
	if p.dir == nil {
		return nil, errNoDirectory
	}
	s, err := p.dir.readOnce(ctx)
	if err != nil {
		return nil, err
	}
	return &probe.DirectoryRead{APIURL: p.dir.client.BaseURL(), Stats: s.Stats}, nil
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

// UserIDsForEmail returns the user IDs that Dex can know the user with this
// email by, through this connector: the email itself when userIDKey is the
// email claim; otherwise, with a directory block whose uidClaim is
// userIDKey, the UIDs of the Palette users with this email (one request to
// Palette's API), which are the user IDs when Palette's ID tokens carry the
// user's UID in that claim. Any other configuration has no way from an
// email to a user ID, and gets an error that says so.
func (p *probed) UserIDsForEmail(ctx context.Context, email string) ([]probe.UserID, error) {
	rules := p.s.claims
	if rules.userIDKey == rules.emailKey {
		ids := []probe.UserID{{UserID: email, Source: "userIDKey is the email claim " + rules.emailKey}}
		if lower := strings.ToLower(email); lower != email {
			ids = append(ids, probe.UserID{UserID: lower, Source: "the email in lower case"})
		}
		return ids, nil
	}
	if p.dir == nil {
		return nil, fmt.Errorf("spectrocloud: userIDKey is %q, not the email claim, and the connector has no directory block to find the user's Palette UID by email: give the user ID instead", rules.userIDKey)
	}
	if p.dir.s.uidClaim != rules.userIDKey {
		return nil, fmt.Errorf("spectrocloud: userIDKey (%q) is not directory.uidClaim (%q), so a Palette UID is not a user ID: give the user ID instead", rules.userIDKey, p.dir.s.uidClaim)
	}
	ctx, cancel := context.WithTimeout(ctx, p.s.timeout)
	defer cancel()
	found, err := p.dir.client.UsersByEmail(ctx, email)
	if err != nil {
		return nil, fmt.Errorf("spectrocloud: directory: finding %s at %s: %w", email, p.dir.client.BaseURL(), err)
	}
	ids := make([]probe.UserID, 0, len(found))
	for _, u := range found {
		ids = append(ids, probe.UserID{UserID: u.UID, Source: fmt.Sprintf("the Palette UID of %s in the directory (a user ID when Palette's %s claim is the user's UID)", u.Email, rules.userIDKey)})
	}
	return ids, nil
}
