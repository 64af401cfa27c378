package spectrocloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/oauth2"
)

// Endpoints are the Palette endpoints a connector uses.
type Endpoints struct {
	Issuer   string
	AuthURL  string
	TokenURL string
	JWKSURL  string
	// FromDiscovery is true when the discovery document was read.
	FromDiscovery bool
	// Algorithms are the ID-token signature algorithms accepted.
	Algorithms []string
	// KeyIDs are the key IDs published in the JWKS (filled by Inspect).
	KeyIDs []string
}

// asymmetricAlgs are the signature algorithms an ID token may use. RS256 is
// always accepted; the others only when discovery lists them. "none" and
// the HMAC algorithms never are.
var asymmetricAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// errIssuerMismatch marks a discovery document for another issuer: a
// configuration error, never bypassed by falling back to configured endpoints.
var errIssuerMismatch = errors.New("issuer mismatch")

type discoveryDoc struct {
	Issuer     string   `json:"issuer"`
	AuthURL    string   `json:"authorization_endpoint"`
	TokenURL   string   `json:"token_endpoint"`
	JWKSURL    string   `json:"jwks_uri"`
	Algorithms []string `json:"id_token_signing_alg_values_supported"`
	// TokenAuthMethods is token_endpoint_auth_methods_supported; see clientAuth.
	TokenAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
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
func buildEndpoints(issuer string, o ProviderDiscoveryOverrides, doc *discoveryDoc) (*Endpoints, error) {
	e := &Endpoints{Issuer: issuer, Algorithms: []string{"RS256"}}
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
	endpoints *Endpoints
	keys      *keySet
	verifier  *verifier
	oauth2    *oauth2.Config
}

// providerCache resolves endpoints once; a failed discovery without a
// configured JWKS URL is retried at the next use instead of failing start-up.
// The HTTP client's timeout bounds a resolution.
type providerCache struct {
	mu      sync.Mutex
	current *provider
	resolve func(ctx context.Context) (*provider, error)
}

func (p *providerCache) get(ctx context.Context) (*provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current != nil {
		return p.current, nil
	}
	prov, err := p.resolve(ctx)
	if err != nil {
		return nil, err
	}
	p.current = prov
	return prov, nil
}
