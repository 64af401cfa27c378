package serve

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The wrappers find Dex's endpoints where Dex's router registers them,
// path.Join of the issuer's path and the endpoint, however the issuer's
// path is written.
func TestDexRoutes(t *testing.T) {
	tests := []struct {
		issuer, token string
	}{
		{issuer: "https://dex.example.com", token: "/token"},
		{issuer: "https://dex.example.com/", token: "/token"},
		{issuer: "https://dex.example.com/dex", token: "/dex/token"},
		{issuer: "https://dex.example.com/dex/", token: "/dex/token"},
		{issuer: "https://dex.example.com/dex//", token: "/dex/token"},
		{issuer: "https://dex.example.com/a/../dex", token: "/dex/token"},
		{issuer: "https://dex.example.com/./dex/.", token: "/dex/token"},
		{issuer: "https://dex.example.com/a%2Fdex", token: "/a/dex/token"},
	}
	for _, tt := range tests {
		routes, err := newDexRoutes(tt.issuer)
		require.NoError(t, err)
		assert.Equal(t, tt.token, routes.path("/token"), tt.issuer)
	}

	_, err := newDexRoutes("https://dex.example.com/%zz")
	assert.ErrorContains(t, err, "issuer")
}

func TestDexRoutesWithVariables(t *testing.T) {
	routes, err := newDexRoutes("https://dex.example.com/dex//")
	require.NoError(t, err)
	for p, want := range map[string]bool{
		"/dex/auth/local/login": true,
		// Dex's router reads the raw path: a%2Fb is one segment to it.
		"/dex/auth/a/b/login":    true,
		"/dex/auth/login/login":  true,
		"/dex/auth//login":       false,
		"/dex/auth/login":        false,
		"/dex//auth/local/login": false,
		"/dex/auth/local/logins": false,
	} {
		assert.Equal(t, want, routes.isPasswordLogin(p), p)
	}
	for p, want := range map[string]bool{
		"/dex/callback":         true,
		"/dex/callback/ldap":    true,
		"/dex/callback/a/b":     true,
		"/dex/callback/":        false,
		"/dex/device/callback":  false,
		"/dex//callback":        false,
		"/dex/callbackx":        false,
		"/other/dex/callback/x": false,
	} {
		assert.Equal(t, want, routes.isCallback(p), p)
	}
}

// At the root of its origin, Dex's endpoints with variables are where
// they are below a path.
func TestDexRoutesWithVariablesAtRoot(t *testing.T) {
	for _, issuer := range []string{"https://dex.example.com", "https://dex.example.com/"} {
		routes, err := newDexRoutes(issuer)
		require.NoError(t, err)
		for p, want := range map[string]bool{
			"/auth/local/login": true,
			"/auth/login":       false,
			"//auth/x/login":    false,
		} {
			assert.Equal(t, want, routes.isPasswordLogin(p), "%s %s", issuer, p)
		}
		for p, want := range map[string]bool{
			"/callback":        true,
			"/callback/ldap":   true,
			"/callback/":       false,
			"/device/callback": false,
			"//callback":       false,
		} {
			assert.Equal(t, want, routes.isCallback(p), "%s %s", issuer, p)
		}
	}
}

// routesAt returns the routes of an issuer whose URL is only the path base,
// as a test of a wrapper in front of Dex needs them.
func routesAt(t testing.TB, base string) dexRoutes {
	t.Helper()
	routes, err := newDexRoutes(base)
	require.NoError(t, err)
	return routes
}
