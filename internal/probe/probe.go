// Package probe is what dex-spectro's commands (check, check --sign-in and
// sessions) ask of a connector configuration beyond Dex's interfaces, the
// way internal/connhook is what its server asks: a connector configuration
// that implements Prober opens its connector for a command, without
// contacting anything, and answers the questions below; and a sign-in run
// on a context carrying a SignIn (WithSignIn) records in it what
// HandleCallback saw and does not return.
//
// Nothing here holds token material: not the code, an ID token, a nonce, a
// PKCE verifier or a secret. A connector that implements none of this is
// simply not inspected.
package probe

import (
	"context"
	"log/slog"
	"time"

	"github.com/dexidp/dex/connector"

	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/directory"
)

// Prober is implemented by connector configurations that dex-spectro's
// commands can inspect.
type Prober interface {
	// Probe validates the configuration and opens its connector for a
	// command: it contacts nothing and runs nothing in the background. id
	// is the connector's ID; logger, nil for none, receives the
	// connector's records.
	Probe(id string, logger *slog.Logger) (Connector, error)
}

// Connector is a connector opened for a command. Its LoginURL and
// HandleCallback are the connector's own, as Dex calls them.
type Connector interface {
	connector.CallbackConnector

	// SignInSettings are the settings of the connector's sign-ins that a
	// command reports.
	SignInSettings() SignInSettings
	// Warnings lists the settings that weaken the connector's security.
	Warnings() []Warning
	// Endpoints resolves the issuer and the endpoints, fetching discovery
	// the first time, as a sign-in does.
	Endpoints(ctx context.Context) (*Endpoints, error)
	// KeyIDs fetches the signing keys now and returns their key IDs.
	KeyIDs(ctx context.Context) ([]string, error)
	// Directory describes the directory block, with its defaults; nil
	// without one.
	Directory() *DirectorySettings
	// ReadDirectory reads the directory once, as the background sync of a
	// serving connector does; the copy read is the one this connector's
	// sign-ins are then decided with. Without a directory block it fails.
	ReadDirectory(ctx context.Context) (*DirectoryRead, error)
	// UserIDsForEmail returns the user IDs Dex can know the user with this
	// email by, through this connector, or an error saying why there is no
	// way from an email to a user ID.
	UserIDsForEmail(ctx context.Context, email string) ([]UserID, error)
}

// SignInSettings are settings of a connector's sign-ins.
type SignInSettings struct {
	// RedirectURI is where the upstream sends the browser back with the
	// code: Dex's callback URL, as configured.
	RedirectURI string
	// PKCE is the PKCE method sent (S256 or plain), empty when off.
	PKCE string
	// AllowMissingNonce is whether an ID token without a nonce is accepted.
	AllowMissingNonce bool
}

// Warning is a setting that weakens a connector's security: valid, but an
// operator should know what it exposes.
type Warning struct {
	// Key is the configuration key, as written in the file.
	Key string
	// Risk says what the setting exposes.
	Risk string
}

func (w Warning) String() string { return w.Key + ": " + w.Risk }

// Endpoints are the upstream endpoints a connector uses.
type Endpoints struct {
	Issuer, AuthURL, TokenURL, JWKSURL string
	// FromDiscovery is true when the discovery document was read.
	FromDiscovery bool
	// Algorithms are the ID-token signature algorithms accepted.
	Algorithms []string
	// Sources say where the issuer and each endpoint came from.
	Sources Sources
}

// Sources say where the issuer and each endpoint of Endpoints came from:
// which configuration keys, the discovery document, or the upstream's
// layout.
type Sources struct {
	Issuer, AuthURL, TokenURL, JWKSURL string
}

// DirectorySettings describe a directory block, with its defaults.
type DirectorySettings struct {
	APIURL, SyncInterval, MaxStaleness, WhenStale, UIDClaim, Groups string
	Match                                                           []string
}

// DirectoryRead is what one read of a connector's directory found.
type DirectoryRead struct {
	// APIURL is the API address read.
	APIURL string
	// Stats are the counts and the cost of the read.
	Stats directory.Stats
}

// UserID is a Dex user ID that a user of a connector may have, and where it
// comes from.
type UserID struct {
	UserID string
	Source string
}

// SignIn is what a connector saw of one sign-in that HandleCallback does
// not return. The connector fills it during HandleCallback, on the
// goroutine that calls it; read it once HandleCallback has returned.
type SignIn struct {
	// ClientAuth is the client authentication of the token request; nil
	// when no token request was made.
	ClientAuth *ClientAuth
	// Token describes the ID token received; nil when none was.
	Token *Token
	// Resolver is the sign-in resolver that decided, empty without one;
	// EntityRef the catalog entity it found, if any.
	Resolver, EntityRef string
	// Directory is how the directory decided about the user; nil without
	// a directory block, or when the sign-in ended before it was asked.
	Directory *DirectoryMatch
}

// ClientAuth is the client authentication of a token request.
type ClientAuth struct {
	// Method is client_secret_basic or client_secret_post; Choice says how
	// it was chosen.
	Method, Choice string
	// Accepted is true when the token endpoint accepted the request.
	Accepted bool
	// Refusal, when the token endpoint's answer says the method or the
	// credentials may be wrong, says what it answered; Advice says what to
	// check or set.
	Refusal, Advice string
}

// Token describes an ID token without its signature or secrets.
type Token struct {
	// Algorithm and KeyID are from the JWS header.
	Algorithm, KeyID string
	// IssuedAt and Expiry are iat and exp; zero when absent or not a time.
	IssuedAt, Expiry time.Time
	// Verified is true when the token passed verification (signature,
	// issuer, audience, times; the nonce is reported apart).
	Verified bool
	// NonceEchoed is true when the token carries a nonce; NonceMatches
	// when it is the one sent.
	NonceEchoed, NonceMatches bool
	// Claims are the claims in name order, shown whether or not the token
	// verified.
	Claims []Claim
}

// Claim is one claim of a token: its name, the JSON shape of its value, and
// the value itself for the claims that are safe and useful to show.
type Claim struct {
	Name  string
	Shape string
	// Value is the value for display, empty when it is not shown.
	Value string
}

// DirectoryMatch is how a connector's directory decided about one user.
type DirectoryMatch struct {
	// Found is true when the user is in the directory; Match says how it
	// was found (uid or email), UID and Email are the directory's.
	Found      bool
	Match      string
	UID, Email string
	// Active and Deleted are the user's status.
	Active, Deleted bool
	// Teams are the user's current teams.
	Teams []string
	// TokenOnly is true when the copy was stale and the configuration let
	// the token decide alone.
	TokenOnly bool
}

type signInKey struct{}

// WithSignIn returns a context on which a connector's HandleCallback
// records what it saw in the returned SignIn.
func WithSignIn(ctx context.Context) (context.Context, *SignIn) {
	s := &SignIn{}
	return context.WithValue(ctx, signInKey{}, s), s
}

// SignInFrom returns the SignIn that ctx carries, or nil: a connector
// records only when a command asked it to.
func SignInFrom(ctx context.Context) *SignIn {
	s, _ := ctx.Value(signInKey{}).(*SignIn)
	return s
}
