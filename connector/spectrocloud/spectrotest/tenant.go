package spectrotest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Default settings of a new tenant.
const (
	// DefaultIDTokenLifetime is how long ID tokens are valid: Palette's are
	// long-lived.
	DefaultIDTokenLifetime = 12 * time.Hour
	// DefaultCodeLifetime is how long an authorization code can be redeemed.
	DefaultCodeLifetime = time.Minute
)

// Client is an OAuth client registered in a tenant's settings.
type Client struct {
	// ID is the client ID, also the ID token's audience.
	ID string
	// Secret is the client secret. Palette has no public clients: a client
	// registered with an empty secret can never authenticate at the token
	// endpoint.
	Secret string
	// RedirectURIs are the registered redirect URIs; an authorization request's
	// redirect_uri must equal one of them exactly.
	RedirectURIs []string
}

// User is a Palette user who can sign in to a tenant.
type User struct {
	// Sub is the subject (Palette's user UID). AddUser derives a stable one
	// from the tenant and the email when it is empty.
	Sub string
	// Email identifies the user on the sign-in page (login=<email>) and is
	// emitted as "email"; empty means no "email" claim.
	Email string
	// GivenName is emitted as "given_name"; empty means no claim.
	GivenName string
	// FamilyName is emitted as "family_name"; empty means no claim.
	FamilyName string
	// Groups are the user's Palette teams, emitted as "groups". A nil slice
	// omits the claim; an empty non-nil slice emits an empty list.
	Groups []string
	// Claims are extra or overriding ID token claims, applied last. A nil
	// value removes that claim from the ID token.
	Claims map[string]any
}

// Tenant is one Palette tenant's OIDC provider inside a Console. Its zero value
// is not usable: get one from Console.AddTenant.
//
// A new tenant publishes discovery, issues ID tokens valid for
// DefaultIDTokenLifetime and codes valid for DefaultCodeLifetime, echoes the
// nonce, honours PKCE, rejects the refresh_token grant, shows the sign-in page
// (no auto-login), and has no clients, users or faults. All methods are safe for
// concurrent use.
type Tenant struct {
	console *Console
	uid     string
	// sessionSecret signs session tokens (codes and refresh tokens); never
	// changes after creation.
	sessionSecret []byte

	mu sync.Mutex

	clients   map[string]Client
	users     []User
	autoLogin string

	discovery       bool
	idTokenLifetime time.Duration
	codeLifetime    time.Duration
	now             func() time.Time
	echoNonce       bool
	pkce            bool
	jwksMaxAge      time.Duration
	standardRefresh bool
	idTokenHook     func(claims map[string]any)
	idTokenMint     []MintOption
	quirks          quirks

	keys       []*signingKey // in creation order
	current    *signingKey
	foreignKey *rsa.PrivateKey
	ecKeys     map[string]*ecdsa.PrivateKey

	codes     map[string]*codeGrant    // by code jti
	refreshes map[string]*refreshGrant // by refresh token jti
	pruneAt   int                      // grant count that triggers the next prune

	faults          map[Endpoint]Fault
	requests        map[Endpoint]int
	codeRedemptions int

	directory directoryState // the user and team API's view
}

func newTenant(c *Console, uid string) *Tenant {
	key := newSigningKey()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // never fails since Go 1.24
	return &Tenant{
		console:         c,
		uid:             uid,
		sessionSecret:   secret,
		clients:         make(map[string]Client),
		discovery:       true,
		idTokenLifetime: DefaultIDTokenLifetime,
		codeLifetime:    DefaultCodeLifetime,
		now:             time.Now,
		echoNonce:       true,
		pkce:            true,
		keys:            []*signingKey{key},
		current:         key,
		ecKeys:          make(map[string]*ecdsa.PrivateKey),
		codes:           make(map[string]*codeGrant),
		refreshes:       make(map[string]*refreshGrant),
		faults:          make(map[Endpoint]Fault),
		requests:        make(map[Endpoint]int),
	}
}

// UID returns the tenant's UID.
func (t *Tenant) UID() string { return t.uid }

// Issuer returns the tenant's issuer: <console>/v1/oidc/tenant/<uid>.
func (t *Tenant) Issuer() string { return t.console.baseURL + tenantPathPrefix + t.uid }

// DiscoveryURL returns the URL of the tenant's discovery document.
func (t *Tenant) DiscoveryURL() string { return t.Issuer() + "/" + pathDiscovery }

// AuthURL returns the tenant's authorization endpoint.
func (t *Tenant) AuthURL() string { return t.Issuer() + "/" + pathAuth }

