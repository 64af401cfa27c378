package demo

import (
	"github.com/dex-spectro/dex-spectro/connector/spectrocloud/spectrotest"
)

// The emulated Palette tenant and the demo's OAuth clients.
const (
	// TenantUID is the UID of the emulated Palette tenant. Real tenant UIDs
	// are 24 hexadecimal digits.
	TenantUID = "demo"

	// paletteClientID and paletteClientSecret are the OAuth client Dex uses
	// at the emulated Palette, as registered in a tenant's settings.
	paletteClientID     = "dex"
	paletteClientSecret = "demo-palette-client-secret"

	// appClientID and appClientSecret are the demo app's client at Dex.
	appClientID     = "demo-app"
	appClientSecret = "demo-app-secret"

	// kubeloginClientID is the public client for kubelogin at Dex.
	kubeloginClientID = "kubelogin"
)

// allowedGroups are the groups allowed to sign in (the connector's
// allowedGroups).
func allowedGroups() []string { return []string{"platform-team", "app-team"} }

// The custom claim turned into a group by
// claimModifications.newGroupFromClaims: <prefix><delimiter><value>.
const (
	customClaim       = "project"
	customGroupPrefix = "project"
	customGroupDelim  = ":"
)

// User is a user of the emulated Palette tenant and what signing in as
// that user shows.
type User struct {
	// Palette is the user as the emulated tenant knows it.
	Palette spectrotest.User
	// Shows says what signing in as this user demonstrates.
	Shows string
	// SignsIn reports whether Dex lets the user in.
	SignsIn bool
}

// Users returns the demo users, in the order the sign-in page lists them.
func Users() []User {
	return []User{
		{
			Palette: spectrotest.User{
				Email: "alice@example.com", GivenName: "Alice", FamilyName: "Platform",
				Groups: []string{"platform-team", "sre"},
			},
			Shows:   "a member of an allowed team: signs in, her Palette teams become groups",
			SignsIn: true,
		},
		{
			Palette: spectrotest.User{
				Email: "bob@example.com", GivenName: "Bob", FamilyName: "Builder",
				Groups: []string{"app-team"},
				Claims: map[string]any{customClaim: "edge-fleet"},
			},
			Shows:   `a custom "project" claim that claimModifications.newGroupFromClaims turns into the group project:edge-fleet`,
			SignsIn: true,
		},
		{
			Palette: spectrotest.User{
				Email: "carol@example.com", GivenName: "Carol", FamilyName: "Unverified",
				Groups: []string{"app-team"},
				Claims: map[string]any{"email_verified": false},
			},
			Shows:   "an email address Palette has not verified: Dex refuses the sign-in",
			SignsIn: false,
		},
		{
			Palette: spectrotest.User{
				Email: "dave@partner.example", GivenName: "Dave", FamilyName: "Contractor",
				Groups: []string{"contractors"},
			},
			Shows:   "a team outside allowedGroups: Dex answers 403 Forbidden",
			SignsIn: false,
		},
	}
}

// newTenant sets up the emulated Palette tenant: Dex's OAuth client, the
// demo users and the ID token lifetime.
func newTenant(console *spectrotest.Console, dexCallback string, o Options) *spectrotest.Tenant {
	tenant := console.AddTenant(TenantUID)
	tenant.AddClient(spectrotest.Client{
		ID:           paletteClientID,
		Secret:       paletteClientSecret,
		RedirectURIs: []string{dexCallback},
	})
	for _, u := range Users() {
		tenant.AddUser(u.Palette)
	}
	tenant.SetIDTokenLifetime(o.TokenLifetime)
	return tenant
}
