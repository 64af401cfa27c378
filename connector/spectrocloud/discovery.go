package spectrocloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/oauth2"
)

// endpoints are the Palette endpoints a connector uses.
type endpoints struct {
	Issuer   string
	AuthURL  string
	TokenURL string
	JWKSURL  string
	// FromDiscovery is true when the discovery document was read.
	FromDiscovery bool
	// Algorithms are the ID-token signature algorithms accepted.
	Algorithms []string
}

// asymmetricAlgs are the signature algorithms an ID token may use. RS256 is
// always accepted; the others only when discovery lists them. "none" and
// the HMAC algorithms never are.
var asymmetricAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// errIssuerMismatch marks a discovery document for another issuer: a
// configuration error, never bypassed by falling back to configured endpoints.
var errIssuerMismatch = errors.New("issuer mismatch")

// discoveryDoc is what the connector reads of a discovery document; other
// members, of any shape, are ignored.
type discoveryDoc struct {
	Issuer     string    `json:"issuer"`
	AuthURL    string    `json:"authorization_endpoint"`
	TokenURL   string    `json:"token_endpoint"`
	JWKSURL    string    `json:"jwks_uri"`
	Algorithms looseList `json:"id_token_signing_alg_values_supported"`
	// TokenAuthMethods is token_endpoint_auth_methods_supported; see clientAuth.
	TokenAuthMethods looseList `json:"token_endpoint_auth_methods_supported"`
}

// looseList is a list member of a discovery document, in any shape: a
// JSON array (its strings are kept), or a string of names separated by
// spaces or commas, as Palette's published API schema types such members.
// Any other shape reads as an empty list.
type looseList []string

// UnmarshalJSON decodes a list of any shape; it never fails.
func (l *looseList) UnmarshalJSON(data []byte) error {
	*l = nil
	var items []any
	if err := json.Unmarshal(data, &items); err == nil {
		for _, item := range items {
			if s, ok := item.(string); ok {
				*l = append(*l, s)
			}
		}
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*l = strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	}
	return nil
}

func discoveryURL(issuer string) string {
	return issuer + "/.well-known/openid-configuration"
}

// discover fetches and checks the issuer's discovery document.
func discover(ctx context.Context, client *http.Client, issuer string) (*discoveryDoc, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, discoveryURL(issuer), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := readBody(resp)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var doc discoveryDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("not a discovery document: %w", err)
	}
	if doc.Issuer != issuer {
		return nil, fmt.Errorf("%w: the document names issuer %q, not %q", errIssuerMismatch, doc.Issuer, issuer)
	}
	return &doc, nil
}

// buildEndpoints combines the overrides, the discovery document (nil when
// unavailable) and Palette's fixed layout.
func buildEndpoints(issuer string, o ProviderDiscoveryOverrides, doc *discoveryDoc) (*endpoints, error) {
	e := &endpoints{Issuer: issuer, Algorithms: []string{"RS256"}}
	if doc != nil {
		e.FromDiscovery = true
		e.AuthURL, e.TokenURL, e.JWKSURL = doc.AuthURL, doc.TokenURL, doc.JWKSURL
		for _, alg := range doc.Algorithms {
			if contains(asymmetricAlgs, alg) && !contains(e.Algorithms, alg) {
				e.Algorithms = append(e.Algorithms, alg)
			}
		}
	}
	if o.AuthURL != "" {
		e.AuthURL = o.AuthURL
	}
	if o.TokenURL != "" {
		e.TokenURL = o.TokenURL
	}
	if o.JWKSURL != "" {
		e.JWKSURL = o.JWKSURL
	}
	if e.AuthURL == "" {
		e.AuthURL = issuer + "/auth"
	}
	if e.TokenURL == "" {
		var ok bool
		if e.TokenURL, ok = deriveTokenURL(e.AuthURL); !ok {
			return nil, fmt.Errorf("cannot derive the token URL from authorization URL %q (its last path segment is not \"auth\"): set providerDiscoveryOverrides.tokenURL", e.AuthURL)
		}
	}
	if e.JWKSURL == "" {
		return nil, errors.New("no JWKS URL: the discovery document has no jwks_uri and providerDiscoveryOverrides.jwksURL is not set")
	}
	for _, u := range []string{e.AuthURL, e.TokenURL, e.JWKSURL} {
		if err := checkURL("endpoint", u); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// deriveTokenURL turns an authorization URL into the token URL the way
// Palette lays them out: the last path segment "auth" becomes "token". It
// reports false when the last segment is not "auth".
func deriveTokenURL(authURL string) (string, bool) {
	base, query, hasQuery := strings.Cut(authURL, "?")
	if !strings.HasSuffix(base, "/auth") {
		return "", false
	}
	base = strings.TrimSuffix(base, "auth") + "token"
	if hasQuery {
		return base + "?" + query, true
	}
	return base, true
}

// provider holds the resolved endpoints and the key set, once known.
type provider struct {
	endpoints *endpoints
	doc       *discoveryDoc // the discovery document they came from; nil without one
	keys      *keySet
	verifier  *verifier
	oauth2    *oauth2.Config
}

// providerCache resolves endpoints once. A failed resolution (discovery
// failing without a configured JWKS URL) is retried at a later use instead of
// failing start-up: concurrent callers share one attempt, which runs outside
// the lock and detached from any caller's context (the HTTP client's timeout
// bounds it); after a failure, attempts are spaced by minRefetchInterval and
// callers in between get the last error at once. Every wait ends with the
// caller's context.
type providerCache struct {
	resolve func(ctx context.Context) (*provider, error)
	now     func() time.Time

	mu          sync.Mutex
	current     *provider
	inflight    chan struct{} // closed when the running attempt ends
	lastErr     error
	lastAttempt time.Time
}

func (p *providerCache) get(ctx context.Context) (*provider, error) {
	p.mu.Lock()
	if p.current != nil {
		defer p.mu.Unlock()
		return p.current, nil
	}
	var wait <-chan struct{} = p.inflight
	if wait == nil {
		if !p.lastAttempt.IsZero() {
			if since := p.now().Sub(p.lastAttempt); since < minRefetchInterval {
				defer p.mu.Unlock()
				return nil, fmt.Errorf("%w (the next attempt is due in %s)", p.lastErr, (minRefetchInterval - since).Round(time.Second))
			}
		}
		wait = p.startLocked()
	}
	if prepared(ctx) {
		// Inside Dex's storage transaction: the attempt runs beside.
		defer p.mu.Unlock()
		if p.lastErr != nil {
			return nil, p.lastErr
		}
		return nil, &UpstreamError{Endpoint: "discovery", Err: errors.New("Palette's endpoints are being resolved: retry")}
	}
	p.mu.Unlock()
	select {
	case <-wait:
	case <-ctx.Done():
		return nil, &UpstreamError{Endpoint: "discovery", Err: fmt.Errorf("gave up waiting: %w", ctx.Err())}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current != nil {
		return p.current, nil
	}
	return nil, p.lastErr
}

// startLocked starts a resolution and returns a channel closed when it ends.
func (p *providerCache) startLocked() <-chan struct{} {
	done := make(chan struct{})
	p.inflight = done
	p.lastAttempt = p.now()
	go func() {
		defer close(done)
		prov, err := p.resolve(context.Background())
		p.mu.Lock()
		defer p.mu.Unlock()
		p.inflight = nil
		p.current, p.lastErr = prov, err
	}()
	return done
}
