package spectrotest

import "slices"

// Client authentication methods of the token endpoint, as named in the
// discovery document's token_endpoint_auth_methods_supported.
const (
	// AuthMethodBasic is HTTP basic authentication with the form-urlencoded
	// client ID and secret (RFC 6749 section 2.3.1).
	AuthMethodBasic = "client_secret_basic"
	// AuthMethodPost is client_id and client_secret in the form body, as the
	// Backstage module sends them.
	AuthMethodPost = "client_secret_post"
)

// quirks are the ways a tenant can differ from the default behaviour, for
// tests of what is not known about Palette. The zero value is the default.
// Guarded by the tenant's lock.
type quirks struct {
	// authMethods are the client authentication methods the token endpoint
	// accepts; nil means both.
	authMethods []string
	// hideAuthMethods leaves token_endpoint_auth_methods_supported out of
	// the discovery document.
	hideAuthMethods bool
	// advertisedMethods, when not nil, is what discovery advertises
	// whatever the token endpoint accepts.
	advertisedMethods []string
	// basicRefusal is how a token endpoint that does not accept
	// client_secret_basic answers a request with a Basic header.
	basicRefusal BasicRefusal
	// schemaDiscovery serves discovery in the shape of Palette's published
	// API schema.
	schemaDiscovery bool
	// tokenType is the token response's token_type; "" leaves it out.
	tokenType string
	// groupsAsString emits a single team as a string instead of a list.
	groupsAsString bool
}

func (q *quirks) acceptsAuthMethod(method string) bool {
	return q.authMethods == nil || slices.Contains(q.authMethods, method)
}

// advertisedAuthMethods returns the discovery document's
// token_endpoint_auth_methods_supported; nil leaves the field out.
func (q *quirks) advertisedAuthMethods() []string {
	if q.hideAuthMethods {
		return nil
	}
	if q.advertisedMethods != nil {
		return slices.Clone(q.advertisedMethods)
	}
	if q.authMethods == nil {
		return []string{AuthMethodBasic, AuthMethodPost}
	}
	return slices.Clone(q.authMethods)
}

// SetTokenAuthMethods sets the client authentication methods the token
// endpoint accepts (AuthMethodBasic, AuthMethodPost), as the discovery
// document then advertises them; no methods restores the default, both.
// A token request authenticated by a method not accepted fails with 401
// invalid_client before its code is looked at, so the code stays
// redeemable: the order a real server checks a token request in (RFC 6749
// section 3.2.1: the client is authenticated first).
//
// SetTokenAuthMethods(AuthMethodPost) is a token endpoint that takes
// client_secret_post only, like the one the Backstage module is known to
// work with.
func (t *Tenant) SetTokenAuthMethods(methods ...string) {
	set(t, &t.quirks.authMethods, methodList(methods))
}

// SetAdvertisedTokenAuthMethods makes the discovery document advertise
// these methods in token_endpoint_auth_methods_supported whatever the token
// endpoint accepts: a document that is wrong about it, as one written from
// RFC 8414's default (client_secret_basic) for a token endpoint that takes
// client_secret_post only. No methods restores the default: the document
// advertises what the endpoint accepts. SetAdvertiseTokenAuthMethods(false)
// still leaves the field out.
func (t *Tenant) SetAdvertisedTokenAuthMethods(methods ...string) {
	set(t, &t.quirks.advertisedMethods, methodList(methods))
}

// methodList is a copy of methods, nil (the default) when there are none.
func methodList(methods []string) []string {
	if len(methods) == 0 {
		return nil
	}
	return slices.Clone(methods)
}

// BasicRefusal is how a token endpoint that does not accept
// client_secret_basic (SetTokenAuthMethods(AuthMethodPost)) answers a token
// request that carries a Basic Authorization header. Whether Palette takes
// Basic, and how it refuses it, is not known; each plausible way is here.
type BasicRefusal int

// The ways a post-only token endpoint refuses a Basic header.
const (
	// RefuseBasicFirst answers 401 invalid_client before the code is looked
	// at, so the code stays redeemable (RFC 6749 section 3.2.1: the client
	// is authenticated first). The default.
	RefuseBasicFirst BasicRefusal = iota
	// IgnoreBasic ignores the Authorization header and authenticates the
	// client from the form alone: with no client_id there, it answers 400
	// invalid_request "client_id is required". The code is not looked at.
	IgnoreBasic
	// RedeemThenRefuseBasic looks at the code first, using it up, and then
	// refuses the client with 401 invalid_client: the same code sent again,
	// with any method, gets invalid_grant.
	RedeemThenRefuseBasic
)

// SetBasicRefusal sets how a token endpoint that does not accept
// client_secret_basic refuses a Basic header (default RefuseBasicFirst).
// It has no effect while the endpoint accepts client_secret_basic.
func (t *Tenant) SetBasicRefusal(r BasicRefusal) {
	set(t, &t.quirks.basicRefusal, r)
}

// SetSchemaShapedDiscovery serves (true) the discovery document in the shape
// of the OpenID provider metadata in Palette's published API schema, instead
// of the usual one (false, the default): issuer, authorization_endpoint,
// token_endpoint, userinfo_endpoint, jwks_uri and registration_endpoint;
// scopes_supported, response_types_supported, subject_types_supported and
// claims_supported as space-separated strings, not arrays; and no
// token_endpoint_auth_methods_supported, id_token_signing_alg_values_supported,
// code_challenge_methods_supported or grant_types_supported. The emulator
// does not serve the userinfo and registration endpoints it names (their
// paths are not known).
func (t *Tenant) SetSchemaShapedDiscovery(enabled bool) {
	set(t, &t.quirks.schemaDiscovery, enabled)
}

// SetTokenType sets the token_type of the token endpoint's answers; "" (the
// default) leaves the member out, as the token response in Palette's
// published API schema has none. SetTokenType("Bearer") answers as most
// OAuth servers do.
func (t *Tenant) SetTokenType(tokenType string) {
	set(t, &t.quirks.tokenType, tokenType)
}

// SetAdvertiseTokenAuthMethods sets whether the discovery document carries
// token_endpoint_auth_methods_supported (default true). Without it, a client
// cannot know the methods in advance and has to try.
func (t *Tenant) SetAdvertiseTokenAuthMethods(advertise bool) {
	set(t, &t.quirks.hideAuthMethods, !advertise)
}

// SetGroupsAsString makes the ID tokens of users in exactly one team carry
// "groups" as a string rather than a list of one, as some providers send
// single-valued attributes (default false: always a list).
func (t *Tenant) SetGroupsAsString(enabled bool) {
	set(t, &t.quirks.groupsAsString, enabled)
}

// CodeRedemptions returns how many authorization_code token requests got
// as far as their code, whatever their outcome: each one uses up the code
// it carries. A client that sends one code twice is seen here twice.
// Requests refused at client authentication are not counted, because they
// never reach the code, except under RedeemThenRefuseBasic, which looks at
// the code first.
func (t *Tenant) CodeRedemptions() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.codeRedemptions
}
