package buildinfo

import (
	"fmt"
	"strings"
)

// DexRepository is the upstream repository that fix pull requests are
// numbered in.
const DexRepository = "dexidp/dex"

// Fix is a security fix that dex-spectro carries on top of DexRelease
// because no Dex release includes it yet. It is dropped once the Dex
// release dex-spectro builds on carries the upstream fix.
type Fix struct {
	// PR is the number of the pull request that fixes the hole in Dex's
	// main branch; 0 when Dex's main branch still has the hole.
	PR int
	// Summary says what dex-spectro does about the hole.
	Summary string
}

// String renders the fix as "dexidp/dex#PR: summary", or "not fixed in
// dexidp/dex yet: summary".
func (f Fix) String() string {
	if f.PR == 0 {
		return fmt.Sprintf("not fixed in %s yet: %s", DexRepository, f.Summary)
	}
	return fmt.Sprintf("%s#%d: %s", DexRepository, f.PR, f.Summary)
}

// Fixes returns the fixes this build carries, ordered by pull request, those
// Dex has not fixed yet last.
func Fixes() []Fix {
	return []Fix{
		{PR: 4927, Summary: "password login page links back only to a path on the issuer's origin (open redirect)"},
		{PR: 4927, Summary: "device flow client secret compared in constant time"},
		{PR: 4927, Summary: "gRPC API without grpc.tlsClientCA: warning at start-up"},
		{PR: 4927, Summary: "gRPC CreateConnector without a connector refused instead of crashing the server"},
		{PR: 4927, Summary: "refresh token secret compared in constant time (refresh grant and token introspection)"},
		{PR: 4928, Summary: "device flow: client_secret kept out of the browser redirect to /auth"},
		{PR: 4928, Summary: "device callback accepts only an auth code of the device request's client and redirect URI"},
		{Summary: "device flow completes only in a browser that entered the user code on Dex's device page (login CSRF)"},
	}
}

// fixesText renders fixes as the version command lists them.
func fixesText(fixes []Fix) string {
	if len(fixes) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Security fixes carried on top of Dex %s:\n", DexRelease)
	for _, f := range fixes {
		fmt.Fprintf(&b, "  %s\n", f)
	}
	return b.String()
}