// TokenURL returns the tenant's token endpoint.
func (t *Tenant) TokenURL() string { return t.Issuer() + "/" + pathToken }

// JWKSURL returns the URL of the tenant's published signing keys (the
// discovery document's jwks_uri).
func (t *Tenant) JWKSURL() string { return t.Issuer() + "/" + pathJWKS }

// AddClient registers an OAuth client, replacing any client with the same ID.
func (t *Tenant) AddClient(c Client) {
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clients[c.ID] = c
}

// AddUser adds a user who can sign in, or replaces the user with the same
// email (or, for users without email, the same subject) in place. An empty Sub
// is replaced by a stable 24-hex-digit UID derived from the tenant and email.
func (t *Tenant) AddUser(u User) {
	u = copyUser(u)
	if u.Sub == "" {
		sum := sha256.Sum256([]byte(t.uid + "\x00" + u.Email))
		u.Sub = hex.EncodeToString(sum[:12])
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, existing := range t.users {
		if userKey(existing) == userKey(u) {
			t.users[i] = u
			return
		}
	}
	t.users = append(t.users, u)
}

// Users returns copies of the tenant's users, in insertion order.
func (t *Tenant) Users() []User {
	t.mu.Lock()
	defer t.mu.Unlock()
	users := make([]User, len(t.users))
	for i, u := range t.users {
		users[i] = copyUser(u)
	}
	return users
}

// SetAutoLogin makes the authorization endpoint sign this user (by email)
// in immediately, redirecting to the client with a code, as if the browser
// already had a Palette session. The empty string shows the sign-in page again.
func (t *Tenant) SetAutoLogin(email string) {
	set(t, &t.autoLogin, email)
}

// SetDiscovery publishes (true, the default) or withdraws (false: 404) the
// discovery document.
func (t *Tenant) SetDiscovery(enabled bool) {
	set(t, &t.discovery, enabled)
}

// SetIDTokenLifetime sets how long issued ID tokens are valid (exp - iat).
// Also the access token's expires_in and the session token's lifetime.
func (t *Tenant) SetIDTokenLifetime(d time.Duration) {
	set(t, &t.idTokenLifetime, d)
}

// SetCodeLifetime sets how long an authorization code can be redeemed.
func (t *Tenant) SetCodeLifetime(d time.Duration) {
	set(t, &t.codeLifetime, d)
}

// SetNow injects the clock used for iat, exp and the expiry of codes and
// session tokens; nil restores time.Now.
func (t *Tenant) SetNow(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	set(t, &t.now, now)
}

// SetEchoNonce sets whether the nonce of the authorization request is put into
// the ID token (default true).
func (t *Tenant) SetEchoNonce(echo bool) {
	set(t, &t.echoNonce, echo)
}

// SetPKCE sets whether code_challenge is honoured (default true; methods S256
// and plain). When false, the tenant behaves like a server without PKCE: it
// ignores code_challenge, code_challenge_method and code_verifier. It applies
// to authorization requests made after the call.
func (t *Tenant) SetPKCE(enabled bool) {
	set(t, &t.pkce, enabled)
}

// SetJWKSMaxAge sets the "Cache-Control: max-age" of the JWKS response, in
// whole seconds; 0 (the default) sends no Cache-Control header.
func (t *Tenant) SetJWKSMaxAge(d time.Duration) {
	set(t, &t.jwksMaxAge, d)
}

// EnableStandardRefreshGrant makes the refresh_token grant work like a
// standard OIDC provider's: it accepts a refresh token this tenant issued to
// the authenticating client and answers a fresh token response (with a new ID
// token, without nonce). This is NOT Palette's behaviour; it exists only so
// that a generic OIDC connector can be compared against the emulator. Off by
// default: the refresh_token grant fails with 400 invalid_grant, as Palette's.
func (t *Tenant) EnableStandardRefreshGrant(enabled bool) {
	set(t, &t.standardRefresh, enabled)
}

// SetIDTokenHook sets a function that may change the claims of every ID token
// the token endpoint issues, just before signing (a wrong iss, aud or nonce, a
// missing email, iat in the future, an expired token...). nil removes it. The
// hook runs without the tenant's lock held, so it may call the tenant.
func (t *Tenant) SetIDTokenHook(hook func(claims map[string]any)) {
	set(t, &t.idTokenHook, hook)
}

// SetIDTokenMint sets the options used to sign every ID token the token
// endpoint issues (for example WithAlg("none"), WithKeyID("unknown") or
// WithForeignKey()); no options restores normal RS256 tokens.
func (t *Tenant) SetIDTokenMint(opts ...MintOption) {
	set(t, &t.idTokenMint, slices.Clone(opts))
}

// Claims returns the claim set the token endpoint would issue for this user and
// client: iss, aud (the client ID as a string), sub, iat, exp (now + the ID
// token lifetime), email, given_name, family_name (each when non-empty),
// groups (when non-nil; a single string with SetGroupsAsString), nonce (when
// non-empty), then u.Claims applied (a nil value removes the claim). The ID
// token hook is not applied.
func (t *Tenant) Claims(u User, clientID, nonce string) map[string]any {
	now := t.clock()
	t.mu.Lock()
	lifetime, groupsAsString := t.idTokenLifetime, t.quirks.groupsAsString
	t.mu.Unlock()

	claims := map[string]any{
		"iss": t.Issuer(),
		"aud": clientID,
		"sub": u.Sub,
		"iat": now.Unix(),
		"exp": now.Add(lifetime).Unix(),
	}
	setIfNotEmpty(claims, "email", u.Email)
	setIfNotEmpty(claims, "given_name", u.GivenName)
	setIfNotEmpty(claims, "family_name", u.FamilyName)
	if u.Groups != nil {
		groups := make([]string, len(u.Groups))
		copy(groups, u.Groups)
		claims["groups"] = groups
		if groupsAsString && len(groups) == 1 {
			claims["groups"] = groups[0]
		}
	}
	setIfNotEmpty(claims, "nonce", nonce)
	for name, value := range u.Claims {
		if value == nil {
			delete(claims, name)
		} else {
			claims[name] = value
		}
	}
	return claims
}

// clock reads the tenant's clock. The clock function is called without the
// lock held, so it may call the tenant.
func (t *Tenant) clock() time.Time {
	t.mu.Lock()
	now := t.now
	t.mu.Unlock()
	return now()
}

// serve handles a request for one of the tenant's endpoints: it counts it,
// applies the endpoint's fault, then answers normally.
func (t *Tenant) serve(ep Endpoint, w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	t.requests[ep]++
	fault, faulty := t.faults[ep]
	t.mu.Unlock()

	handler := t.handler(ep)
	if faulty {
		t.serveFault(fault, handler, w, r)
		return
	}
	handler(w, r)
}

func (t *Tenant) handler(ep Endpoint) http.HandlerFunc {
	if h := t.apiHandler(ep); h != nil {
		return h
	}
	switch ep {
	case EndpointDiscovery:
		return t.handleDiscovery
	case EndpointJWKS:
		return t.handleJWKS
	case EndpointAuth:
		return t.handleAuth
	default:
		return t.handleToken
	}
}

// userIndexLocked returns the index in t.users of the user with this email
// or, when no user has it, of the user without email with this subject; -1
// when there is none. An email match wins over an earlier user whose
// subject is the login. t.mu must be held.
func (t *Tenant) userIndexLocked(login string) int {
	if login == "" {
		return -1
	}
	if i := slices.IndexFunc(t.users, func(u User) bool { return u.Email == login }); i >= 0 {
		return i
	}
	return slices.IndexFunc(t.users, func(u User) bool { return u.Email == "" && u.Sub == login })
}

// lookupUserLocked finds a user by email, or by subject for users without
// email; a disabled or deleted user is not found. t.mu must be held.
func (t *Tenant) lookupUserLocked(login string) (User, bool) {
	i := t.userIndexLocked(login)
	if i < 0 {
		return User{}, false
	}
	u := t.users[i]
	return copyUser(u), !t.signInBlockedLocked(u)
}

func (t *Tenant) lookupUser(login string) (User, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lookupUserLocked(login)
}

// userKey is what identifies a user on the sign-in page and in grants.
func userKey(u User) string {
	if u.Email != "" {
		return u.Email
	}
	return u.Sub
}

func copyUser(u User) User {
	if u.Groups != nil {
		u.Groups = slices.Clone(u.Groups)
	}
	if u.Claims != nil {
		u.Claims = maps.Clone(u.Claims)
	}
	return u
}

func setIfNotEmpty(claims map[string]any, name, value string) {
	if value != "" {
		claims[name] = value
	}
}

// set stores v in *field, a field of t, under t's lock: the body of the
// tenant's setters.
func set[T any](t *Tenant, field *T, v T) {
	t.mu.Lock()
	defer t.mu.Unlock()
	*field = v
}
