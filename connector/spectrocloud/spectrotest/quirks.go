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
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(methods) == 0 {
		t.quirks.authMethods = nil
		return
	}
	t.quirks.authMethods = slices.Clone(methods)
}

// SetAdvertiseTokenAuthMethods sets whether the discovery document carries
// token_endpoint_auth_methods_supported (default true). Without it, a client
// cannot know the methods in advance and has to try.
func (t *Tenant) SetAdvertiseTokenAuthMethods(advertise bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.quirks.hideAuthMethods = !advertise
}

// SetGroupsAsString makes the ID tokens of users in exactly one team carry
// "groups" as a string rather than a list of one, as some providers send
// single-valued attributes (default false: always a list).
func (t *Tenant) SetGroupsAsString(enabled bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.quirks.groupsAsString = enabled
}

// CodeRedemptions returns how many authorization_code token requests from
// authenticated clients presented a code, whatever their outcome: each
// one uses up the code it carries. A client that sends one code twice is
// seen here twice; requests refused at client authentication are not
// counted, because they never reach the code.
func (t *Tenant) CodeRedemptions() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.codeRedemptions
}
