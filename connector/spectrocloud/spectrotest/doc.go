// Package spectrotest emulates SpectroCloud Palette's per-tenant OpenID Connect
// provider, for tests and demos of clients such as the spectrocloud connector,
// in the manner of go-oidc's oidctest.
//
// A Console serves any number of tenants, each an OIDC provider with its own
// issuer (<console>/v1/oidc/tenant/<uid>), signing keys, clients, users,
// settings, faults and request counters:
//
//	<issuer>/.well-known/openid-configuration   discovery (can be switched off)
//	<issuer>/keys                               JWKS (key rotation and removal)
//	<issuer>/auth                               authorization endpoint, sign-in page
//	<issuer>/token                              token endpoint
//
// The emulator is as strict, and as odd, as Palette:
//
//   - the authorization request must name a registered client and one of its
//     redirect URIs exactly, ask for response_type=code and the openid scope;
//     the nonce is echoed in the ID token and PKCE (S256, plain) is honoured,
//     both switchable;
//   - codes are single use, bound to their client and redirect URI, and expire;
//   - the token endpoint authenticates clients by client_secret_basic or
//     client_secret_post (or only one of them, SetTokenAuthMethods) before it
//     looks at the code, and answers an RS256 ID token (long-lived: 12 hours by
//     default), an opaque access token, and as refresh_token an HS256 session
//     token, with no token_type (as Palette's published schema); a
//     refresh_token grant fails with invalid_grant, as with Palette;
//   - ID tokens carry iss, aud, sub, iat, exp, email, given_name, family_name,
//     groups (Palette teams) and nonce, but no name, preferred_username or
//     email_verified unless a user's Claims add them.
//
// What is not known about Palette can be switched to either answer: discovery
// (SetDiscovery), its shape (SetSchemaShapedDiscovery: the one Palette's
// published API schema gives, lists as strings),
// token_endpoint_auth_methods_supported in it (SetAdvertiseTokenAuthMethods,
// SetAdvertisedTokenAuthMethods), how a post-only token endpoint refuses a
// Basic header (SetBasicRefusal: invalid_client before the code, the header
// ignored and invalid_request, or the code used up and then invalid_client),
// token_type (SetTokenType), the echoed nonce (SetEchoNonce), PKCE (SetPKCE),
// a single team sent as a string (SetGroupsAsString), and email_verified or
// name (a user's Claims). CodeRedemptions counts the codes presented at the
// token endpoint, so that a test can prove a client never sends one twice.
//
// For tests of the unhappy paths, a Tenant mints arbitrary tokens (alg none,
// HS256 keyed with the public key, unknown kid, unpublished key), mutates the
// claims of the tokens it issues (SetIDTokenHook), and makes endpoints fail
// (SetFault): error statuses, replaced or oversized bodies, slow answers.
//
// The console also serves Palette's user and team API (Palette APIs 4.8) for
// every tenant, picked by the ApiKey header of a key the tenant issued
// (AddAPIKey; 401 without or with an unknown key, 403 for a key whose user
// lacks the permission): GET /v1/users, /v1/users/{uid}, /v1/teams and
// /v1/teams/{uid}, and POST /v1/users/summary, in pages of at most 50 linked
// by listmeta.continue, rate limited per source address and resource (10 a
// second, burst 5, then 429 with Retry-After: SetAPIRateLimit,
// SetAPIRetryAfter). Users can be disabled and deleted (DisableUser,
// DeleteUser; neither can sign in any more), teams added, removed and
// changed (AddTeam, RemoveTeam, AddToTeam, RemoveFromTeam), which the groups
// of later ID tokens follow. Whether deleted users stay listed with
// metadata.deletionTimestamp (SetListDeletedUsers) and whether a user's
// metadata.uid is its sub (SetSubjectIsUID) can be switched.
//
// A typical test:
//
//	srv := spectrotest.NewServer()
//	defer srv.Close()
//	tenant := srv.AddTenant("5f7c0a1b2c3d4e5f6a7b8c9d")
//	tenant.AddClient(spectrotest.Client{
//		ID:           "dex",
//		Secret:       "dex-secret",
//		RedirectURIs: []string{"https://dex.example.com/callback"},
//	})
//	tenant.AddUser(spectrotest.User{
//		Email:      "jane@example.com",
//		GivenName:  "Jane",
//		FamilyName: "Doe",
//		Groups:     []string{"platform", "admins"},
//	})
//	tenant.SetAutoLogin("jane@example.com")
//
//	// Configure the client under test with tenant.Issuer() (or srv.URL and
//	// tenant.UID()), let it build its login URL, then play the browser:
//	callback, err := tenant.Authorize(ctx, loginURL)
//	// callback is https://dex.example.com/callback?code=...&state=...; hand it
//	// to the client's callback handler, which redeems the code at
//	// tenant.TokenURL().
//
// Without SetAutoLogin, the authorization endpoint shows a sign-in page listing
// the tenant's users; AuthorizeAs submits it for a given user. A Console can
// also be mounted in any http.Server, under its own base URL.
package spectrotest
