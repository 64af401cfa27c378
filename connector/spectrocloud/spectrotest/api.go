package spectrotest

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The user and team API of Palette (Palette APIs 4.8), served by the console
// for every tenant: a request's ApiKey header picks the tenant whose key it
// is.
const (
	// EndpointUsers is GET <console>/v1/users, a page of users.
	EndpointUsers Endpoint = "users"
	// EndpointUser is GET <console>/v1/users/{uid}, one user.
	EndpointUser Endpoint = "user"
	// EndpointUsersSummary is POST <console>/v1/users/summary, the users
	// matching a filter, with their teams.
	EndpointUsersSummary Endpoint = "users/summary"
	// EndpointTeams is GET <console>/v1/teams, a page of teams.
	EndpointTeams Endpoint = "teams"
	// EndpointTeam is GET <console>/v1/teams/{uid}, one team.
	EndpointTeam Endpoint = "team"
)

// APIEndpoints returns the endpoints of the user and team API, for faults
// that take the whole API down.
func APIEndpoints() []Endpoint {
	return []Endpoint{EndpointUsers, EndpointUser, EndpointUsersSummary, EndpointTeams, EndpointTeam}
}

// Palette's documented rate limit of /v1/users and /v1/teams: ten requests
// per second per source address and resource, with a burst of five.
const (
	DefaultAPIRate  = 10
	DefaultAPIBurst = 5
)

// apiLimits is the console's rate limit of the user and team API: a token
// bucket per source address and resource (users, teams), as Palette counts
// requests to a resource and its sub-resources together.
type apiLimits struct {
	mu          sync.Mutex
	rate        float64 // tokens per second; 0 turns the limit off
	burst       float64
	noRetry     bool // answer 429 without Retry-After
	buckets     map[string]*bucket
	rateLimited int
}

type bucket struct {
	tokens float64
	at     time.Time
}

// take takes a token for one request of source to resource; when there is
// none, it returns how long until there is one.
func (l *apiLimits) take(source, resource string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate <= 0 {
		return 0, true
	}
	key := source + "\x00" + resource
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	l.rateLimited++
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
}

// SetAPIRateLimit sets the rate limit of the user and team API: rate
// requests per second per source address and resource, with a burst of
// burst; past it, requests are answered 429. A rate of 0 turns the limit
// off. The default is Palette's documented limit, DefaultAPIRate with
// DefaultAPIBurst.
func (c *Console) SetAPIRateLimit(rate float64, burst int) {
	c.limits.mu.Lock()
	defer c.limits.mu.Unlock()
	c.limits.rate, c.limits.burst = rate, float64(max(burst, 1))
	clear(c.limits.buckets)
}

// SetAPIRetryAfter sets whether a 429 answer carries Retry-After (true, the
// default) or not (false). Palette's documentation only says to retry
// after a few moments.
func (c *Console) SetAPIRetryAfter(send bool) {
	c.limits.mu.Lock()
	defer c.limits.mu.Unlock()
	c.limits.noRetry = !send
}

// RateLimited returns how many requests to the user and team API were
// answered 429.
func (c *Console) RateLimited() int {
	c.limits.mu.Lock()
	defer c.limits.mu.Unlock()
	return c.limits.rateLimited
}

// serveAPI serves a request for the user and team API, and reports whether
// it was one: the rate limit first, then the ApiKey header, which picks the
// tenant, whose endpoint then answers (counted, with its faults).
func (c *Console) serveAPI(w http.ResponseWriter, r *http.Request) bool {
	rest, ok := strings.CutPrefix(r.URL.Path, c.basePath+"/v1/")
	if !ok {
		return false
	}
	ep, resource, ok := apiRoute(rest)
	if !ok {
		return false
	}
	if wait, ok := c.limits.take(sourceAddress(r), resource, time.Now()); !ok {
		c.limits.mu.Lock()
		noRetry := c.limits.noRetry
		c.limits.mu.Unlock()
		if !noRetry {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		}
		writeAPIError(w, http.StatusTooManyRequests, "TooManyRequests", "too many requests: retry after a few moments")
		return true
	}
	key := r.Header.Get("ApiKey")
	if key == "" {
		writeAPIError(w, http.StatusUnauthorized, "Unauthorized", "the request has no ApiKey or Authorization header")
		return true
	}
	t := c.tenantForKey(key)
	if t == nil {
		writeAPIError(w, http.StatusUnauthorized, "Unauthorized", "the API key is not valid")
		return true
	}
	t.serve(ep, w, r)
	return true
}

// apiRoute maps a path below <console>/v1/ to its endpoint and the resource
// its rate limit counts.
func apiRoute(rest string) (Endpoint, string, bool) {
	switch {
	case rest == "users":
		return EndpointUsers, "users", true
	case rest == "users/summary":
		return EndpointUsersSummary, "users", true
	case rest == "teams":
		return EndpointTeams, "teams", true
	}
	if uid, ok := strings.CutPrefix(rest, "users/"); ok && validPathUID(uid) {
		return EndpointUser, "users", true
	}
	if uid, ok := strings.CutPrefix(rest, "teams/"); ok && validPathUID(uid) {
		return EndpointTeam, "teams", true
	}
	return "", "", false
}

func validPathUID(uid string) bool {
	return uid != "" && !strings.Contains(uid, "/")
}

// pathUID returns the {uid} of a request for EndpointUser or EndpointTeam.
func pathUID(r *http.Request) string {
	i := strings.LastIndex(r.URL.Path, "/")
	return r.URL.Path[i+1:]
}

// sourceAddress is the host part of the request's remote address.
func sourceAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// tenantForKey returns the tenant that issued key, or nil.
func (c *Console) tenantForKey(key string) *Tenant {
	c.mu.RLock()
	tenants := make([]*Tenant, 0, len(c.tenants))
	for _, t := range c.tenants {
		tenants = append(tenants, t)
	}
	c.mu.RUnlock()
	for _, t := range tenants {
		if _, ok := t.apiKeyPermissions(key); ok {
			return t
		}
	}
	return nil
}

// apiError is Palette's error body, v1Error.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Ref     string `json:"ref,omitempty"`
}

func writeAPIError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, apiError{Code: code, Message: message})
}
