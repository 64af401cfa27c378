package serve

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// dexRoutes are the paths at which Dex v2.45.1 serves its endpoints for one
// issuer, computed the way Dex's router registers them: path.Join of the
// issuer URL's (decoded) path and the endpoint. Every wrapper in front of
// Dex matches requests with these, so that an issuer whose path is not
// clean ("/dex/", "/dex//", "/a/../dex", "/a%2Fdex") is guarded at exactly
// the paths Dex answers.
//
// Dex's router matches the raw request path; a wrapper matches the decoded
// one (r.URL.Path). A request Dex routes to an endpoint has a raw path equal
// to the endpoint's, and so the same decoded path: the wrappers see every
// request Dex answers, and a few that Dex answers 404 (such as /dex/tok%65n).
type dexRoutes struct {
	base   string // the issuer URL's path
	origin string // the issuer's scheme://host, where browsers reach Dex
	secure bool   // the issuer is https: browsers reach Dex over TLS

	// The fixed parts of the endpoints with variables, computed once.
	callback      string // "/callback"
	callbackBelow string // "/callback/", before "{connector}"
	authBelow     string // "/auth/", before "{connector}/login"
}

// newDexRoutes returns the routes of Dex for issuer.
func newDexRoutes(issuer string) (dexRoutes, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return dexRoutes{}, fmt.Errorf("invalid config: issuer: %w", err)
	}
	r := dexRoutes{base: u.Path, secure: u.Scheme == "https"}
	if u.Scheme != "" && u.Host != "" {
		r.origin = u.Scheme + "://" + u.Host
	}
	r.callback = r.path("/callback")
	r.callbackBelow = r.callback + "/"
	r.authBelow = r.path("/auth") + "/"
	return r, nil
}

// path returns the path of endpoint p ("/token"), as Dex registers it.
func (d dexRoutes) path(p string) string {
	return path.Join(d.base, p)
}

// isPasswordLogin reports whether p is Dex's "/auth/{connector}/login".
// Dex's router takes one raw segment for {connector}; the decoded path may
// show it as several ("a%2Fb" is "a/b"), so any non-empty connector is
// taken.
func (d dexRoutes) isPasswordLogin(p string) bool {
	rest, ok := strings.CutPrefix(p, d.authBelow)
	if !ok {
		return false
	}
	connector, ok := strings.CutSuffix(rest, "/login")
	return ok && connector != ""
}

// isCallback reports whether p is one of the connector callback endpoints,
// "/callback" or "/callback/{connector}" (with the same allowance for
// encoded slashes as isPasswordLogin).
func (d dexRoutes) isCallback(p string) bool {
	if p == d.callback {
		return true
	}
	connector, ok := strings.CutPrefix(p, d.callbackBelow)
	return ok && connector != ""
}
