package spectrotest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// tenantPathPrefix is the path, below the console's base URL, under which every
// tenant's OIDC provider lives: <console>/v1/oidc/tenant/<uid>.
const tenantPathPrefix = "/v1/oidc/tenant/"

// Console is an emulated Palette console: an http.Handler serving any number of
// tenants, each one an OIDC provider under <baseURL>/v1/oidc/tenant/<uid>/...
//
// A Console can be mounted in any server, also below a path prefix, as long as
// baseURL is the URL at which clients reach it. Requests for unknown tenants or
// paths are answered with 404. A Console is safe for concurrent use.
type Console struct {
	baseURL  string // without trailing slash
	basePath string // path part of baseURL, without trailing slash

	mu      sync.RWMutex
	tenants map[string]*Tenant

	stop     chan struct{} // closed to end pending fault delays
	stopOnce sync.Once

	limits apiLimits // rate limit of the user and team API
}

// NewConsole returns a console without tenants, reachable at baseURL (for
// example "https://console.spectrocloud.com" or "http://127.0.0.1:8080/palette").
// A trailing slash is ignored.
func NewConsole(baseURL string) *Console {
	base := strings.TrimRight(baseURL, "/")
	var basePath string
	if u, err := url.Parse(base); err == nil {
		basePath = strings.TrimRight(u.Path, "/")
	}
	return &Console{
		baseURL:  base,
		basePath: basePath,
		tenants:  make(map[string]*Tenant),
		stop:     make(chan struct{}),
		limits:   apiLimits{rate: DefaultAPIRate, burst: DefaultAPIBurst, buckets: make(map[string]*bucket)},
	}
}

// URL returns the console's base URL, without trailing slash.
func (c *Console) URL() string { return c.baseURL }

// AddTenant adds a tenant with a fresh RSA-2048 signing key under a random key
// ID, and default settings (see Tenant). If a tenant with this UID exists, it is
// returned unchanged.
//
// The UID becomes a path segment, so it must be non-empty and made only of
// letters, digits and "-._~"; AddTenant panics otherwise, as that is a mistake
// in the calling test.
func (c *Console) AddTenant(uid string) *Tenant {
	if !validTenantUID(uid) {
		panic(fmt.Sprintf("spectrotest: invalid tenant UID %q: use letters, digits and -._~ only", uid))
	}
	if t := c.Tenant(uid); t != nil {
		return t
	}
	t := newTenant(c, uid) // key generation is slow: not under the lock
	c.mu.Lock()
	defer c.mu.Unlock()
	if existing, ok := c.tenants[uid]; ok {
		return existing
	}
	c.tenants[uid] = t
	return t
}

// Tenant returns the tenant with this UID, or nil if there is none.
func (c *Console) Tenant(uid string) *Tenant {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tenants[uid]
}

// ServeHTTP routes a request to its tenant's endpoint:
//
//	<base>/v1/oidc/tenant/<uid>/.well-known/openid-configuration   discovery
//	<base>/v1/oidc/tenant/<uid>/keys                               JWKS
//	<base>/v1/oidc/tenant/<uid>/auth                               authorization
//	<base>/v1/oidc/tenant/<uid>/token                              token
//
// and the user and team API of every tenant (by the ApiKey header):
//
//	<base>/v1/users, /v1/users/{uid}, /v1/users/summary, /v1/teams, /v1/teams/{uid}
//
// Anything else is answered with 404.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.serveAPI(w, r) {
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, c.basePath+tenantPathPrefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	uid, sub, ok := strings.Cut(rest, "/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	t := c.Tenant(uid)
	if t == nil {
		http.NotFound(w, r)
		return
	}
	ep, ok := endpointForPath(sub)
	if !ok {
		http.NotFound(w, r)
		return
	}
	t.serve(ep, w, r)
}

// stopDelays ends every pending and future fault delay, so that a server can
// shut down while clients still wait for a slow answer.
func (c *Console) stopDelays() {
	c.stopOnce.Do(func() { close(c.stop) })
}

func validTenantUID(uid string) bool {
	if uid == "" || uid == "." || uid == ".." {
		return false
	}
	for _, r := range uid {
		if !isUnreserved(r) {
			return false
		}
	}
	return true
}

// isUnreserved reports whether r is an RFC 3986 unreserved character.
func isUnreserved(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return true
	case r == '-', r == '.', r == '_', r == '~':
		return true
	}
	return false
}
