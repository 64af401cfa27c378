package serve

import (
	"net/http"
	"net/url"
)

// backLinks keeps Dex's password login page from linking to another site.
//
// Dex v2.45.1 renders the `back` query parameter of
// /auth/{connector}/login as the "Select another login method" link
// without looking at it, so /auth/local/login?back=https://evil.example
// turns Dex's own page into a link to any site (an open redirect). Dex
// itself only ever puts a rooted path there (its /auth endpoint with the
// original request's query). A `back` that is not a same-origin absolute
// path is removed from the request before Dex sees it; the page then shows
// no back link. Dex main fixes this in dexidp/dex#4927.
func backLinks(next http.Handler, routes dexRoutes) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if routes.isPasswordLogin(r.URL.Path) {
			q := r.URL.Query()
			if back, ok := q["back"]; ok && (len(back) != 1 || !isLocalPath(back[0])) {
				q.Del("back")
				r = r.Clone(r.Context())
				r.URL.RawQuery = q.Encode()
				r.RequestURI = r.URL.RequestURI()
			}
		}
		next.ServeHTTP(w, r)
	})
}

// isLocalPath reports whether s is a path on this origin: it starts with
// one "/", is not protocol-relative ("//host", and "/\host" which browsers
// read the same way), carries no scheme or host, and has no control
// characters (which browsers strip before they resolve a link).
func isLocalPath(s string) bool {
	if s == "" || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}
